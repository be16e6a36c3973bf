import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { indexAxis } from '../../ops/shape/index-axis.js'
import { columnView } from '../../ops/reduce/wgsl.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

// NumPy/JAX reference values on a f32[2,3,4] input; see test/fixtures/reduce_numpy.py.
const ref = JSON.parse(readFileSync(new URL('../fixtures/reduce_numpy.json', import.meta.url), 'utf8'))
const x234 = F.tensor(Float32Array.from(ref.x as number[]), { shape: ref.shape })
const i234 = F.tensor(Int32Array.from(ref.ints as number[]), { shape: ref.shape })
const axisForms: Record<string, number | number[] | undefined> = { none: undefined, '0': 0, '-1': -1, '[0,2]': [0, 2], '[-2]': [-2] }
const m23 = F.tensor([[1, 5, 3], [4, 2, 6]])
const int = (data: number[], shape?: number[]) => F.tensor(data, { dtype: 'int32', shape })
const bools = (data: boolean[][]) => F.tensor(data)

type Reducer = (x: Tensor, axis?: number | readonly number[], keepdims?: boolean) => Tensor
const floatReducers: [string, Reducer][] = [
  ['sum', F.sum], ['mean', F.mean], ['max', F.max], ['min', F.min], ['prod', F.prod],
  ['variance', F.variance], ['logsumexp', F.logsumexp],
]

for (const [name, f] of floatReducers) {
  test(`${name} matches NumPy for every axis form, with and without keepdims`, async () => {
    for (const [form, axis] of Object.entries(axisForms)) {
      const r = ref.reductions[form]
      await expectTensor(f(x234, axis), r[name], { rtol: 2e-6, atol: 2e-6 }, r.shape)
      await expectTensor(f(x234, axis, true), r[name], { rtol: 2e-6, atol: 2e-6 }, r.keepdims_shape)
    }
  })
}

test('variance takes ddof (NumPy default 0; ddof 1 is the sample variance)', async () => {
  for (const [form, axis] of Object.entries(axisForms)) {
    await expectTensor(F.variance(x234, axis, false, 1), ref.reductions[form].variance_ddof1, { rtol: 2e-6, atol: 2e-6 })
  }
  await expectTensor(F.variance(F.tensor([1, 2, 3, 4])), [1.25])
  // n - ddof <= 0: 0/0 = NaN or x/0 = Inf, as NumPy.
  await expectTensor(F.variance(F.tensor([3, 3]), undefined, false, 2), [NaN])
  await expectTensor(F.variance(F.tensor([1, 2]), undefined, false, 3), [Infinity])
})

test('int32 sum, max, min and prod stay int32 and match NumPy', async () => {
  for (const [form, axis] of Object.entries(axisForms)) {
    const r = ref.reductions[form]
    for (const [f, key] of [[F.sum, 'int_sum'], [F.max, 'int_max'], [F.prod, 'int_prod']] as const) {
      const y = f(i234, axis)
      assert.is(y.dtype, 'int32')
      await expectTensor(y, r[key], {}, r.shape)
    }
  }
  await expectTensor(F.min(int([3, -7, 2]), 0), [-7])
  // int32 arithmetic wraps: 2^16 * 2^16 = 2^32 ≡ 0.
  await expectTensor(F.prod(int([65536, 65536])), [0])
})

test('hand-checked values on a 2x3 matrix', async () => {
  await expectTensor(F.max(m23), [6], {}, [])
  await expectTensor(F.max(m23, 1), [5, 6], {}, [2])
  await expectTensor(F.max(m23, 0, true), [4, 5, 6], {}, [1, 3])
  await expectTensor(F.min(m23, -1), [1, 2])
  await expectTensor(F.prod(m23, 1), [15, 48])
  await expectTensor(F.mean(m23, [0, 1]), [3.5])
  await expectTensor(F.sum(m23, [-1, 0], true), [21], {}, [1, 1])
  // An empty axis list is the identity, as in NumPy.
  await expectTensor(F.max(m23, []), [1, 5, 3, 4, 2, 6], {}, [2, 3])
})

