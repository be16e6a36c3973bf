/**
 * Deformable convolution v1/v2. The arange 5×5 vector is detectron2 tests/layers/test_deformable.py
 * (test_forward_output / test_forward_output_on_cpu, and its wrong-channel checks in
 * test_raise_exception); the random cases come from test/fixtures/detection_masks_numpy.py, a per-point
 * NumPy transcription of torchvision's deform_conv2d.
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { deformSample } from '../../../ops/detection/deform-sample.js'
import { assertClose, checkGrads, expectTensor, randn, rng, throwsFovea, uniform } from '../../util/check.js'

type DeformCase = {
  x: number[][][][]; offset: number[][][][]; weight: number[][][][]; mask?: number[][][][]; y: number[][][][]
  stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number; deformableGroups: number
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/detection_masks_numpy.json', import.meta.url), 'utf8')) as { deform: DeformCase[] }

/**
 * Offsets whose sample points stay at least 0.2 away from every grid line (integer y or x, which
 * includes the image's −1 and H cut-offs), so that finite differences of size ≤ 0.05 never cross a kink
 * of the piecewise-bilinear sampling.
 */
const offTheGrid = (shape: number[], seed: number, spread = 2): Tensor => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Float32Array.from({ length: n }, () => Math.round((r() - 0.5) * 2 * spread) + 0.2 + 0.6 * r()), { shape })
}

test('d2 test_forward_output: arange 5×5, offsets 0.5, 3×3 ones (v1), and mask 0.5 halves it (v2)', async () => {
  const x = F.reshape(F.arange(0, 25, 1, 'float32'), [1, 1, 5, 5])
  const offset = F.full([1, 18, 5, 5], 0.5)
  const w = F.ones([1, 1, 3, 3])
  const expected = [
    [30, 41.25, 48.75, 45, 28.75],
    [62.25, 81, 90, 80.25, 50.25],
    [99.75, 126, 135, 117.75, 72.75],
    [105, 131.25, 138.75, 120, 73.75],
    [71.75, 89.25, 93.75, 80.75, 49.5],
  ]
  await expectTensor(D.deformConv2d(x, offset, w, { padding: 1 }), expected, { rtol: 1e-6 }, [1, 1, 5, 5])
  const mask = F.full([1, 9, 5, 5], 0.5)
  await expectTensor(D.deformConv2d(x, offset, w, { padding: 1 }, mask), expected.map((r) => r.map((v) => v / 2)), { rtol: 1e-6 })
})

test('matches the NumPy transcription: groups, deformable groups, stride, padding, dilation, far offsets', async () => {
  for (const c of fixture.deform) {
    const y = D.deformConv2d(F.tensor(c.x), F.tensor(c.offset), F.tensor(c.weight),
      { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, deformableGroups: c.deformableGroups },
      c.mask ? F.tensor(c.mask) : undefined)
    await expectTensor(y, c.y, { rtol: 1e-5, atol: 1e-5 }, [c.y.length, c.y[0]!.length, c.y[0]![0]!.length, c.y[0]![0]![0]!.length])
  }
})

test('zero offsets (and a mask of ones) equal conv2d', async () => {
  const configs = [
    { stride: 1, padding: 1, dilation: 1, groups: 1, deformableGroups: 1, k: [3, 3] },
    { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2, deformableGroups: 2, k: [3, 2] },
    { stride: 2, padding: 0, dilation: 2, groups: 1, deformableGroups: 4, k: [2, 3] },
  ] as const
  for (const [i, cfg] of configs.entries()) {
    const x = randn([2, 4, 9, 8], 10 + i)
    const w = randn([6, 4 / cfg.groups, ...cfg.k], 20 + i)
    const reference = F.conv2d(x, w, { stride: cfg.stride, padding: cfg.padding, dilation: cfg.dilation, groups: cfg.groups })
    const [, , ho, wo] = reference.shape as number[]
    const kk = cfg.k[0] * cfg.k[1]
    const offset = F.zeros([2, 2 * cfg.deformableGroups * kk, ho!, wo!])
    const mask = F.ones([2, cfg.deformableGroups * kk, ho!, wo!])
    const expected = await F.toArray(reference)
    assertClose(await F.toArray(D.deformConv2d(x, offset, w, cfg)), expected, { rtol: 1e-5, atol: 1e-5 }, JSON.stringify(cfg))
    assertClose(await F.toArray(D.deformConv2d(x, offset, w, cfg, mask)), expected, { rtol: 1e-5, atol: 1e-5 }, `${JSON.stringify(cfg)} masked`)
  }
})

