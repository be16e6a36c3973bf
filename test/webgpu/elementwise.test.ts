import { test as uvuTest } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { randn, uniform } from '../util/check.js'
import { webgpuBackend } from '../../core/backend/registry.js'
import type { WebGpuBackend } from '../../core/backend/webgpu/backend.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('elementwise')

/**
 * Every check runs twice: with eager fusion (ops join fused chains, ops/elementwise/deferred.ts) and
 * without it, so each op's own unfused kernel is checked against the CPU too.
 */
const modes = [['fused chains', true], ['one kernel per op', false]] as const

const test = (name: string, body: () => Promise<void>): void => {
  for (const [mode, fusion] of modes) {
    uvuTest(`${name} [${mode}]`, async () => {
      const b = (await webgpuBackend()) as WebGpuBackend
      b.runtime.setDeferral(fusion)
      try {
        await body()
      } finally {
        b.runtime.setDeferral(true)
      }
    })
  }
}

const unary: [string, (x: Tensor) => Tensor, 'any' | 'pos'][] = [
  ['neg', F.neg, 'any'], ['abs', F.abs, 'any'], ['sign', F.sign, 'any'], ['exp', F.exp, 'any'], ['log', F.log, 'pos'],
  ['log1p', F.log1p, 'any'], ['expm1', F.expm1, 'any'], ['sqrt', F.sqrt, 'pos'], ['rsqrt', F.rsqrt, 'pos'], ['sin', F.sin, 'any'],
  ['cos', F.cos, 'any'], ['tanh', F.tanh, 'any'], ['sigmoid', F.sigmoid, 'any'], ['erf', F.erf, 'any'], ['relu', F.relu, 'any'],
  ['floor', F.floor, 'any'], ['ceil', F.ceil, 'any'], ['round', F.round, 'any'], ['gelu', F.gelu, 'any'], ['softplus', F.softplus, 'any'],
]

