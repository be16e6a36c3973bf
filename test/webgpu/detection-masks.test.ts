/**
 * WebGPU parity of the mask/keypoint/deformable numerics: pasteMasks (a primitive; its gradient goes
 * through a matmul composition), keypoint encodings (a composition and the heatmapsToKeypoints
 * primitive), detectorPostprocess, and deformable convolution (the deformSample primitive and its
 * atomic-scatter transpose) with its gradients.
 * Tolerances: float sums over a handful of taps at rtol 1e-5; anything through matmul or the atomic
 * scatter (whose order varies) at rtol 1e-4 / atol 1e-4, since the GPU GEMM accumulates in float32 and
 * the CPU's in double.
 */
import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import * as D from '../../ops/detection/index.js'
import { randn, rng, uniform } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('detection-masks')

const loose = { rtol: 1e-4, atol: 1e-4 }

/** Boxes inside (and a little beyond) an h×w image, deterministic in `seed`. */
const boxes = (n: number, h: number, w: number, seed: number): Tensor => {
  const r = rng(seed)
  return F.tensor(Array.from({ length: n }, () => {
    const [x, y] = [r() * w - 0.1 * w, r() * h - 0.1 * h]
    return [x, y, x + 2 + r() * 0.6 * w, y + 2 + r() * 0.6 * h]
  }))
}

/** Offsets with sample points away from grid lines, so CPU and GPU floor() agree. */
const offsets = (shape: number[], seed: number, spread = 2): Tensor => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Float32Array.from({ length: n }, () => Math.round((r() - 0.5) * 2 * spread) + 0.05 + 0.9 * r()), { shape })
}

/** A weighted sum, so every output element gets its own cotangent. */
const weighted = (y: Tensor, seed: number): Tensor => F.sum(F.mul(y, randn([...y.shape], seed)))