test('mean of int32 and bool is float32', async () => {
  const y = F.mean(int([1, 2]))
  assert.is(y.dtype, 'float32')
  await expectTensor(y, [1.5])
  await expectTensor(F.mean(F.tensor([true, false, false, false])), [0.25])
  assert.is(F.variance(int([1, 3])).dtype, 'float32')
})

test('max/min propagate NaN; logsumexp is stable for large and -inf inputs', async () => {
  await expectTensor(F.max(F.tensor([[1, NaN, 3], [1, 2, 3]]), 1), [NaN, 3])
  await expectTensor(F.min(F.tensor([NaN, -1])), [NaN])
  await expectTensor(F.logsumexp(F.tensor([1000, 1000])), [1000 + Math.log(2)], { rtol: 1e-7 })
  await expectTensor(F.logsumexp(F.tensor([-1000, -1000])), [-1000 + Math.log(2)], { rtol: 1e-7 })
  await expectTensor(F.logsumexp(F.tensor([[-Infinity, -Infinity], [-Infinity, 0]]), 1), [-Infinity, 0])
  await expectTensor(F.logsumexp(F.tensor([Infinity, 0])), [Infinity])
  await expectTensor(F.logsumexp(F.tensor([[1, 2]]), [], true), [1, 2], {}, [1, 2])
})

test('empty reductions: sum 0, prod 1, mean NaN, logsumexp -inf, all true, any false; max/min refuse', async () => {
  const e = F.zeros([2, 0])
  await expectTensor(F.sum(e, 1), [0, 0], {}, [2])
  await expectTensor(F.prod(e, 1), [1, 1], {}, [2])
  await expectTensor(F.prod(F.zeros([0], 'int32')), [1])
  await expectTensor(F.mean(e, 1), [NaN, NaN])
  await expectTensor(F.logsumexp(e, 1), [-Infinity, -Infinity])
  const eb = F.zeros([0, 3], 'bool')
  await expectTensor(F.all(eb, 0), [1, 1, 1])
  await expectTensor(F.any(eb, 0), [0, 0, 0])
  // Reducing a non-empty axis of an empty tensor is fine: the result is empty.
  await expectTensor(F.max(e, 0), [], {}, [0])
  throwsFovea(() => F.max(e, 1), 'max', 'empty axis 1', 'f32[2,0]', 'no identity')
  throwsFovea(() => F.min(e), 'min', 'f32[2,0]')
  throwsFovea(() => F.argmax(e, 1), 'argmax', 'f32[2,0]')
  throwsFovea(() => F.argmin(F.zeros([0])), 'argmin', 'f32[0]')
})

test('argmax/argmin: int32 output, first occurrence on ties, NaN counts as the extremum', async () => {
  for (const [form, axis] of [['none', undefined], ['1', 1], ['-1', -1]] as const) {
    const am = F.argmax(x234, axis)
    assert.is(am.dtype, 'int32')
    await expectTensor(am, ref.argmax[form])
    await expectTensor(F.argmin(x234, axis), ref.argmin[form])
  }
  await expectTensor(F.argmax(F.tensor([[1, 3, 3], [2, 2, 2]]), 1), [1, 0])
  await expectTensor(F.argmin(F.tensor([[1, 0, 0], [2, 2, 2]]), 1), [1, 0])
  await expectTensor(F.argmax(F.tensor([1, NaN, NaN, 5])), [1])
  await expectTensor(F.argmin(F.tensor([1, NaN, 0])), [1])
  await expectTensor(F.argmax(F.tensor([NaN, 5])), [0])
  await expectTensor(F.argmax(int([3, 9, 9, -1])), [1])
  await expectTensor(F.argmax(F.tensor([false, true, true])), [1])
  await expectTensor(F.argmax(m23, 0, true), [1, 0, 1], {}, [1, 3])
  await expectTensor(F.argmax(m23, undefined, true), [5], {}, [1, 1])
  await expectTensor(F.argmax(F.tensor(7)), [0], {}, [])
})

test('all and any over bool tensors', async () => {
  const b = bools([[true, false, true], [true, true, true]])
  await expectTensor(F.all(b, 1), [0, 1])
  await expectTensor(F.any(b, 0), [1, 1, 1])
  await expectTensor(F.all(b), [0], {}, [])
  await expectTensor(F.any(F.logicalNot(b)), [1])
  await expectTensor(F.any(F.logicalNot(b), -1, true), [1, 0], {}, [2, 1])
  assert.is(F.all(b, 0).dtype, 'bool')
})

