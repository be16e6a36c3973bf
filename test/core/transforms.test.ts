import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { assertClose, expectTensor, randn, throwsFovea } from '../util/check.js'

const cube = (x: Tensor) => F.sum(F.mul(F.mul(x, x), x))

test('grad of a scalar function over a pytree of parameters', async () => {
  const params = { w: F.tensor([1, 2]), b: F.tensor(0.5) }
  const loss = (p: typeof params, x: Tensor) => F.sum(F.square(F.add(F.mul(p.w, x), p.b)))
  const g = F.grad(loss)(params, F.tensor([3, -1]))
  // d/dw sum((w x + b)^2) = 2 (w x + b) x ; d/db = 2 sum(w x + b)
  await expectTensor(g.w, [2 * 3.5 * 3, 2 * -1.5 * -1])
  await expectTensor(g.b, [2 * (3.5 - 1.5)])
})

test('argnums selects arguments; hasAux passes auxiliary data through', async () => {
  const f = (x: Tensor, y: Tensor) => F.sum(F.mul(x, y))
  const [gx, gy] = F.grad(f, { argnums: [0, 1] })(F.tensor([1, 2]), F.tensor([3, 4]))
  await expectTensor(gx, [3, 4])
  await expectTensor(gy, [1, 2])
  const gOnlyY = F.grad(f, { argnums: 1 })(F.tensor([1, 2]), F.tensor([3, 4]))
  await expectTensor(gOnlyY, [1, 2])
  const [[value, aux], g] = F.valueAndGrad((x: Tensor) => [F.sum(x), { n: 7 }], { hasAux: true })(F.tensor([1, 2]))
  assert.is(await F.item(value), 3)
  assert.equal(aux, { n: 7 })
  await expectTensor(g, [1, 1])
})

test('second and third derivatives by nesting grad', async () => {
  const d = (f: (x: Tensor) => Tensor) => (x: Tensor) => F.sum(F.grad(f)(x))
  const x = F.tensor([2])
  assert.is(await F.item(F.grad(cube)(x)), 12)
  assert.is(await F.item(F.grad(d(cube))(x)), 12)
  assert.is(await F.item(F.grad(d(d(cube)))(x)), 6)
})

test('Hessian-vector product: forward over reverse equals reverse over reverse', async () => {
  const f = (x: Tensor) => F.sum(F.mul(F.sin(x), F.exp(F.mul(x, 0.5))))
  const x = randn([5], 1)
  const v = randn([5], 2)
  const [, hvpFwd] = F.jvp(F.grad(f), [x], [v])
  const hvpRev = F.grad((y: Tensor) => F.sum(F.mul(F.grad(f)(y), v)))(x)
  assertClose(await F.toArray(hvpFwd), await F.toArray(hvpRev), { rtol: 1e-5, atol: 1e-6 })
  // Analytic Hessian is diagonal: f'' = e^{x/2} (−sin x + cos x + sin x / 4).
  const xs = await F.toArray(x)
  const vs = await F.toArray(v)
  assertClose(await F.toArray(hvpRev), Array.from(xs, (t, i) => Math.exp(t / 2) * (-Math.sin(t) + Math.cos(t) + Math.sin(t) / 4) * vs[i]!), { rtol: 1e-4, atol: 1e-5 })
})

test('vjp function can be called several times; jvp returns output and tangent trees', async () => {
  const [out, vjpFn] = F.vjp((a: Tensor, b: Tensor) => ({ s: F.mul(a, b), d: F.sub(a, b) }), F.tensor([1, 2]), F.tensor([3, 5]))
  await expectTensor(out.s, [3, 10])
  const [ga, gb] = vjpFn({ s: F.tensor([1, 1]), d: F.tensor([0, 0]) })
  await expectTensor(ga, [3, 5])
  await expectTensor(gb, [1, 2])
  const [ga2] = vjpFn({ s: F.tensor([0, 0]), d: F.tensor([1, 1]) })
  await expectTensor(ga2, [1, 1])
  const [y, t] = F.jvp((x: Tensor) => [F.exp(x), F.mul(x, 3)], [F.tensor([0, 1])], [F.tensor([1, 1])])
  await expectTensor(y[0], [1, Math.E], { rtol: 1e-6 })
  await expectTensor(t[0], [1, Math.E], { rtol: 1e-6 })
  await expectTensor(t[1], [3, 3])
})

test('outputs that do not depend on the inputs get zero derivatives', async () => {
  const c = F.tensor([4, 5])
  const g = F.grad((x: Tensor) => F.add(F.sum(c), F.mul(F.sum(x), 0)))(F.tensor([1, 2]))
  await expectTensor(g, [0, 0])
  const [, t] = F.jvp(() => c, [], [])
  await expectTensor(t, [0, 0])
})

test('stopGradient blocks gradients but not values', async () => {
  const f = (x: Tensor) => F.sum(F.mul(x, F.stopGradient(x)))
  const x = F.tensor([1, 2, 3])
  assert.is(await F.item(f(x)), 14)
  await expectTensor(F.grad(f)(x), [1, 2, 3])
})

