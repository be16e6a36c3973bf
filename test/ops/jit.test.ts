import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, randn, throwsFovea } from '../util/check.js'

const x23 = () => F.tensor([[1, -2, 3], [4, 5, -6]])

test('golden IR: relu(x*2+1) traces to one fused equation', () => {
  const f = F.jit((x: Tensor) => F.relu(F.add(F.mul(x, 2), 1)))
  assert.is(f.lower(x23()).text, [
    'in a:f32[2,3]',
    'const b:f32[] = 2',
    'const c:f32[] = 1',
    'd:f32[2,3] = fused[chain=t0=mul(x0,x1) t1=add(t0,x2) t2=relu(t1) -> t2 domain=[2,3]] a b c',
    'out d',
  ].join('\n'))
})

test('golden IR: softmax is a max, a fused sum(exp(x - max)) and one fused division', () => {
  const f = F.jit((x: Tensor) => F.softmax(x, -1))
  assert.is(f.lower(x23()).text, [
    'in a:f32[2,3]',
    'b:f32[2] = reduceMax[axes=[1]] a',
    'c:f32[2,1] = reshape[shape=[2,1]] b',
    'd:f32[2] = fusedReduce[axes=[1] chain=t0=sub(x0,x1) t1=exp(t0) -> t1 domain=[2,3] reduce=reduceSum] a c',
    'e:f32[2,1] = reshape[shape=[2,1]] d',
    'f:f32[2,3] = fused[chain=t0=sub(x0,x1) t1=exp(t0) t2=div(t1,x2) -> t2 domain=[2,3]] a c e',
    'out f',
  ].join('\n'))
})

test('golden IR: CSE merges repeated work and DCE drops unused work', () => {
  const f = F.jit((x: Tensor) => {
    F.exp(x) // unused
    return F.add(F.matmul(x, F.transpose(x)), F.matmul(x, F.transpose(x)))
  })
  // The transpose folds into the matmul's flag (foldTransposes), and DCE drops it.
  assert.is(f.lower(x23()).text, [
    'in a:f32[2,3]',
    'b:f32[2,2] = matmul[transposeB=true] a a',
    'c:f32[2,2] = add b b',
    'out c',
  ].join('\n'))
})

test('golden IR: foldTransposes reads transposed operands in place and turns a transposed product around', async () => {
  // A linear layer x·Wᵀ and the transpose of a product (the form of a linear layer's weight gradient).
  const f = F.jit((x: Tensor, w: Tensor) => [F.matmul(x, F.transpose(w)), F.transpose(F.matmul(F.transpose(x), x))])
  const x = randn([5, 3], 4)
  const w = randn([4, 3], 5)
  assert.is(f.lower(x, w).text, [
    'in a:f32[5,3] b:f32[4,3]',
    'c:f32[5,4] = matmul[transposeB=true] a b',
    'd:f32[3,3] = matmul[transposeA=true] a a',
    'out c d',
  ].join('\n'))
  const [y, g] = f(x, w)
  assertClose(await F.toArray(y!), await F.toArray(F.matmul(x, F.transpose(w))), { rtol: 0, atol: 0 })
  assertClose(await F.toArray(g!), await F.toArray(F.transpose(F.matmul(F.transpose(x), x))), { rtol: 0, atol: 0 })
  // A transpose read by something else as well is kept; a batched one that moves a batch axis is not folded.
  const keep = F.jit((v: Tensor) => { const t = F.transpose(v); return [F.matmul(v, t), F.exp(t)] })
  assert.ok(keep.lower(x).text.includes('transpose[perm=[1,0]] a'))
  const batch = F.jit((v: Tensor) => F.matmul(F.transpose(v, [1, 0, 2]), v))
  assert.ok(batch.lower(randn([2, 2, 2], 6)).text.includes('transpose[perm=[1,0,2]]'))
})

