import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { checkGrads, expectTensor, randn, throwsFovea, uniform } from '../util/check.js'

const xs = [-2, -0.5, 0, 0.25, 1.5, 3]

test('unary float ops match Math', async () => {
  const x = F.tensor(xs)
  const cases: [(t: Tensor) => Tensor, (v: number) => number][] = [
    [F.neg, (v) => -v], [F.abs, Math.abs], [F.sign, Math.sign], [F.exp, Math.exp], [F.expm1, Math.expm1],
    [F.sin, Math.sin], [F.cos, Math.cos], [F.tanh, Math.tanh], [F.sigmoid, (v) => 1 / (1 + Math.exp(-v))],
    [F.relu, (v) => Math.max(v, 0)], [F.floor, Math.floor], [F.ceil, Math.ceil], [F.square, (v) => v * v],
    [F.silu, (v) => v / (1 + Math.exp(-v))], [F.softplus, (v) => Math.log(1 + Math.exp(v))],
  ]
  for (const [f, ref] of cases) await expectTensor(f(x), xs.map(ref), { rtol: 1e-6 })
  const pos = F.tensor([0.25, 1, 4])
  await expectTensor(F.log(pos), [Math.log(0.25), 0, Math.log(4)], { rtol: 1e-6 })
  await expectTensor(F.log1p(pos), [0.25, 1, 4].map(Math.log1p), { rtol: 1e-6 })
  await expectTensor(F.sqrt(pos), [0.5, 1, 2])
  await expectTensor(F.rsqrt(pos), [2, 1, 0.5])
})

test('erf and exact gelu match reference values', async () => {
  // erf values from tables (Abramowitz & Stegun 7.1).
  await expectTensor(F.erf(F.tensor([0, 0.1, 0.5, 1, 2, -1])), [0, 0.1124629160, 0.5204998778, 0.8427007929, 0.9953222650, -0.8427007929], { rtol: 2e-7, atol: 1e-8 })
  // PyTorch: torch.nn.functional.gelu(torch.tensor([-1., 0.5, 2.])) = [-0.1587, 0.3457, 1.9545]
  await expectTensor(F.gelu(F.tensor([-1, 0.5, 2])), [-0.15865525, 0.34573123, 1.95449974], { rtol: 1e-6 })
})

test('round is half-to-even, as in NumPy and PyTorch', async () => {
  await expectTensor(F.round(F.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6])), [0, 2, 2, -0, -2, 2, -3])
})

test('binary ops broadcast and accept weak scalars', async () => {
  const a = F.tensor([[1, 2, 3], [4, 5, 6]])
  const b = F.tensor([10, 20, 30])
  await expectTensor(F.add(a, b), [11, 22, 33, 14, 25, 36], {}, [2, 3])
  await expectTensor(F.sub(a, F.tensor([[1], [2]])), [0, 1, 2, 2, 3, 4], {}, [2, 3])
  await expectTensor(F.mul(a, 2), [2, 4, 6, 8, 10, 12])
  await expectTensor(F.div(1, F.tensor([2, 4])), [0.5, 0.25])
  await expectTensor(F.pow(F.tensor([2, 3]), 2), [4, 9])
  await expectTensor(F.maximum(a, 3.5), [3.5, 3.5, 3.5, 4, 5, 6])
  await expectTensor(F.minimum(a, b), [1, 2, 3, 4, 5, 6])
  await expectTensor(F.clip(F.tensor(xs), -1, 1), [-1, -0.5, 0, 0.25, 1, 1])
})

test('weak scalars keep the tensor dtype; int32 arithmetic wraps like int32', async () => {
  const i = F.tensor([1, 2, 3], { dtype: 'int32' })
  assert.is(F.mul(i, 2).dtype, 'int32')
  assert.is(F.mul(i, 2.5).dtype, 'float32')
  assert.is(F.add(i, F.tensor([0.5, 0.5, 0.5])).dtype, 'float32')
  await expectTensor(F.mul(F.tensor([0x40000000], { dtype: 'int32' }), 4), [0])
})