test('cumsum: axes, reverse, flattened, int32', async () => {
  await expectTensor(F.cumsum(m23, 1), [1, 6, 9, 4, 6, 12], {}, [2, 3])
  await expectTensor(F.cumsum(m23, 0), [1, 5, 3, 5, 7, 9])
  await expectTensor(F.cumsum(m23, -1, { reverse: true }), [9, 8, 3, 12, 8, 6])
  await expectTensor(F.cumsum(x234, 1), ref.cumsum['1'], { rtol: 1e-6, atol: 1e-6 })
  await expectTensor(F.cumsum(x234, -1), ref.cumsum['-1'], { rtol: 1e-6, atol: 1e-6 })
  await expectTensor(F.cumsum(x234, 0, { reverse: true }), ref.cumsum['0_reverse'], { rtol: 1e-6, atol: 1e-6 })
  await expectTensor(F.cumsum(x234), ref.cumsum.none, { rtol: 1e-6, atol: 1e-6 }, [24])
  const ci = F.cumsum(i234, 2)
  assert.is(ci.dtype, 'int32')
  await expectTensor(ci, ref.cumsum.int_2)
  await expectTensor(F.cumsum(F.zeros([2, 0]), 1), [], {}, [2, 0])
})

// ---------------------------------------------------------------- gradients

const gradCases: [string, (x: Tensor) => Tensor][] = [
  ['sum', (x) => F.sum(x, [0, 2])],
  ['mean', (x) => F.mean(x, -1, true)],
  ['max', (x) => F.max(x, 1)],
  ['min', (x) => F.min(x, [0, 2])],
  ['max (all axes)', (x) => F.max(x)],
  ['prod', (x) => F.prod(x, -1)],
  ['prod (non-contiguous axes)', (x) => F.prod(x, [0, 2])],
  ['logsumexp', (x) => F.logsumexp(x, 1)],
  ['variance', (x) => F.variance(x, [1, 2])],
  ['variance ddof 1', (x) => F.variance(x, 0, true, 1)],
  ['cumsum', (x) => F.cumsum(x, 1)],
  ['cumsum reverse', (x) => F.cumsum(x, -1, { reverse: true })],
]
for (const [name, f] of gradCases) {
  test(`gradient of ${name} matches finite differences (first and second order)`, async () => {
    await checkGrads(f, [randn([2, 3, 4], 11)], { secondOrder: true })
  })
}

const gradOf = (f: (x: Tensor) => Tensor) => (x: Tensor): Tensor => F.grad((t: Tensor) => F.sum(f(t)))(x)

test('max/min split the gradient evenly among tied extrema (JAX semantics)', async () => {
  await expectTensor(gradOf((t) => F.max(t))(F.tensor([2, 5, 3, 5])), [0, 0.5, 0, 0.5])
  await expectTensor(gradOf((t) => F.max(t, 1))(F.tensor([[1, 1, 1], [0, 4, 2]])), [1 / 3, 1 / 3, 1 / 3, 0, 1, 0], { rtol: 1e-6 })
  await expectTensor(gradOf((t) => F.min(t, 0))(F.tensor([[1, 2], [1, 0]])), [0.5, 0, 0.5, 1])
  const [, tangent] = F.jvp((t: Tensor) => F.max(t), [F.tensor([4, 1, 4])], [F.tensor([1, 10, 3])])
  await expectTensor(tangent, [2])
})

