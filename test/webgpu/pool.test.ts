import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { randn } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('pool')

/** Data with many exact ties (small integers), so the first-maximum rule is exercised. */
const ties = (shape: number[], seed: number): Tensor => F.round(F.mul(randn(shape, seed), 1.5))

/** A weighted sum, so every output element gets its own cotangent. */
const weighted = (f: (x: Tensor) => Tensor, seed: number) => (x: Tensor): Tensor => {
  const y = f(x)
  return F.sum(F.mul(y, randn([...y.shape], seed)))
}

const maxConfigs: F.MaxPoolOptions[] = [
  { kernelSize: 2 },
  { kernelSize: 3, stride: 2, padding: 1 },
  { kernelSize: [3, 2], stride: [1, 2], padding: [1, 0] },
  { kernelSize: 3, stride: 2, dilation: 2, padding: 1 },
  { kernelSize: 3, stride: 2, ceilMode: true },
  { kernelSize: [2, 3], stride: [3, 1], dilation: [2, 1], padding: [1, 1], ceilMode: true },
]

if (run) {
  test('maxPool2d: stride≠kernel, padding, dilation, ceilMode, ties (values exact)', async () => {
    for (const options of maxConfigs) {
      await expectParity(() => [F.maxPool2d(randn([2, 3, 9, 11], 1), options), F.maxPool2d(ties([1, 2, 7, 8], 2), options)], { rtol: 0, atol: 0 }, JSON.stringify(options))
    }
  })

  test('maxPool2d: NaN wins as on the cpu; non-contiguous input; vmap; zero-size batch', async () => {
    await expectParity(() => F.maxPool2d(F.tensor([1, NaN, 3, 2, 5, NaN, 0, 9, 4], { shape: [1, 1, 3, 3] }), { kernelSize: 2, stride: 1 }))
    await expectParity(() => F.maxPool2d(F.transpose(ties([5, 2, 3, 6], 3), [1, 3, 0, 2]), { kernelSize: 2, stride: 1, padding: 1 }), { rtol: 0, atol: 0 })
    await expectParity(() => F.vmap((x: Tensor) => F.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), 2)(ties([1, 2, 7, 3, 8], 16)), { rtol: 0, atol: 0 })
    await expectParity(() => [F.maxPool2d(F.zeros([0, 3, 4, 4]), { kernelSize: 2 }), F.grad((x: Tensor) => F.sum(F.maxPool2d(x, { kernelSize: 2 })))(F.zeros([2, 0, 4, 4]))])
  })

  test('maxPool2d gradient: overlapping windows and ties add up exactly as on the cpu', async () => {
    for (const options of maxConfigs) {
      await expectParity(() => F.grad(weighted((x) => F.maxPool2d(x, options), 4))(ties([2, 2, 9, 10], 5)), { rtol: 0, atol: 0 }, JSON.stringify(options))
    }
    // Second order: the gradient of a gradient goes through poolSelect again.
    await expectParity(() => F.grad((x: Tensor) => F.sum(F.mul(F.grad(weighted((y) => F.maxPool2d(y, { kernelSize: 3, stride: 1 }), 6))(x), x)))(randn([1, 2, 6, 6], 7)))
  })

  test('avgPool2d: padding with and without countIncludePad, ceilMode, gradients', async () => {
    const configs: F.AvgPoolOptions[] = [
      { kernelSize: 2 },
      { kernelSize: 3, stride: 2, padding: 1 },
      { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false },
      { kernelSize: [3, 2], stride: [2, 3], padding: [1, 1], ceilMode: true },
      { kernelSize: [3, 2], stride: [2, 3], padding: [1, 1], ceilMode: true, countIncludePad: false },
    ]
    for (const options of configs) {
      await expectParity(() => F.avgPool2d(randn([2, 3, 10, 9], 8), options), {}, JSON.stringify(options))
      await expectParity(() => F.grad(weighted((x) => F.avgPool2d(x, options), 9))(randn([2, 3, 10, 9], 10)), {}, `grad ${JSON.stringify(options)}`)
    }
    // An empty H axis still gives one window per column (all padding): zeros, never 0/0.
    await expectParity(() => [F.avgPool2d(F.zeros([1, 2, 0, 4]), { kernelSize: 2, padding: 1, countIncludePad: false }), F.avgPool2d(F.zeros([1, 2, 0, 4]), { kernelSize: 2, padding: 1 })])
  })

  test('adaptiveAvgPool2d: divisible, overlapping and repeating bins, global pooling, gradients', async () => {
    const cases: [number[], number | [number, number]][] = [[[2, 3, 12, 8], [3, 4]], [[1, 2, 10, 7], [3, 5]], [[1, 2, 3, 5], [7, 4]], [[2, 4, 37, 29], 1]]
    for (const [shape, size] of cases) {
      await expectParity(() => F.adaptiveAvgPool2d(randn(shape, 11), size), {}, `${shape} → ${size}`)
      await expectParity(() => F.grad(weighted((x) => F.adaptiveAvgPool2d(x, size), 12))(randn(shape, 13)), {}, `grad ${shape} → ${size}`)
    }
  })

  test('million-element pooling: maxPool2d, avgPool2d, adaptiveAvgPool2d and the max-pool gradient', async () => {
    const x = () => randn([2, 8, 256, 256], 14)
    await expectParity(() => [F.maxPool2d(x(), { kernelSize: 3, stride: 2, padding: 1 }), F.avgPool2d(x(), { kernelSize: 2 }), F.adaptiveAvgPool2d(x(), [7, 7])], { rtol: 1e-5, atol: 1e-6 })
    await expectParity(() => F.grad(weighted((y) => F.maxPool2d(y, { kernelSize: 3, stride: 2, padding: 1 }), 15))(x()), { rtol: 0, atol: 0 })
  })

  test('adaptiveMaxPool2d: uneven and even bins, with its gradient', async () => {
    await expectParity(() => [F.adaptiveMaxPool2d(randn([2, 3, 7, 9], 40), [3, 4]), F.adaptiveMaxPool2d(randn([2, 3, 8, 8], 41), 2)])
    await expectParity(() => F.grad(weighted((x) => F.adaptiveMaxPool2d(x, [3, 5]), 42))(randn([1, 2, 7, 9], 43)))
  })
}

test.run()