test('jit results equal eager results, for pytrees in and out', async () => {
  const f = (p: { w: Tensor; b: Tensor }, x: Tensor) => ({ y: F.tanh(F.add(F.matmul(x, p.w), p.b)), s: F.sum(F.mul(x, x)) })
  const p = { w: randn([3, 4], 1), b: randn([4], 2) }
  const x = randn([5, 3], 3)
  const eager = f(p, x)
  const jitted = F.jit(f)(p, x)
  assertClose(await F.toArray(jitted.y), await F.toArray(eager.y), { rtol: 0, atol: 0 })
  assertClose(await F.toArray(jitted.s), await F.toArray(eager.s), { rtol: 0, atol: 0 })
})

test('the cache retraces only when the signature changes', () => {
  const f = F.jit((x: Tensor, n: number) => F.mul(x, n), { staticArgnums: [1] })
  f(F.zeros([2]), 3)
  f(F.ones([2]), 3)
  assert.is(f.traceCount(), 1, 'same shapes and static value: cached')
  f(F.ones([3]), 3)
  assert.is(f.traceCount(), 2, 'new shape: retrace')
  f(F.ones([3]), 4)
  assert.is(f.traceCount(), 3, 'new static value: retrace')
  f(F.ones([3], 'int32'), 4)
  assert.is(f.traceCount(), 4, 'new dtype: retrace')
  f(F.ones([3]), 4)
  assert.is(f.traceCount(), 4)
})

test('static arguments may steer Python-style control flow', async () => {
  const f = F.jit((x: Tensor, mode: string) => (mode === 'double' ? F.mul(x, 2) : F.neg(x)), { staticArgnums: [1] })
  assert.equal(Array.from(await F.toArray(f(F.tensor([1, 2]), 'double'))), [2, 4])
  assert.equal(Array.from(await F.toArray(f(F.tensor([1, 2]), 'neg'))), [-1, -2])
})

test('composition: grad(jit(f)), jit(grad(f)), jit inside jit, vmap(jit(f))', async () => {
  const f = (w: Tensor) => F.sum(F.tanh(F.mul(w, w)))
  const w = randn([4, 3], 4)
  const reference = await F.toArray(F.grad(f)(w))
  assertClose(await F.toArray(F.grad(F.jit(f))(w)), reference, { rtol: 1e-6, atol: 1e-7 })
  const jg = F.jit(F.grad(f))
  assertClose(await F.toArray(jg(w)), reference, { rtol: 1e-6, atol: 1e-7 })
  const inner = F.jit((a: Tensor) => F.mul(a, 3))
  const outer = F.jit((a: Tensor) => F.add(inner(a), 1))
  assert.equal(Array.from(await F.toArray(outer(F.tensor([1, 2])))), [4, 7])
  const rows = F.vmap(F.jit((r: Tensor) => F.sum(F.mul(r, r))))(F.tensor([[1, 2], [3, 4]]))
  assert.equal(Array.from(await F.toArray(rows)), [5, 25])
  // A jitted function closing over a value traced by an outer grad still differentiates correctly.
  const g = F.grad((s: Tensor) => F.sum(F.jit((x: Tensor) => F.mul(x, s))(F.tensor([1, 2]))))(F.tensor(3))
  assert.is(await F.item(g), 3)
})

test('kernel counts on the CPU: one call of relu(x*2+1) runs one kernel', () => {
  assert.is(F.jit((x: Tensor) => F.relu(F.add(F.mul(x, 2), 1))).lower(x23()).kernels, 1)
})

test('bad input: reading a traced value, non-tensor outputs and non-tensor arguments', () => {
  throwsFovea(() => F.jit((x: Tensor) => { void F.toArray(x); return x })(F.zeros([2])), 'toArray', 'inside jit', 'staticArgnums')
  throwsFovea(() => F.jit(() => 3 as unknown as Tensor)(), 'jit', 'returned number')
  throwsFovea(() => F.jit((x: Tensor, n: number) => F.mul(x, n))(F.zeros([2]), 3), 'jit', 'not a tensor', 'staticArgnums')
  throwsFovea(() => F.jit((x: Tensor) => x, { staticArgnums: [0] })(F.zeros([2])), 'jit', 'static argument 0 contains a tensor')
})

test.run()