test('prod gradient is exact with zeros (first and second order)', async () => {
  await expectTensor(gradOf((t) => F.prod(t))(F.tensor([2, 3, 4, 5])), [60, 40, 30, 24])
  // One zero: only the zero's position has a gradient (the product of the others).
  await expectTensor(gradOf((t) => F.prod(t))(F.tensor([2, 0, 3, 4, 5])), [0, 120, 0, 0, 0])
  // Two or more zeros: no gradient at all.
  await expectTensor(gradOf((t) => F.prod(t))(F.tensor([2, 0, 3, 0, 5])), [0, 0, 0, 0, 0])
  // Per row, with a zero in one row only.
  await expectTensor(gradOf((t) => F.prod(t, 1))(F.tensor([[0, 2, 3], [1, 2, 3]])), [6, 0, 0, 6, 3, 2])
  // Hessian of prod([2, 0, 3]): H[i][j] = product of the factors other than i and j, zero diagonal.
  const x = F.tensor([2, 0, 3])
  const hessianRow = (j: number) => F.grad((t: Tensor) => F.sum(F.mul(F.grad((u: Tensor) => F.prod(u))(t), F.oneHot(F.tensor([j], { dtype: 'int32' }), 3))))(x)
  await expectTensor(hessianRow(0), [0, 3, 0])
  await expectTensor(hessianRow(1), [3, 0, 2])
  await expectTensor(hessianRow(2), [0, 2, 0])
  await checkGrads((t) => F.prod(t, 0), [F.tensor([[1.5, 0], [0, -2], [0.5, 0.7]])], { secondOrder: true })
})

test('cumsum vjp is a reversed cumsum', async () => {
  await expectTensor(gradOf((t) => F.cumsum(t))(F.tensor([1, 2, 3, 4])), [4, 3, 2, 1])
  await expectTensor(gradOf((t) => F.cumsum(t, 0, { reverse: true }))(F.tensor([1, 2, 3, 4])), [1, 2, 3, 4])
})

test('logsumexp gradient is softmax', async () => {
  const x = F.tensor([[1, 2, 3], [1000, 1000, 0]])
  const g = gradOf((t) => F.logsumexp(t, 1))(x)
  const e = [1, 2, 3].map((v) => Math.exp(v))
  const s = e[0]! + e[1]! + e[2]!
  await expectTensor(g, [...e.map((v) => v / s), 0.5, 0.5, 0], { rtol: 1e-6, atol: 1e-7 })
})

// ---------------------------------------------------------------- vmap

/** vmap(f) over `axis` of x must equal stacking f on each slice. */
const vmapMatchesLoop = async (f: (x: Tensor) => Tensor, x: Tensor, axis = 0): Promise<void> => {
  const batched = F.vmap(f, axis)(x) as Tensor
  const looped = F.stack(Array.from({ length: x.shape[axis]! }, (_, i) => f(indexAxis(x, i, axis))))
  assert.equal([...batched.shape], [...looped.shape])
  assert.is(batched.dtype, looped.dtype)
  assertClose(await F.toArray(batched), await F.toArray(looped), { rtol: 1e-6, atol: 1e-6 })
}

const vmapCases: [string, (x: Tensor) => Tensor][] = [
  ['sum', (x) => F.sum(x, -1)],
  ['sum all', (x) => F.sum(x)],
  ['max', (x) => F.max(x, 0, true)],
  ['min [0,1]', (x) => F.min(x, [0, 1])],
  ['prod', (x) => F.prod(x, 1)],
  ['argmax', (x) => F.argmax(x, -1)],
  ['argmin flat', (x) => F.argmin(x)],
  ['cumsum', (x) => F.cumsum(x, 0)],
  ['cumsum reverse', (x) => F.cumsum(x, -1, { reverse: true })],
  ['mean', (x) => F.mean(x, 1)],
  ['variance', (x) => F.variance(x, -1)],
  ['logsumexp', (x) => F.logsumexp(x, 0)],
]
for (const [name, f] of vmapCases) {
  test(`vmap of ${name} matches a per-row loop (batch axis 0, 1 and 2)`, async () => {
    const x = randn([3, 4, 5], 5)
    for (const axis of [0, 1, 2]) await vmapMatchesLoop(f, x, axis)
  })
}

test('vmap of all/any over bool and of int32 cumsum', async () => {
  const b = F.greater(randn([3, 4, 2], 8), 0)
  for (const axis of [0, 1, 2]) {
    await vmapMatchesLoop((x) => F.all(x), b, axis)
    await vmapMatchesLoop((x) => F.any(x, 0), b, axis)
  }
  const ints = int([1, 2, 3, 4, 5, 6], [2, 3])
  await expectTensor(F.vmap((x: Tensor) => F.cumsum(x, 0), 1)(ints) as Tensor, [1, 5, 2, 7, 3, 9], {}, [3, 2])
})