if (run) {
  for (const [name, f, domain] of unary) {
    test(`${name}: webgpu matches cpu (odd size, tiny and large values)`, async () => {
      await expectParity(() => f(domain === 'pos' ? uniform([1037], 1, 1e-3, 50) : F.mul(randn([1037], 1), 4)), { rtol: 2e-6, atol: 1e-6 })
      await expectParity(() => f(domain === 'pos' ? uniform([5], 2, 1e-6, 1e-4) : F.tensor([1e-7, -3e-5, 2e-3, 0, -0.5])), { rtol: 2e-6, atol: 1e-9 })
    })
  }

  test('every float unary op on NaN, ±Infinity, -0 and 1e-30 matches the cpu (NaN stays NaN)', async () => {
    await expectParity(() => unary.map(([, f]) => f(F.tensor([NaN, Infinity, -Infinity, -0, 1e-30]))), { rtol: 1e-6, atol: 0 })
  })

  test('integer and bool unary ops match exactly', async () => {
    await expectParity(() => {
      const i = F.tensor([-3, 0, 7, -2147483647], { dtype: 'int32' })
      return [F.neg(i), F.abs(i), F.sign(i), F.relu(i), F.floor(i), F.logicalNot(F.less(i, 1)), F.isNan(F.tensor([NaN, 1, Infinity])), F.isFinite(F.tensor([NaN, 1, -Infinity]))]
    })
  })

  test('binary ops: same shape, scalar operands, general broadcasting, int32 wraparound', async () => {
    const a = () => randn([3, 1, 5], 3)
    const b = () => randn([4, 5], 4)
    await expectParity(() => [F.add(a(), b()), F.sub(a(), b()), F.mul(a(), b()), F.maximum(a(), b()), F.minimum(a(), b()), F.div(a(), F.add(F.abs(b()), 0.5))])
    await expectParity(() => [F.mul(randn([1000], 5), 1.5), F.add(0.5, randn([1000], 6)), F.pow(uniform([100], 7, 0.1, 3), 2.5), F.pow(F.tensor([-2, -2, 0, 0, 3]), F.tensor([3, 2, 0, -1, 0.5]))])
    await expectParity(() => {
      const i = F.tensor([0x40000000, -5, 7], { dtype: 'int32' })
      return [F.mul(i, 4), F.add(i, F.tensor([0x40000000, 1, 2], { dtype: 'int32' })), F.maximum(i, 0), F.equal(i, 7), F.less(i, F.tensor([[0], [10]], { dtype: 'int32' }))]
    })
    await expectParity(() => [F.maximum(F.tensor([NaN, 1, 2]), F.tensor([0, NaN, 1])), F.minimum(F.tensor([NaN, 1]), 0)])
  })

  test('every broadcast kind (full, one value, trailing run, inner run, axis walk), eager and fused under jit', async () => {
    // Kinds from wgsl/broadcast.ts: [C] in [N,C] is a trailing run; [C,1,1] in [N,C,H,W] and [N,1] in
    // [N,C] are inner runs; [2,1,3,1] in [4,2,1,3,5] is a run through a size-1 axis; [N,1,W] in [N,H,W]
    // takes the axis walk (collapsed, then unrolled for its rank). The jitted form fuses each chain into
    // one kernel with the same indexing.
    const cases = (): [Tensor, Tensor][] => [
      [randn([6, 10], 20), randn([10], 21)],
      [randn([2, 5, 7, 3], 22), randn([5, 1, 1], 23)],
      [randn([6, 10], 24), randn([6, 1], 25)],
      [randn([4, 2, 1, 3, 5], 26), randn([2, 1, 3, 1], 27)],
      [randn([3, 4, 5], 28), randn([3, 1, 5], 29)],
      [randn([1, 9], 30), randn([9], 31)],
      // Axis walks that collapse: to [2,3,20]; anchors-like [HW,1,4] + [1,A,4]; rank 6 to rank 4.
      [randn([2, 3, 4, 5], 32), randn([2, 1, 4, 5], 33)],
      [randn([7, 1, 4], 34), randn([1, 3, 4], 35)],
      [randn([2, 1, 3, 1, 2, 2], 36), randn([1, 4, 1, 5, 1, 1], 37)],
    ]
    const chain = (x: Tensor, b: Tensor) => F.relu(F.mul(F.add(x, b), F.sub(b, 0.25)))
    await expectParity(() => cases().flatMap(([x, b]) => [F.add(x, b), F.where(F.greater(x, 0), b, x), chain(x, b)]), { rtol: 1e-6, atol: 1e-6 })
    const jitted = F.jit(chain)
    await expectParity(() => cases().map(([x, b]) => jitted(x, b)), { rtol: 1e-6, atol: 1e-6 })
  })

  test('comparisons, logical ops, where and cast', async () => {
    await expectParity(() => {
      const a = randn([2, 3, 4], 8)
      const b = randn([3, 1], 9)
      const c = F.greater(a, b)
      return [c, F.lessEqual(a, b), F.notEqual(a, a), F.logicalAnd(c, F.less(a, 0.5)), F.logicalOr(c, F.less(a, -0.5)), F.where(c, a, b), F.where(c, 1, a)]
    })
    await expectParity(() => {
      const x = F.tensor([-1.7, 1.7, NaN, 3e9, -3e9, 0.5])
      return [F.cast(x, 'int32'), F.cast(x, 'bool'), F.cast(F.cast(x, 'bool'), 'float32'), F.cast(F.cast(x, 'int32'), 'float32')]
    })
  })

  test('a million-element chain and a zero-size tensor', async () => {
    await expectParity(() => { const x = randn([1 << 20], 10); return F.sub(F.mul(F.tanh(F.add(F.mul(x, 1.5), 0.5)), F.sigmoid(x)), F.mul(x, x)) }, { rtol: 1e-5, atol: 2e-6 })
    await expectParity(() => F.add(F.zeros([0, 3]), F.ones([3])))
  })
}

uvuTest.run()