test('customVjp uses the user backward rule under grad and f under jvp', async () => {
  // A "straight-through" clip: forward clips, backward passes the gradient unchanged.
  const clipST = F.customVjp(
    (x: Tensor) => F.clip(x, -1, 1),
    (x: Tensor) => [F.clip(x, -1, 1), null],
    (_res, ct: Tensor) => [ct],
  )
  const x = F.tensor([-3, 0.5, 2])
  await expectTensor(clipST(x), [-1, 0.5, 1])
  await expectTensor(F.grad((y: Tensor) => F.sum(F.mul(clipST(y), 2)))(x), [2, 2, 2])
  const [, t] = F.jvp(clipST, [x], [F.tensor([1, 1, 1])])
  await expectTensor(t, [0, 1, 0])
  // Residuals carry forward values into the backward rule: d/dx exp(x) via the saved output.
  const myExp = F.customVjp((a: Tensor) => F.exp(a), (a: Tensor) => { const y = F.exp(a); return [y, y] }, (y, ct: Tensor) => [F.mul(ct, y as Tensor)])
  await expectTensor(F.grad((a: Tensor) => F.sum(myExp(a)))(F.tensor([0, 1])), [1, Math.E], { rtol: 1e-6 })
  // And it composes with higher order: the backward rule is written with ops.
  await expectTensor(F.grad((a: Tensor) => F.sum(F.grad((b: Tensor) => F.sum(myExp(b)))(a)))(F.tensor([0, 1])), [1, Math.E], { rtol: 1e-6 })
})

test('vmap over elementwise ops and sums, with unmapped arguments and out axes', async () => {
  const x = F.tensor([[1, 2, 3], [4, 5, 6]])
  const w = F.tensor([10, 20, 30])
  const f = (row: Tensor, v: Tensor) => F.sum(F.mul(row, v))
  await expectTensor(F.vmap(f, [0, null])(x, w), [140, 320], {}, [2])
  await expectTensor(F.vmap(f, [1, null])(x, F.tensor(2)), [10, 14, 18], {}, [3])
  const outer = F.vmap((r: Tensor) => F.mul(r, F.tensor([1, -1])), 0, 1)(F.tensor([1, 2, 3]))
  await expectTensor(outer, [1, 2, 3, -1, -2, -3], {}, [2, 3])
  const nested = F.vmap(F.vmap((a: Tensor, b: Tensor) => F.add(a, b), [0, null]), [null, 0])(F.tensor([1, 2]), F.tensor([10, 20, 30]))
  await expectTensor(nested, [11, 12, 21, 22, 31, 32], {}, [3, 2])
})

test('grad of vmap and vmap of grad agree (per-example gradients)', async () => {
  const xs = randn([4, 3], 5)
  const w = randn([3], 6)
  const loss = (wv: Tensor, x: Tensor) => F.sum(F.tanh(F.mul(wv, x)))
  const perExample = F.vmap(F.grad(loss), [null, 0])(w, xs)
  assert.equal([...perExample.shape], [4, 3])
  const total = F.grad((wv: Tensor) => F.sum(F.vmap(loss, [null, 0])(wv, xs)))(w)
  assertClose(await F.toArray(F.sum(perExample, 0)), await F.toArray(total), { rtol: 1e-5, atol: 1e-6 })
})

test('vmap falls back to a per-element loop for primitives without a batching rule', async () => {
  // A test-only primitive with no vmap rule: reverses a vector.
  const reverseRule: Rule<Record<string, never>> = {
    name: 'testReverse',
    abstractEval: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
    cpu: ([x]) => [x!.data.slice().reverse()],
    jvp: (_, [t]) => [t === null ? null : bind1(reverseRule, [t], {})],
    vjp: ([ct]) => [ct === null ? null : bind1(reverseRule, [ct], {})],
    webgpu: () => { throw new Error('testReverse is a cpu-only test primitive') },
  }
  const reverse = (x: Tensor) => bind1(reverseRule, [x], {})
  await expectTensor(F.vmap(reverse)(F.tensor([[1, 2, 3], [4, 5, 6]])), [3, 2, 1, 6, 5, 4], {}, [2, 3])
  await expectTensor(F.vmap(reverse, 1)(F.tensor([[1, 2], [3, 4], [5, 6]])), [5, 3, 1, 6, 4, 2], {}, [2, 3])
  assert.equal([...F.vmap(reverse)(F.zeros([0, 3])).shape], [0, 3])
})

test('transformations reject bad input with clear messages', async () => {
  throwsFovea(() => F.grad((x: Tensor) => F.mul(x, 2))(F.tensor([1, 2])), 'grad', 'float32 scalar', 'f32[2]')
  throwsFovea(() => F.grad((x: unknown) => F.tensor(0))({ a: [1, 2] }), 'grad', 'non-tensor leaf')
  throwsFovea(() => F.grad((x: Tensor) => F.sum(F.cast(x, 'float32')))(F.tensor([1], { dtype: 'int32' })), 'grad', 'i32[1]')
  throwsFovea(() => F.grad((x: Tensor) => F.sum(x), { argnums: 2 })(F.tensor([1])), 'grad', 'argnums 2')
  throwsFovea(() => F.vmap((a: Tensor) => a)(F.zeros([2]), F.zeros([3])), 'vmap', 'different sizes')
  throwsFovea(() => F.jvp((x: Tensor) => x, [F.zeros([2])], [F.zeros([3])]), 'jvp', 'f32[3]', 'f32[2]')
  let leaked: Tensor | undefined
  F.grad((x: Tensor) => { leaked = F.mul(x, 2); return F.sum(x) })(F.tensor([1]))
  throwsFovea(() => F.add(leaked!, 1), 'add', 'escaped')
  throwsFovea(() => F.vmap((x: Tensor) => { void F.toArray(x); return x })(F.zeros([2, 2])), 'toArray', 'vmap')
})

test('values are readable while differentiating eagerly', async () => {
  let seen: number | undefined
  await F.grad((x: Tensor) => { void F.item(F.sum(x)).then((v) => (seen = v)); return F.sum(x) })(F.tensor([1, 2]))
  await new Promise((r) => setTimeout(r, 0))
  assert.is(seen, 3)
})

test.run()