test('grad of vmap and vmap of grad agree for max and prod', async () => {
  const x = randn([3, 4], 9)
  for (const f of [(t: Tensor) => F.max(t), (t: Tensor) => F.prod(t)]) {
    const perRow = F.vmap(F.grad(f))(x) as Tensor
    const whole = F.grad((t: Tensor) => F.sum(F.vmap(f)(t) as Tensor))(x)
    assertClose(await F.toArray(perRow), await F.toArray(whole), { rtol: 1e-6 })
  }
})

// ---------------------------------------------------------------- bad input

test('bad axes name the op, the shape and the dtype', () => {
  const x = F.zeros([2, 3])
  for (const [name, f] of [...floatReducers, ['all', F.all], ['any', F.any]] as [string, Reducer][]) {
    const operand = name === 'all' || name === 'any' ? F.zeros([2, 3], 'bool') : x
    const described = name === 'all' || name === 'any' ? 'bool[2,3]' : 'f32[2,3]'
    throwsFovea(() => f(operand, 2), name, 'axis 2', described)
    throwsFovea(() => f(operand, -3), name, 'axis -3', described)
    throwsFovea(() => f(operand, [0, -2]), name, 'duplicate axes [0,-2]', described)
    throwsFovea(() => f(operand, 0.5), name, 'axis 0.5', described)
  }
  throwsFovea(() => F.argmax(x, 2), 'argmax', 'axis 2', 'f32[2,3]')
  throwsFovea(() => F.argmin(x, [0, 1] as never), 'argmin', 'single axis', 'f32[2,3]')
  throwsFovea(() => F.cumsum(x, -3), 'cumsum', 'axis -3', 'f32[2,3]')
  throwsFovea(() => F.cumsum(x, [1] as never), 'cumsum', 'single axis')
})

test('bad dtypes name the op, the shape and the dtype', () => {
  const b = F.zeros([2, 3], 'bool')
  throwsFovea(() => F.all(F.zeros([2, 3])), 'all', 'f32[2,3]', 'bool')
  throwsFovea(() => F.any(int([1, 0]), 0), 'any', 'i32[2]', 'notEqual')
  throwsFovea(() => F.all(F.zeros([2])), 'all', 'f32[2]')
  throwsFovea(() => F.any(F.zeros([2]), []), 'any', 'f32[2]')
  throwsFovea(() => F.max(b, 0), 'max', 'bool[2,3]', 'any/all')
  throwsFovea(() => F.min(b), 'min', 'bool[2,3]')
  throwsFovea(() => F.prod(b), 'prod', 'bool[2,3]')
  throwsFovea(() => F.sum(b), 'sum', 'bool[2,3]')
  throwsFovea(() => F.cumsum(b, 0), 'cumsum', 'bool[2,3]')
  throwsFovea(() => F.logsumexp(b), 'logsumexp', 'bool[2,3]')
  throwsFovea(() => F.variance(F.zeros([2]), 0, false, NaN), 'variance', 'ddof', 'f32[2]')
})

test('columnView: the [outer, length, inner] view of a reduced run followed by kept axes (the WebGPU in-place column walk)', () => {
  assert.equal(columnView([256, 512], [0]), { outer: 1, length: 256, inner: 512 })
  assert.equal(columnView([2, 3, 4, 5], [1, 2]), { outer: 2, length: 12, inner: 5 })
  // Size-1 axes neither break a run nor count as kept extent.
  assert.equal(columnView([3, 1, 4, 1, 6], [0, 2]), { outer: 1, length: 12, inner: 6 })
  assert.equal(columnView([3, 1, 4, 6], [0, 1, 2]), { outer: 1, length: 12, inner: 6 })
  // Trailing reductions are rows, not columns; a kept axis inside the run breaks it; all-size-1 runs reduce nothing.
  assert.is(columnView([4, 5], [1]), undefined)
  assert.is(columnView([4, 5, 6], [0, 2]), undefined)
  assert.is(columnView([4, 1, 6], [1]), undefined)
  // An empty reduced axis makes every column empty (the fold's identity).
  assert.equal(columnView([7, 0, 8, 6], [1, 2]), { outer: 7, length: 0, inner: 6 })
})

test.run()