test('comparisons and logical ops give bool', async () => {
  const a = F.tensor([1, 2, 3])
  const lt = F.less(a, 2)
  assert.is(lt.dtype, 'bool')
  await expectTensor(lt, [1, 0, 0])
  await expectTensor(F.greaterEqual(a, 2), [0, 1, 1])
  await expectTensor(F.equal(a, F.tensor([1, 0, 3])), [1, 0, 1])
  await expectTensor(F.notEqual(a, 2), [1, 0, 1])
  await expectTensor(F.lessEqual(a, 2), [1, 1, 0])
  await expectTensor(F.greater(a, 2), [0, 0, 1])
  await expectTensor(F.logicalAnd(F.less(a, 3), F.greater(a, 1)), [0, 1, 0])
  await expectTensor(F.logicalOr(F.less(a, 2), F.greater(a, 2)), [1, 0, 1])
  await expectTensor(F.logicalNot(F.less(a, 2)), [0, 1, 1])
  await expectTensor(F.isNan(F.tensor([NaN, 1, Infinity])), [1, 0, 0])
  await expectTensor(F.isFinite(F.tensor([NaN, 1, -Infinity])), [0, 1, 0])
})

test('where broadcasts its condition and branches', async () => {
  const c = F.tensor([true, false, true])
  await expectTensor(F.where(c, F.tensor([[1, 2, 3]]), 0), [1, 0, 3], {}, [1, 3])
})

test('cast truncates toward zero and maps NaN to 0', async () => {
  await expectTensor(F.cast(F.tensor([-1.7, 1.7, NaN]), 'int32'), [-1, 1, 0])
  await expectTensor(F.cast(F.tensor([0, 2]), 'bool'), [0, 1])
  await expectTensor(F.cast(F.tensor([true, false]), 'float32'), [1, 0])
})

test('bad input names the op, shapes and dtypes', () => {
  throwsFovea(() => F.add(F.zeros([2, 3]), F.zeros([4])), 'add', 'f32[2,3]', 'f32[4]')
  throwsFovea(() => F.log(F.tensor([1, 2], { dtype: 'int32' })), 'log', 'i32[2]', "cast(x, 'float32')")
  throwsFovea(() => F.div(F.tensor([1], { dtype: 'int32' }), F.tensor([0], { dtype: 'int32' })), 'div', 'i32[1]')
  throwsFovea(() => F.where(F.zeros([2]), 1, 2), 'where', 'condition must be bool')
  throwsFovea(() => F.logicalAnd(F.zeros([2]), F.zeros([2])), 'logicalAnd', 'f32[2]')
  throwsFovea(() => F.cast(F.zeros([1]), 'float64' as never), 'cast', 'float64')
})

const unaryGrads: [string, (t: Tensor) => Tensor, 'any' | 'pos'][] = [
  ['neg', F.neg, 'any'], ['abs', F.abs, 'any'], ['exp', F.exp, 'any'], ['log', F.log, 'pos'], ['log1p', F.log1p, 'pos'],
  ['expm1', F.expm1, 'any'], ['sqrt', F.sqrt, 'pos'], ['rsqrt', F.rsqrt, 'pos'], ['sin', F.sin, 'any'], ['cos', F.cos, 'any'],
  ['tanh', F.tanh, 'any'], ['sigmoid', F.sigmoid, 'any'], ['erf', F.erf, 'any'], ['relu', F.relu, 'any'],
  ['square', F.square, 'any'], ['gelu', F.gelu, 'any'], ['silu', F.silu, 'any'], ['softplus', F.softplus, 'any'],
]
for (const [name, f, domain] of unaryGrads) {
  test(`gradient of ${name} matches finite differences (first and second order)`, async () => {
    const x = domain === 'pos' ? uniform([2, 5], 3, 0.5, 2) : randn([2, 5], 3)
    await checkGrads(f, [x], { secondOrder: true })
  })
}

const binaryGrads: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['add', F.add], ['sub', F.sub], ['mul', F.mul], ['div', F.div], ['pow', F.pow], ['maximum', F.maximum], ['minimum', F.minimum],
  ['where', (a, b) => F.where(F.greater(a, 0), a, b)],
]
for (const [name, f] of binaryGrads) {
  test(`gradient of ${name} with broadcasting matches finite differences`, async () => {
    const a = name === 'pow' ? uniform([3, 4], 1, 0.5, 2) : randn([3, 4], 1)
    const b = name === 'div' ? uniform([4], 2, 0.5, 2) : randn([4], 2)
    await checkGrads(f, [a, b], { secondOrder: true })
  })
}

test('maximum splits the gradient evenly on ties; relu has zero gradient at 0', async () => {
  const g = F.grad((x: Tensor) => F.sum(F.maximum(x, F.tensor([1, 1, 1]))))(F.tensor([0, 1, 2]))
  await expectTensor(g, [0, 0.5, 1])
  await expectTensor(F.grad((x: Tensor) => F.sum(F.relu(x)))(F.tensor([-1, 0, 1])), [0, 0, 1])
})

test.run()
