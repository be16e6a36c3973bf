/**
 * WebGPU parity of ROIAlign / ROIAlignRotated (forward and the gather-form backward) and of the FPN
 * pooler. The kernels evaluate the same float32 operations in the same order as the CPU (the backward
 * adds each pixel's contributions in the CPU scatter's order), so axis-aligned results are bit-identical
 * on lavapipe; the default rtol 1e-5 leaves room for drivers that fuse multiply-adds. For rotated rois
 * cos and sin agree bit for bit, but lavapipe evaluates the rotation (a·b − c·d + e) with other rounding
 * (contracted or reassociated), which moves sample points by an ulp: values of magnitude ~1 then differ
 * by up to ~1e-5, hence atol 1e-5 there. A missing contribution in the gather would be ~0.1.
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { roiPooler } from '../../ops/detection/poolers.js'
import { roiAlign, roiAlignRotated } from '../../ops/detection/roi-align.js'
import { randn, rng } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('detection-roi')

type Case = { name: string; mode: string; outputSize: [number, number]; spatialScale: number; samplingRatio: number; featureShape: number[]; rois: number[][] }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/roi_align_numpy.json', import.meta.url), 'utf8')) as { cases: Case[] }

const poolCase = (c: Case) => (x: Tensor, rois: Tensor): Tensor => {
  const o = { outputSize: c.outputSize, spatialScale: c.spatialScale, samplingRatio: c.samplingRatio }
  return c.mode === 'rotated' ? roiAlignRotated(x, rois, o) : roiAlign(x, rois, { ...o, aligned: c.mode === 'aligned' })
}

/** A weighted sum, so every pooled element gets its own cotangent. */
const weighted = (y: Tensor, seed: number): Tensor => F.sum(F.mul(y, randn([...y.shape], seed)))

/** `k` random XYXY boxes inside a `w`×`h` image with sizes from `lo` to `hi` pixels, as [k,4] rows. */
const randomBoxes = (k: number, w: number, h: number, lo: number, hi: number, seed: number): number[][] => {
  const r = rng(seed)
  return Array.from({ length: k }, () => {
    const bw = lo + (hi - lo) * r()
    const bh = lo + (hi - lo) * r()
    const x = (w - bw) * r()
    const y = (h - bh) * r()
    return [x, y, x + bw, y + bh]
  })
}