test('an integer offset shifts the image: Δ = (1, −2) everywhere reads x[h + 1, w − 2] (zero outside)', async () => {
  const x = randn([1, 1, 6, 7], 3)
  const offset = F.reshape(F.broadcastTo(F.reshape(F.tensor([1, -2]), [1, 1, 2, 1, 1]), [1, 1, 2, 6, 7]), [1, 2, 6, 7])
  const y = await F.toArray(D.deformConv2d(x, offset, F.ones([1, 1, 1, 1])))
  const xs = await F.toArray(x)
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 7; j++) {
      const [si, sj] = [i + 1, j - 2]
      assert.ok(Math.abs(y[i * 7 + j]! - (si < 6 && sj >= 0 ? xs[si * 7 + sj]! : 0)) < 1e-6, `(${i}, ${j})`)
    }
  }
})

test('samples at −1 < y < 0 blend with the zero padding; y ≤ −1 reads 0 (torchvision bilinear_interpolate)', async () => {
  const x = F.full([1, 1, 2, 2], 4)
  const at = async (dy: number, dx: number) => (await F.toArray(D.deformConv2d(x, F.reshape(F.tensor([dy, dy, dy, dy, dx, dx, dx, dx]), [1, 2, 2, 2]), F.ones([1, 1, 1, 1]))))[0]!
  assert.ok(Math.abs((await at(-0.25, 0)) - 3) < 1e-6)
  assert.ok(Math.abs((await at(-0.5, -0.5)) - 1) < 1e-6)
  assert.is(await at(-1, 0), 0)
  assert.is(await at(0, 2), 0)
  assert.ok(Math.abs((await at(0, 1.5)) - 2) < 1e-6)
})

test('gradients in x, offset, mask and weight match finite differences (v1 and v2, groups and deformable groups)', async () => {
  const x = randn([1, 4, 5, 6], 1)
  const w = randn([4, 2, 3, 3], 2, 0.5)
  const opts = { padding: 1, groups: 2, deformableGroups: 2, stride: [1, 2] as const }
  const offset = offTheGrid([1, 36, 5, 3], 3)
  const mask = uniform([1, 18, 5, 3], 4, 0.2, 1)
  await checkGrads((a, o, ww) => D.deformConv2d(a, o, ww, opts), [x, offset, w], { eps: 5e-3 })
  await checkGrads((a, o, ww, m) => D.deformConv2d(a, o, ww, opts, m), [x, offset, w, mask], { eps: 5e-3 })
})

test('second order: grad of grad in x and offset (exercises the ∂/∂y∂x mode and the transpose rules)', async () => {
  const x = randn([1, 2, 4, 4], 5)
  const w = randn([2, 2, 2, 2], 6, 0.5)
  const offset = offTheGrid([1, 8, 5, 4], 7, 1)
  await checkGrads((a, o) => D.deformConv2d(a, o, w, { padding: 1, dilation: [1, 2] } as const), [x, offset], { eps: 5e-3, secondOrder: true })
})

