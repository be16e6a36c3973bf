/**
 * WebGPU parity of the reduction family: max, min, prod, all, any, argmax, argmin, cumsum and the
 * composites built on them (mean, variance, logsumexp, softmax, logSoftmax, oneHot), plus gradients.
 *
 * Tolerances: max, min, argmax, argmin, all, any and every int32 result are exact (a fold of comparisons
 * or of wrapping integer ops does not depend on order). Float prod and cumsum accumulate in float32 on
 * the GPU but in float64 on the CPU (which rounds once), so they differ by a few ulps per factor or term:
 * rtol 1e-4 at these lengths (1e-3 for the million-factor product).
 */
import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { randn, rng, uniform } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('reduce')

/** int32 data in [lo, hi), deterministic in `seed`. */
const randint = (shape: readonly number[], seed: number, lo: number, hi: number): Tensor => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Int32Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r())), { shape })
}

/** `x` with the given flat positions overwritten (NaN, ±Inf, zeros). */
const patch = (x: Tensor, at: readonly [number, number][], shape: readonly number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1)
  const mask = new Float32Array(n)
  const vals = new Float32Array(n)
  for (const [i, v] of at) {
    mask[i] = 1
    vals[i] = v
  }
  const m = F.tensor(mask, { shape })
  return F.where(F.greater(m, 0), F.tensor(vals, { shape }), x)
}

/** Every axis form of a reduction `f(x, axis, keepdims)` over a rank-3 tensor. */
const axisForms = (f: (x: Tensor, axis?: number | number[], keepdims?: boolean) => Tensor, x: Tensor): Tensor[] =>
  [f(x), f(x, 0), f(x, 1), f(x, 2), f(x, -1), f(x, [0, 2]), f(x, [1, 2], true), f(x, -2, true)]