if (run) {
  test('fixture cases (aligned, legacy, sampling 2, rotated): forward and gradient', async () => {
    for (const c of fixture.cases) {
      const tol = c.mode === 'rotated' ? { atol: 1e-5 } : {}
      const x = () => randn(c.featureShape, 1)
      await expectParity(() => poolCase(c)(x(), F.tensor(c.rois)), tol, c.name)
      await expectParity(() => F.grad((t: Tensor) => weighted(poolCase(c)(t, F.tensor(c.rois)), 2))(x()), tol, `grad ${c.name}`)
    }
  })

  test('rois over every edge, tiny and huge rois, invalid batch indices, non-contiguous features', async () => {
    const rois = () => F.tensor([
      [0, -3, -3, 2, 2], [1, 10, 7, 13, 9], [0, 4.4, 4.4, 4.6, 4.5], [1, -20, -20, 40, 40], [-1, 0, 0, 5, 5],
      [2, 0, 0, 5, 5], [0, 11.9, 8.9, 12, 9], [1, 0, 0, 12, 0.2], [0.5, 3, 1, 8, 6],
    ])
    const x = () => F.transpose(randn([12, 9, 3, 2], 3), [3, 2, 1, 0])
    for (const aligned of [true, false]) {
      for (const samplingRatio of [0, 1, 3]) {
        const f = (t: Tensor) => roiAlign(t, rois(), { outputSize: [3, 2], spatialScale: 1, samplingRatio, aligned })
        await expectParity(() => f(x()), {}, `aligned ${aligned} sr ${samplingRatio}`)
        await expectParity(() => F.grad((t: Tensor) => weighted(f(t), 4))(x()), {}, `grad aligned ${aligned} sr ${samplingRatio}`)
      }
    }
    const rotated = () => F.tensor([[0, 0, 0, 6, 4, 33], [1, 11, 8, 5, 9, -120], [1, 6, 4, 30, 30, 45], [0, 3, 3, 0.2, 0.1, 10], [3, 2, 2, 2, 2, 0]])
    const g = (t: Tensor) => roiAlignRotated(t, rotated(), { outputSize: [2, 3], spatialScale: 1 })
    await expectParity(() => [g(x()), F.grad((t: Tensor) => weighted(g(t), 5))(x())], { atol: 1e-5 }, 'rotated edges')
  })

  test('more than 1,024 rois (several bitmask chunks) and zero-size cases', async () => {
    const boxes = randomBoxes(1100, 40, 30, 1, 20, 6).map((b, i) => [i % 2, ...b])
    const f = (t: Tensor) => roiAlign(t, F.tensor(boxes), { outputSize: 2, spatialScale: 0.5 })
    await expectParity(() => [f(randn([2, 2, 15, 20], 7)), F.grad((t: Tensor) => weighted(f(t), 8))(randn([2, 2, 15, 20], 7))], {}, '1100 rois')
    await expectParity(() => [
      roiAlign(randn([2, 3, 4, 4], 9), F.zeros([0, 5]), { outputSize: 2, spatialScale: 1 }),
      F.grad((t: Tensor) => F.sum(roiAlign(t, F.zeros([0, 5]), { outputSize: 2, spatialScale: 1 })))(randn([2, 3, 4, 4], 9)),
      roiAlign(F.zeros([0, 3, 4, 4]), F.tensor([[0, 1, 1, 2, 2]]), { outputSize: 2, spatialScale: 1 }),
      roiAlignRotated(F.zeros([1, 0, 4, 4]), F.tensor([[0, 1, 1, 2, 2, 5]]), { outputSize: 2, spatialScale: 1 }),
    ], {}, 'zero-size')
  })

  test('a 1e6-element map: 64 channels of 100x168 (FPN P3 of an 800x1333 image), 60 rois at 7x7', async () => {
    const boxes = randomBoxes(60, 1333, 800, 16, 400, 10).map((b) => [0, ...b])
    const f = (t: Tensor) => roiAlign(t, F.tensor(boxes), { outputSize: 7, spatialScale: 1 / 8 })
    await expectParity(() => [f(randn([1, 64, 100, 168], 11)), F.grad((t: Tensor) => weighted(f(t), 12))(randn([1, 64, 100, 168], 11))], {}, 'P3')
  })

  test('vmap (features and rois mapped), jit of the gradient, second order', async () => {
    const rois = () => F.tensor([0, 1].map((b) => [[b, 1, 2, 9, 8], [1 - b, 0, 0, 5, 6]]))
    const f = (x: Tensor, r: Tensor) => roiAlign(x, r, { outputSize: [2, 3], spatialScale: 0.8 })
    await expectParity(() => F.vmap(f)(randn([2, 2, 3, 7, 8], 13), rois()), {}, 'vmap')
    await expectParity(() => F.jit((x: Tensor) => F.grad((t: Tensor) => weighted(roiAlignRotated(t, F.tensor([[0, 4, 3, 5, 3, 20]]), { outputSize: 3, spatialScale: 1 }), 14))(x))(randn([1, 2, 7, 8], 15)), { atol: 1e-5 }, 'jit grad')
    await expectParity(() => F.grad((x: Tensor) => F.sum(F.square(F.grad((t: Tensor) => weighted(f(t, F.tensor([[0, 1, 2, 9, 8]])), 16))(x))))(randn([1, 3, 7, 8], 17)), {}, 'second order')
  })

  test('roiPooler over four FPN levels: forward and gradient, jitted', async () => {
    const pooler = roiPooler({ outputSize: 7, scales: [1 / 4, 1 / 8, 1 / 16, 1 / 32], samplingRatio: 0, type: 'ROIAlignV2' })
    const shapes = [[2, 4, 32, 48], [2, 4, 16, 24], [2, 4, 8, 12], [2, 4, 4, 6]]
    const boxes = () => [F.tensor(randomBoxes(12, 192, 128, 4, 180, 18)), F.tensor(randomBoxes(7, 192, 128, 30, 120, 19))]
    const feats = () => shapes.map((s, i) => randn(s, 20 + i))
    const f = F.jit((fs: Tensor[], bs: Tensor[]) => {
      const g = F.grad((xs: Tensor[]) => weighted(pooler(xs, bs), 30))(fs) as Tensor[]
      return [pooler(fs, bs), ...g]
    })
    await expectParity(() => f(feats(), boxes()), {}, 'pooler')
  })
}

test.run()