test('deformSample is linear in x: its transpose is the adjoint (⟨S x, c⟩ = ⟨x, Sᵀ c⟩)', async () => {
  const x = randn([2, 3, 5, 4], 8)
  const offset = randn([2, 2 * 3 * 4, 5, 4], 9, 1.5)
  const p = { kernel: [2, 2], stride: [1, 1], padding: [1, 0], dilation: [1, 1], deformableGroups: 3 } as const
  const cols = randn([2, 3, 4, 20], 10)
  const [y, back] = F.vjp((t: Tensor) => deformSample(t, offset, p), x)
  const lhs = await F.item(F.sum(F.mul(y as Tensor, cols)))
  const rhs = await F.item(F.sum(F.mul(x, (back(cols) as Tensor[])[0]!)))
  assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`)
})

test('vmap over offsets (and over weights and masks) equals a loop', async () => {
  const x = randn([1, 2, 5, 5], 11)
  const w = randn([3, 2, 3, 3], 12)
  const offsets = randn([3, 1, 18, 5, 5], 13)
  const mapped = F.vmap((o: Tensor) => D.deformConv2d(x, o, w, { padding: 1 }))(offsets) as Tensor
  assert.equal([...mapped.shape], [3, 1, 3, 5, 5])
  const loop = F.stack([0, 1, 2].map((i) => D.deformConv2d(x, F.reshape(F.slice(offsets, [i, 0, 0, 0, 0], [i + 1, 1, 18, 5, 5]), [1, 18, 5, 5]), w, { padding: 1 })))
  assertClose(await F.toArray(mapped), await F.toArray(loop), { rtol: 1e-6, atol: 1e-6 })
  // Batched weights and masks too (the weight batch goes through matmul's batching rule).
  const ws = randn([3, 3, 2, 3, 3], 14)
  const masks = uniform([3, 1, 9, 5, 5], 15)
  const both = F.vmap((o: Tensor, ww: Tensor, m: Tensor) => D.deformConv2d(x, o, ww, { padding: 1 }, m))(offsets, ws, masks) as Tensor
  const pick = (t: Tensor, i: number) => F.reshape(F.slice(t, [i, ...t.shape.slice(1).map(() => 0)], [i + 1, ...t.shape.slice(1)]), t.shape.slice(1))
  const loop2 = F.stack([0, 1, 2].map((i) => D.deformConv2d(x, pick(offsets, i), pick(ws, i), { padding: 1 }, pick(masks, i))))
  assertClose(await F.toArray(both), await F.toArray(loop2), { rtol: 1e-5, atol: 1e-5 })
})

test('empty batch and empty channels give correctly shaped outputs and gradients', async () => {
  const y = D.deformConv2d(F.zeros([0, 2, 5, 5]), F.zeros([0, 18, 5, 5]), F.ones([4, 2, 3, 3]), { padding: 1 })
  assert.equal([...y.shape], [0, 4, 5, 5])
  const g = F.grad((w: Tensor) => F.sum(D.deformConv2d(F.zeros([0, 2, 5, 5]), F.zeros([0, 18, 5, 5]), w, { padding: 1 })))(F.ones([4, 2, 3, 3])) as Tensor
  await expectTensor(g, new Array(72).fill(0), {}, [4, 2, 3, 3])
  assert.equal([...D.deformConv2d(F.zeros([1, 2, 4, 4]), F.zeros([1, 2, 4, 4]), F.zeros([0, 2, 1, 1])).shape], [1, 0, 4, 4])
})

test('bad input: offset/mask channels (d2 test_raise_exception), ranks, dtypes, groups, output size', () => {
  const x = randn([1, 1, 3, 3], 1)
  const w = randn([1, 1, 3, 3], 2)
  throwsFovea(() => D.deformConv2d(x, randn([1, 9, 3, 3], 3), w, { padding: 1 }), 'deformConv2d', 'offset must be [1,18,3,3]', 'f32[1,9,3,3]')
  throwsFovea(() => D.deformConv2d(x, randn([1, 18, 3, 3], 3), w, { padding: 1 }, F.ones([1, 18, 3, 3])), 'deformConv2d', 'mask must be [1,9,3,3]', 'f32[1,18,3,3]')
  throwsFovea(() => D.deformConv2d(F.zeros([1, 3, 3], 'float32'), randn([1, 18, 3, 3], 3), w), 'deformConv2d', 'x [N,C,H,W] must be 4-D', 'f32[1,3,3]')
  throwsFovea(() => D.deformConv2d(F.zeros([1, 1, 3, 3], 'int32'), randn([1, 18, 1, 1], 3), w), 'deformConv2d', 'i32[1,1,3,3]')
  throwsFovea(() => D.deformConv2d(randn([1, 3, 5, 5], 1), randn([1, 18, 5, 5], 3), randn([2, 3, 3, 3], 2), { padding: 1, groups: 2 }), 'deformConv2d', 'groups=2', 'f32[1,3,5,5]')
  throwsFovea(() => D.deformConv2d(randn([1, 3, 5, 5], 1), randn([1, 36, 5, 5], 3), randn([2, 3, 3, 3], 2), { padding: 1, deformableGroups: 2 }), 'deformConv2d', 'deformableGroups=2')
  throwsFovea(() => D.deformConv2d(randn([1, 1, 2, 2], 1), randn([1, 18, 1, 1], 3), w), 'deformConv2d', 'output size 0×0 is empty', 'f32[1,1,2,2]')
})

test('d2 test_small_input: an input smaller than the kernel keeps its size with padding k//2', async () => {
  for (const k of [3, 5]) {
    const x = uniform([1, 1, k - 1, k - 1], k)
    const offset = randn([1, 2 * k * k, k - 1, k - 1], k + 1)
    const y = D.deformConv2d(x, offset, randn([1, 1, k, k], k + 2), { padding: Math.floor(k / 2) }, F.ones([1, k * k, k - 1, k - 1]))
    assert.equal([...y.shape], [1, 1, k - 1, k - 1])
  }
})

test.run()