if (run) {
  for (const [name, f] of [['max', F.max], ['min', F.min]] as const) {
    test(`${name}: every axis form, long and short rows, int32, after a transpose`, async () => {
      await expectParity(() => axisForms(f, randn([4, 5, 70], 1)), { rtol: 0, atol: 0 })
      await expectParity(() => axisForms(f, randn([3, 7, 5], 2)), { rtol: 0, atol: 0 })
      await expectParity(() => axisForms(f, randint([3, 66, 4], 3, -1000, 1000)))
      await expectParity(() => [f(F.transpose(randn([6, 80, 3], 4), [2, 0, 1]), -1), f(F.transpose(randn([5, 4], 5)), 0)], { rtol: 0, atol: 0 })
      await expectParity(() => f(F.tensor([-2147483648, 2147483647, 0], { dtype: 'int32' })))
    })
  }

  test('max/min: NaN anywhere in a row gives NaN; ±Inf are ordinary values', async () => {
    const x = () => patch(randn([4, 100], 6), [[3, NaN], [100 + 99, NaN], [200 + 50, Infinity], [300 + 7, -Infinity], [300 + 8, NaN]], [4, 100])
    const s = () => patch(randn([4, 6], 7), [[0, NaN], [6 + 5, NaN], [12 + 2, -Infinity], [18 + 1, Infinity]], [4, 6])
    await expectParity(() => [F.max(x(), 1), F.min(x(), 1), F.max(x(), 0), F.min(x()), F.max(s(), 1), F.min(s(), 1), F.max(s(), 0)], { rtol: 0, atol: 0 })
    await expectParity(() => [F.max(F.tensor([-Infinity, -Infinity])), F.min(F.tensor([Infinity])), F.max(F.tensor([NaN, NaN]))], { rtol: 0, atol: 0 })
  })

  test('prod: every axis form, float32 and wrapping int32, zeros', async () => {
    await expectParity(() => axisForms(F.prod, uniform([4, 5, 70], 8, 0.7, 1.4)), { rtol: 1e-4, atol: 0 })
    await expectParity(() => axisForms(F.prod, uniform([3, 7, 5], 9, -2, 2)), { rtol: 1e-5, atol: 0 })
    await expectParity(() => axisForms(F.prod, randint([3, 66, 4], 10, -9, 9)))
    await expectParity(() => [F.prod(F.tensor([[1, 2, 0, 3], [NaN, 1, 1, 1]]), 1), F.prod(F.tensor([65536, 65536, 3], { dtype: 'int32' }))])
  })

  for (const [name, f] of [['all', F.all], ['any', F.any]] as const) {
    test(`${name}: every axis form, long and short rows, all-true and all-false rows`, async () => {
      await expectParity(() => axisForms(f, F.greater(randn([4, 5, 70], 11), name === 'all' ? -3.2 : 3.2)))
      await expectParity(() => axisForms(f, F.greater(randn([3, 7, 5], 12), name === 'all' ? -1.5 : 1.5)))
      await expectParity(() => [f(F.transpose(F.less(randn([6, 90, 3], 13), 2.5), [1, 2, 0]), [0, 2]), f(F.greater(F.ones([3, 200]), 0), 1), f(F.greater(F.zeros([3, 200]), 0), 1)])
    })
  }

  for (const [name, f] of [['argmax', F.argmax], ['argmin', F.argmin]] as const) {
    test(`${name}: every axis, flattened, keepdims, float32/int32/bool, first occurrence on ties`, async () => {
      const forms = (x: Tensor) => [f(x), f(x, 0), f(x, 1), f(x, 2), f(x, -1), f(x, -3, true), f(x, undefined, true)]
      await expectParity(() => forms(randn([4, 5, 70], 14)))
      await expectParity(() => forms(randn([3, 7, 5], 15)))
      // Few distinct values: every long row has ties spread over many lanes of the workgroup tree.
      await expectParity(() => forms(F.round(randn([3, 4, 300], 16))))
      await expectParity(() => forms(randint([3, 66, 4], 17, -3, 3)))
      await expectParity(() => forms(F.greater(randn([3, 66, 4], 18), 0.5)))
      await expectParity(() => [f(F.zeros([2, 500]), 1), f(F.zeros([7, 3]), 1), f(F.transpose(randn([6, 80, 3], 19), [2, 0, 1]), 2)])
    })
  }

  test('argmax/argmin: NaN counts as the extremum (first NaN wins); ±Inf', async () => {
    const x = () => patch(randn([4, 100], 20), [[3, NaN], [40, NaN], [100 + 99, NaN], [200 + 50, Infinity], [200 + 60, Infinity], [300 + 7, -Infinity], [300 + 8, NaN]], [4, 100])
    const s = () => patch(randn([4, 6], 21), [[0, NaN], [6 + 5, NaN], [6 + 3, NaN], [12 + 2, -Infinity], [18 + 1, Infinity]], [4, 6])
    await expectParity(() => [F.argmax(x(), 1), F.argmin(x(), 1), F.argmax(x(), 0), F.argmin(x()), F.argmax(s(), 1), F.argmin(s(), 1), F.argmin(s(), 0)])
    await expectParity(() => [F.argmax(F.tensor([-Infinity, -Infinity])), F.argmin(F.tensor([Infinity, Infinity])), F.argmin(F.tensor([1, NaN, NaN]))])
  })

  test('cumsum: every axis, reverse, flattened; short, long and multi-tile lines; int32 wraps', async () => {
    const forms = (x: Tensor) => [F.cumsum(x), F.cumsum(x, 0), F.cumsum(x, 1), F.cumsum(x, 2), F.cumsum(x, -1, { reverse: true }), F.cumsum(x, 0, { reverse: true }), F.cumsum(x, 1, { reverse: true })]
    await expectParity(() => forms(randn([3, 5, 4], 22)), { rtol: 1e-5, atol: 1e-5 })
    await expectParity(() => forms(randn([2, 3, 300], 23)), { rtol: 1e-4, atol: 1e-4 })
    await expectParity(() => [F.cumsum(randn([3, 2500], 24), 1), F.cumsum(randn([3, 2500], 24), 1, { reverse: true }), F.cumsum(randn([2500, 3], 25), 0, { reverse: true })], { rtol: 1e-4, atol: 1e-4 })
    await expectParity(() => forms(randint([3, 70, 5], 26, -100, 100)))
    await expectParity(() => [F.cumsum(F.tensor([2147483647, 1, 5], { dtype: 'int32' })), F.cumsum(F.tensor([2147483647, 1, 5], { dtype: 'int32' }), 0, { reverse: true })])
    await expectParity(() => [F.cumsum(F.transpose(randn([80, 6, 3], 27), [2, 1, 0]), -1), F.cumsum(F.tensor([1, NaN, 2, Infinity]))], { rtol: 1e-4, atol: 1e-4 })
  })

  test('zero-size: empty kept dims, empty reduced dims where the CPU allows them', async () => {
    await expectParity(() => [F.max(F.zeros([0, 5]), 1), F.min(F.zeros([5, 0, 3]), 2), F.argmax(F.zeros([0, 5]), 1), F.argmin(F.zeros([5, 0]), 0)])
    await expectParity(() => [F.prod(F.zeros([3, 0]), 1), F.prod(F.zeros([0])), F.prod(F.zeros([0, 3], 'int32'), 0)])
    await expectParity(() => [F.all(F.greater(F.zeros([3, 0]), 0), 1), F.any(F.greater(F.zeros([3, 0]), 0), 1), F.all(F.greater(F.zeros([0, 2]), 0)), F.any(F.greater(F.zeros([0, 2]), 0), 1)])
    await expectParity(() => [F.cumsum(F.zeros([0, 3]), 0), F.cumsum(F.zeros([3, 0]), 0), F.cumsum(F.zeros([0], 'int32'))])
    await expectParity(() => [F.mean(F.zeros([3, 0]), 1), F.logsumexp(F.zeros([2, 0]), 1), F.softmax(F.zeros([0, 4]))])
  })

  test('a million elements: full reductions (chunked rows), a few long rows, long scans', async () => {
    const n = 1 << 20
    await expectParity(() => { const x = randn([n], 28); return [F.max(x), F.min(x), F.argmax(x), F.argmin(x), F.all(F.less(x, 2.9)), F.any(F.greater(x, 2.9))] })
    await expectParity(() => { const x = randn([3, 350001], 29); return [F.max(x, 1), F.argmin(x, -1), F.argmax(F.round(x), 1)] })
    await expectParity(() => F.prod(uniform([n + 3], 30, 0.999, 1.001)), { rtol: 1e-3 })
    await expectParity(() => F.prod(randint([n], 31, -3, 4)))
    await expectParity(() => [F.cumsum(uniform([n], 32)), F.cumsum(uniform([128, 8192], 33), 0, { reverse: true })], { rtol: 1e-4, atol: 1e-4 })
    await expectParity(() => F.cumsum(randint([n], 34, -1000, 1000)))
  })

  test('very many rows (66,000 of 64, more than one workgroup grid dimension holds): one invocation each', async () => {
    const rows = 66000
    const data = Float32Array.from({ length: rows * 64 }, (_, i) => ((i * 7919) % 1013) - 500)
    const x = () => F.tensor(data, { shape: [rows, 64] })
    await expectParity(() => [F.max(x(), 1), F.argmin(x(), 1), F.cumsum(x(), 1, { reverse: true }), F.any(F.greater(x(), 505), 1)])
    await expectParity(() => [F.min(F.reshape(x(), [rows * 8, 8]), 1), F.argmax(F.reshape(x(), [rows * 8, 8]), 1)])
  })

  test('column reductions (a run of reduced axes before kept ones) walk in place: bias sums, middle runs, size-1 axes, long columns', async () => {
    // [256, 512] over the batch is a bias gradient; [2,3,4,5] over [1,2] is a middle run (outer 2, inner 5);
    // [3,1,4,1,6] over [0,2] skips size-1 axes; [5000, 3] over 0 is a long column that keeps the row path.
    await expectParity(() => [F.sum(randn([256, 512], 60), 0), F.sum(randn([2, 3, 4, 5], 61), [1, 2]), F.sum(randn([3, 1, 4, 1, 6], 62), [0, 2], true), F.sum(randn([5000, 3], 63), 0)], { rtol: 1e-5, atol: 1e-4 })
    await expectParity(() => [F.max(randn([64, 33], 64), 0), F.min(randint([2, 700, 9], 65, -50, 50), 1), F.prod(uniform([6, 300], 66, 0.9, 1.1), 0), F.all(F.greater(randn([40, 20], 67), -2.5), 0), F.any(F.greater(randn([2, 40, 20], 68), 2.5), [0, 1])], { rtol: 1e-5, atol: 0 })
    await expectParity(() => [F.sum(randint([300, 7], 69, -1000, 1000), 0), F.prod(randint([7, 0, 8, 6], 70, -3, 3), [1, 2]), F.sum(F.zeros([0, 5]), 0)])
  })

  test('composites: mean, variance, logsumexp, softmax, logSoftmax, oneHot', async () => {
    const x = () => randn([4, 6, 90], 35, 3)
    await expectParity(() => [F.mean(x()), F.mean(x(), [0, 2], true), F.variance(x(), -1), F.variance(x(), [0, 1], false, 1), F.mean(randint([3, 5], 36, -4, 9), 1)], { rtol: 1e-4, atol: 1e-5 })
    await expectParity(() => [F.logsumexp(x(), -1), F.logsumexp(x(), [0, 1], true), F.softmax(x()), F.softmax(x(), 0), F.logSoftmax(x()), F.logSoftmax(x(), [1, 2])], { rtol: 1e-5, atol: 1e-6 })
    await expectParity(() => {
      const y = F.tensor([[-Infinity, -Infinity, -Infinity], [1e30, 0, -Infinity], [NaN, 0, 1]])
      return [F.logsumexp(y, 1), F.softmax(y), F.logSoftmax(y)]
    })
    await expectParity(() => [F.oneHot(F.tensor([[0, 3], [-1, 5]], { dtype: 'int32' }), 4), F.oneHot(randint([100], 37, -1, 11), 10, 'int32'), F.oneHot(F.tensor([2, 0], { dtype: 'int32' }), 3, 'bool')])
  })

  test('gradients on webgpu equal those on cpu: max (with ties), prod (with a zero), cumsum, softmax, logsumexp, variance, second order', async () => {
    const w = () => randn([5, 80], 38)
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.mul(F.max(p, 1), F.tensor([1, 2, 3, 4, 5]))))(F.round(F.mul(randn([5, 80], 39), 2))))
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.min(p, 0)))(randn([70, 3], 40)))
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.prod(p, -1)))(patch(uniform([4, 9], 41, 0.5, 1.5), [[3, 0], [9 + 2, 0], [9 + 5, 0]], [4, 9])), { rtol: 1e-4, atol: 1e-6 })
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.mul(F.cumsum(p, 1), w())))(randn([5, 80], 42)), { rtol: 1e-4, atol: 1e-4 })
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.mul(F.cumsum(p, 0, { reverse: true }), w())))(randn([5, 80], 43)), { rtol: 1e-4, atol: 1e-4 })
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.mul(F.softmax(p), w())))(randn([5, 80], 44)), { rtol: 1e-4, atol: 1e-6 })
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.mul(F.logSoftmax(p, 0), w())))(randn([5, 80], 45)), { rtol: 1e-4, atol: 1e-6 })
    await expectParity(() => F.grad((p: Tensor) => F.add(F.sum(F.logsumexp(p, 1)), F.sum(F.variance(p, 0))))(randn([5, 80], 46)), { rtol: 1e-4, atol: 1e-6 })
    // Second order: the vjp rules are themselves differentiated on the GPU.
    const inner = (q: Tensor) => F.add(F.sum(F.logsumexp(q, 1)), F.sum(F.prod(F.slice(q, [0, 0], [5, 6]), 1)))
    await expectParity(() => F.grad((p: Tensor) => F.sum(F.mul(F.grad(inner)(p), w())))(uniform([5, 80], 47, 0.5, 1.5)), { rtol: 1e-4, atol: 1e-5 })
  })
}

test.run()
