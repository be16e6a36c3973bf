import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { randn } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('resize')

const weighted = (f: (x: Tensor) => Tensor, seed: number) => (x: Tensor): Tensor => {
  const y = f(x)
  return F.sum(F.mul(y, randn([...y.shape], seed)))
}

// Up, down, equal, exact 2×, a size of 1 and non-integer scale factors; 2.1 and 1.1 hit nearest's
// shortcuts (output 2·in and in) where PyTorch ignores 1/scale.
const resizes: [number[], Omit<F.InterpolateOptions, 'mode'>][] = [
  [[1, 2, 5, 4], { scaleFactor: [2.1, 1.1] }],
  [[2, 3, 5, 7], { size: [11, 16] }],
  [[2, 3, 13, 17], { size: [4, 6] }],
  [[1, 2, 6, 6], { size: [6, 12] }],
  [[1, 2, 5, 4], { size: [1, 9] }],
  [[1, 2, 7, 9], { scaleFactor: [1.7, 0.6] }],
  [[1, 3, 10, 6], { scaleFactor: 2.5 }],
]

const modes: Pick<F.InterpolateOptions, 'mode' | 'alignCorners'>[] = [
  { mode: 'nearest' },
  { mode: 'bilinear', alignCorners: false },
  { mode: 'bilinear', alignCorners: true },
]

if (run) {
  // Source indices are the same correctly rounded float32 products on both backends, so only the float32
  // intermediate between the two passes (the CPU keeps float64) separates the results.
  test('interpolate: nearest and bilinear (alignCorners both ways), up/down/equal sizes and scale factors', async () => {
    for (const mode of modes) {
      for (const [shape, size] of resizes) {
        await expectParity(() => F.interpolate(randn(shape, 1), { ...size, ...mode }), { rtol: 1e-5, atol: 1e-6 }, `${JSON.stringify(mode)} ${shape} ${JSON.stringify(size)}`)
      }
    }
  })

  test('interpolate gradients (resample2dTranspose) and second order', async () => {
    for (const mode of modes) {
      for (const [shape, size] of resizes) {
        await expectParity(() => F.grad(weighted((x) => F.interpolate(x, { ...size, ...mode }), 2))(randn(shape, 3)), { rtol: 1e-5, atol: 1e-6 }, `grad ${JSON.stringify(mode)} ${shape} ${JSON.stringify(size)}`)
      }
    }
    const f = (x: Tensor) => F.interpolate(x, { size: [9, 5], mode: 'bilinear' })
    await expectParity(() => F.grad((x: Tensor) => F.sum(F.mul(F.grad(weighted(f, 4))(x), F.square(x))))(randn([1, 2, 4, 7], 5)))
  })

  test('non-contiguous input, vmap, zero-size batch', async () => {
    await expectParity(() => F.vmap((x: Tensor) => F.interpolate(x, { size: [7, 4], mode: 'bilinear', alignCorners: true }), 1)(randn([2, 3, 2, 5, 6], 11)))
    await expectParity(() => F.interpolate(F.transpose(randn([6, 2, 3, 5], 6), [1, 2, 0, 3]), { size: [8, 3], mode: 'bilinear' }))
    await expectParity(() => F.interpolate(F.zeros([0, 2, 3, 3]), { size: [5, 5], mode: 'nearest' }))
  })

  test('million-element resize: bilinear up and down, and its gradient', async () => {
    await expectParity(() => F.interpolate(randn([2, 4, 64, 64], 7), { size: [360, 350], mode: 'bilinear' }), { rtol: 1e-5, atol: 1e-6 })
    await expectParity(() => F.interpolate(randn([1, 4, 500, 512], 8), { scaleFactor: 0.3, mode: 'bilinear', alignCorners: true }), { rtol: 1e-5, atol: 1e-6 })
    await expectParity(() => F.grad(weighted((x) => F.interpolate(x, { scaleFactor: 4, mode: 'nearest' }), 9))(randn([2, 4, 128, 128], 10)), { rtol: 1e-5, atol: 1e-6 })
  })
}

test.run()