if (run) {
  test('pasteMasks: soft and thresholded, odd sizes, degenerate and empty inputs', async () => {
    await expectParity(() => D.pasteMasks(uniform([5, 7, 9], 1), boxes(5, 23, 31, 2), [23, 31], -1))
    await expectParity(() => D.pasteMasks(uniform([5, 7, 9], 1), boxes(5, 23, 31, 2), [23, 31]))
    await expectParity(() => D.pasteMasks(F.ones([2, 3, 3]), F.tensor([[2, 2, 2, 6], [1, 1, 4, 4]]), [8, 8], -1))
    await expectParity(() => [D.pasteMasks(F.zeros([0, 28, 28]), F.zeros([0, 4]), [10, 12]), D.pasteMasks(F.zeros([2, 28, 28]), F.zeros([2, 4]), [0, 12], -1)])
  })

  test('pasteMasks: 4 × 28×28 masks into a 500×520 image (1.04e6 pixels) and its gradient in masks and boxes', async () => {
    await expectParity(() => D.pasteMasks(uniform([4, 28, 28], 3), boxes(4, 500, 520, 4), [500, 520], -1))
    await expectParity(() => F.grad((m: Tensor, b: Tensor) => weighted(D.pasteMasks(m, b, [20, 24], -1), 5), { argnums: [0, 1] })(uniform([3, 6, 6], 6), boxes(3, 20, 24, 7)), { rtol: 1e-3, atol: 1e-3 })
  })

  test('keypointsToHeatmap: integer labels and validity exactly', async () => {
    const rois = F.tensor([[0, 0, 10, 20], [2, 2, 2, 6], [5, 5, 30, 17]])
    const r = rng(8)
    const keypoints = F.tensor(Array.from({ length: 3 }, () => Array.from({ length: 17 }, () => [r() * 32 - 1, r() * 22 - 1, Math.floor(r() * 3)])))
    await expectParity(() => {
      const { heatmaps, valid } = D.keypointsToHeatmap(keypoints, rois, 56)
      return [heatmaps, valid]
    })
  })

  test('heatmapsToKeypoints: up- and downsampling rois, ties, NaN roi, empty', async () => {
    const rois = F.tensor([[1.5, 2, 40.2, 31.7], [10, 3, 13.3, 5.1], [4, 4, 4.5, 4.2], [0, 0, 300, 7], [0, 0, 14, 14]])
    await expectParity(() => D.heatmapsToKeypoints(F.mul(randn([5, 3, 14, 14], 9), 3), rois))
    await expectParity(() => D.heatmapsToKeypoints(F.zeros([1, 2, 6, 6]), F.tensor([[0, 0, 9.5, 8]])))
    await expectParity(() => [D.heatmapsToKeypoints(randn([1, 1, 5, 5], 10), F.tensor([[0, 0, NaN, 3]])), D.heatmapsToKeypoints(F.zeros([0, 17, 56, 56]), F.zeros([0, 4]))])
  })

  test('heatmapsToKeypoints: one 1000×1000 roi (1e6 upsampled cells per keypoint)', async () => {
    await expectParity(() => D.heatmapsToKeypoints(F.mul(randn([1, 2, 56, 56], 11), 3), F.tensor([[3, 5, 1003, 1005]])))
  })

  test('detectorPostprocess: boxes, validity, pasted masks and keypoints', async () => {
    await expectParity(() => {
      const out = D.detectorPostprocess({
        imageSize: [40, 60], boxes: boxes(6, 40, 60, 12), scores: uniform([6], 13), classes: F.zeros([6], 'int32'),
        masks: uniform([6, 1, 14, 14], 14), keypoints: uniform([6, 17, 3], 15, 0, 60),
      }, 75, 90)
      return [out.boxes, out.valid, out.masks, out.keypoints]
    })
  })

  test('deformConv2d: v1 and v2 forward with groups, deformable groups, stride, padding, dilation; zero batch', async () => {
    const x = randn([2, 4, 9, 8], 16)
    const w = randn([6, 2, 3, 3], 17)
    const opts = { stride: [1, 2], padding: [1, 2], dilation: [2, 1], groups: 2, deformableGroups: 2 } as const
    const off = offsets([2, 36, 7, 5], 18)
    const mask = uniform([2, 18, 7, 5], 19)
    await expectParity(() => [D.deformConv2d(x, off, w, opts), D.deformConv2d(x, off, w, opts, mask)], loose)
    await expectParity(() => D.deformConv2d(F.zeros([0, 4, 9, 8]), F.zeros([0, 36, 7, 5]), w, opts))
  })

  test('deformConv2d: gradients in x, offset, mask and weight; second order in offset', async () => {
    const x = randn([1, 4, 6, 7], 20)
    const w = randn([4, 2, 3, 3], 21, 0.5)
    const opts = { padding: 1, groups: 2, deformableGroups: 2 }
    const off = offsets([1, 36, 6, 7], 22)
    const mask = uniform([1, 18, 6, 7], 23)
    await expectParity(() => F.grad((a: Tensor, o: Tensor, ww: Tensor, m: Tensor) => weighted(D.deformConv2d(a, o, ww, opts, m), 24), { argnums: [0, 1, 2, 3] })(x, off, w, mask), loose)
    const gradOffset = F.grad((o: Tensor) => weighted(D.deformConv2d(x, o, w, opts), 25))
    await expectParity(() => F.grad((o: Tensor) => weighted(gradOffset(o) as Tensor, 26))(off), loose)
  })

  test('jit: deformConv2d with its gradient, and both pastes, compile and match', async () => {
    const x = randn([1, 2, 5, 5], 31)
    const w = randn([3, 2, 3, 3], 32)
    const off = offsets([1, 18, 5, 5], 33)
    const mask = uniform([1, 9, 5, 5], 34)
    const loss = (a: Tensor, o: Tensor) => weighted(D.deformConv2d(a, o, w, { padding: 1 }, mask), 35)
    await expectParity(() => [F.jit((a: Tensor, o: Tensor) => D.deformConv2d(a, o, w, { padding: 1 }, mask))(x, off), ...(F.jit(F.grad(loss, { argnums: [0, 1] }))(x, off) as Tensor[])], loose)
    await expectParity(() => F.jit((m: Tensor, b: Tensor) => [D.pasteMasks(m, b, [12, 13]), D.pasteMasks(m, b, [12, 13], -1)])(uniform([3, 6, 6], 36), boxes(3, 12, 13, 37)))
  })

  test('deformConv2d: 16 channels, 3×3 on 96×96 (1.3e6 column elements), forward and input gradient', async () => {
    const x = randn([1, 16, 96, 96], 27)
    const w = randn([8, 16, 3, 3], 28, 0.2)
    const off = offsets([1, 18, 96, 96], 29, 3)
    await expectParity(() => D.deformConv2d(x, off, w, { padding: 1 }), loose)
    await expectParity(() => F.grad((a: Tensor) => weighted(D.deformConv2d(a, off, w, { padding: 1 }), 30))(x), loose)
  })
}

test.run()
