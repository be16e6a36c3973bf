/**
 * ROIAlign and ROIAlignRotated. "d2" vectors are detectron2 tests/layers/test_roi_align.py and
 * tests/layers/test_roi_align_rotated.py; the random cases come from test/fixtures/roi_align_numpy.py (an
 * independent NumPy formulation: dense tent-kernel weights, einsum pooling, the transpose for gradients).
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import { roiAlign, roiAlignRotated } from '../../../ops/detection/roi-align.js'
import { checkGrads, expectTensor, randn, throwsFovea } from '../../util/check.js'

type Case = {
  name: string; mode: 'aligned' | 'legacy' | 'rotated'; outputSize: [number, number]; spatialScale: number; samplingRatio: number
  features: number[]; featureShape: number[]; rois: number[][]; output: number[]; cotangent: number[]; grad: number[]
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/roi_align_numpy.json', import.meta.url), 'utf8')) as { cases: Case[] }

const arange55 = () => F.reshape(F.arange(0, 25, 1, 'float32'), [1, 1, 5, 5])
const pool = (c: Case) => (x: Tensor, rois: Tensor): Tensor => {
  const o = { outputSize: c.outputSize, spatialScale: c.spatialScale, samplingRatio: c.samplingRatio }
  return c.mode === 'rotated' ? roiAlignRotated(x, rois, o) : roiAlign(x, rois, { ...o, aligned: c.mode === 'aligned' })
}

test('d2 test_forward_output: 5x5 arange, box [1,1,3,3] to 4x4, without and with the half-pixel correction', async () => {
  const rois = F.tensor([[0, 1, 1, 3, 3]])
  await expectTensor(roiAlign(arange55(), rois, { outputSize: [4, 4], spatialScale: 1, aligned: false }),
    [[7.5, 8, 8.5, 9], [10, 10.5, 11, 11.5], [12.5, 13, 13.5, 14], [15, 15.5, 16, 16.5]], { rtol: 1e-6 }, [1, 1, 4, 4])
  await expectTensor(roiAlign(arange55(), rois, { outputSize: 4, spatialScale: 1 }),
    [[4.5, 5, 5.5, 6], [7, 7.5, 8, 8.5], [9.5, 10, 10.5, 11], [12, 12.5, 13, 13.5]], { rtol: 1e-6 }, [1, 1, 4, 4])
})

test('d2 test_resize: pooling a 2x-downsampled map with halved boxes gives the same result', async () => {
  // cv2.resize(INTER_LINEAR) to exactly half size averages 2x2 blocks, which is avgPool2d(2).
  const x = F.mul(randn([1, 1, 30, 30], 3), 100)
  const out = roiAlign(x, F.tensor([[0, 10, 10, 20, 20]]), { outputSize: 5, spatialScale: 1 })
  const out2x = roiAlign(F.avgPool2d(x, { kernelSize: 2 }), F.tensor([[0, 5, 5, 10, 10]]), { outputSize: 5, spatialScale: 1 })
  await expectTensor(out2x, await F.toArray(out), { atol: 1e-4, rtol: 1e-5 })
})

test('d2 test_empty_box: a zero-height aligned box pools zeros and passes zero gradient', async () => {
  const x = randn([1, 1, 5, 5], 4)
  const rois = F.tensor([[0, 3, 4, 5, 4]])
  const o = { outputSize: 7, spatialScale: 1 }
  await expectTensor(roiAlign(x, rois, o), new Array(49).fill(0), {}, [1, 1, 7, 7])
  const g = F.grad((t: Tensor) => F.sum(roiAlign(t, rois, o)))(x) as Tensor
  await expectTensor(g, new Array(25).fill(0))
})

test('d2 test_empty_batch: no images and no rois give f32[0,3,7,7]; no rois give f32[0,C,ph,pw]', async () => {
  const out = roiAlign(F.zeros([0, 3, 10, 10]), F.zeros([0, 5]), { outputSize: [7, 7], spatialScale: 1 })
  assert.equal([...out.shape], [0, 3, 7, 7])
  assert.is((await F.toArray(out)).length, 0)
  const x = randn([2, 4, 6, 6], 5)
  const none = roiAlignRotated(x, F.zeros([0, 6]), { outputSize: [2, 3], spatialScale: 0.5 })
  assert.equal([...none.shape], [0, 4, 2, 3])
  const g = F.grad((t: Tensor) => F.sum(roiAlign(t, F.zeros([0, 5]), { outputSize: 2, spatialScale: 1 })))(x) as Tensor
  await expectTensor(g, new Array(2 * 4 * 36).fill(0))
})

test('d2 test_forward_output_0_90_180_270 (rotated): the result turns clockwise as the box turns counter-clockwise', async () => {
  const base = [[4.5, 5, 5.5, 6], [7, 7.5, 8, 8.5], [9.5, 10, 10.5, 11], [12, 12.5, 13, 13.5]]
  const rot90cw = (m: number[][]): number[][] => m[0]!.map((_, j) => m.map((row) => row[j]!).reverse())
  let expected = base
  for (let i = 0; i < 4; i++) {
    const out = roiAlignRotated(arange55(), F.tensor([[0, 2, 2, 2, 2, 90 * i]]), { outputSize: [4, 4], spatialScale: 1 })
    await expectTensor(out, expected, { rtol: 1e-5, atol: 1e-5 }, [1, 1, 4, 4])
    expected = rot90cw(expected)
  }
})

test('d2 test_empty_box (rotated): a 0x0 rotated box pools zeros', async () => {
  const out = roiAlignRotated(randn([1, 1, 5, 5], 6), F.tensor([[0, 2, 3, 0, 0, 0]]), { outputSize: [7, 7], spatialScale: 1 })
  await expectTensor(out, new Array(49).fill(0))
})

test('d2 test_roi_align_rotated_gradient: unrotated ROIAlignRotated equals ROIAlign, values and gradients', async () => {
  const x = randn([1, 1, 10, 10], 7)
  const axis = F.tensor([[0, 0, 0, 9, 9], [0, 0, 5, 4, 9], [0, 5, 5, 9, 9]])
  const rotated = F.tensor([[0, 4.5, 4.5, 9, 9, 0], [0, 2, 7, 4, 4, 0], [0, 7, 7, 4, 4, 0]])
  const o = { outputSize: 5, spatialScale: 1, samplingRatio: 2 }
  await expectTensor(roiAlignRotated(x, rotated, o), await F.toArray(roiAlign(x, axis, o)), { rtol: 1e-5, atol: 1e-6 })
  const g1 = F.grad((t: Tensor) => F.sum(roiAlign(t, axis, o)))(x) as Tensor
  const g2 = F.grad((t: Tensor) => F.sum(roiAlignRotated(t, rotated, o)))(x) as Tensor
  await expectTensor(g2, await F.toArray(g1), { rtol: 1e-5, atol: 1e-6 })
})

for (const c of fixture.cases) {
  test(`NumPy reference (${c.name}): values and the transposed gradient`, async () => {
    const x = F.tensor(c.features, { shape: c.featureShape })
    const rois = F.tensor(c.rois)
    const [out, back] = F.vjp((t: Tensor) => pool(c)(t, rois), x)
    await expectTensor(out as Tensor, c.output, { rtol: 1e-5, atol: 1e-6 }, [c.rois.length, c.featureShape[1]!, ...c.outputSize])
    const [g] = back(F.tensor(c.cotangent, { shape: out.shape })) as Tensor[]
    await expectTensor(g!, c.grad, { rtol: 1e-5, atol: 1e-6 }, c.featureShape)
  })
}

const fd = fixture.cases[0]!
test('checkGrads: roiAlign w.r.t. the features (rois fixed), second order through the primitive pair', async () => {
  const rois = F.tensor(fd.rois)
  for (const aligned of [true, false]) {
    await checkGrads((t) => roiAlign(t, rois, { outputSize: [3, 2], spatialScale: 0.5, aligned }), [randn([2, 3, 9, 11], 8)], { secondOrder: true })
  }
})

test('checkGrads: roiAlignRotated w.r.t. the features (rois fixed), second order', async () => {
  const rois = F.tensor(fixture.cases[3]!.rois)
  await checkGrads((t) => roiAlignRotated(t, rois, { outputSize: 3, spatialScale: 0.5, samplingRatio: 2 }), [randn([1, 2, 10, 12], 9)], { secondOrder: true })
})

test('rois get no gradient (as in detectron2), features do', async () => {
  const x = randn([1, 2, 6, 6], 10)
  const rois = F.tensor([[0, 1, 1, 8, 9], [0, 2.5, 0, 4, 6]])
  const [gx, gr] = F.grad((t: Tensor, r: Tensor) => F.sum(F.square(roiAlign(t, r, { outputSize: 2, spatialScale: 0.5 }))), { argnums: [0, 1] })(x, rois) as Tensor[]
  await expectTensor(gr!, new Array(10).fill(0))
  assert.ok((await F.toArray(F.sum(F.abs(gx!)))).every((v) => v > 0))
})

test('rois whose batch index is outside [0, N) pool zeros; a fractional index truncates toward zero', async () => {
  const x = randn([2, 1, 6, 6], 11)
  const o = { outputSize: 2, spatialScale: 1 }
  const out = await F.toArray(roiAlign(x, F.tensor([[-1, 0, 0, 4, 4], [2, 0, 0, 4, 4], [Number.NaN, 0, 0, 4, 4], [-0.5, 0, 0, 4, 4], [1.9, 0, 0, 4, 4]]), o))
  assert.equal([...out.slice(0, 12)], new Array(12).fill(0))
  await expectTensor(F.tensor(Array.from(out.slice(12, 16))), await F.toArray(roiAlign(x, F.tensor([[0, 0, 0, 4, 4]]), o)))
  await expectTensor(F.tensor(Array.from(out.slice(16, 20))), await F.toArray(roiAlign(x, F.tensor([[1, 0, 0, 4, 4]]), o)))
})

test('NaN coordinates read nothing (torchvision: NaN samples take the out-of-range branch)', async () => {
  const out = roiAlign(randn([1, 1, 4, 4], 12), F.tensor([[0, Number.NaN, 0, 2, 2]]), { outputSize: 2, spatialScale: 1, samplingRatio: 2 })
  await expectTensor(out, [0, 0, 0, 0])
})

test('vmap over features, over rois, and over both equals a loop; jit equals eager', async () => {
  const xs = randn([3, 2, 2, 7, 8], 13)
  const rs = F.tensor([0, 1, 2].map((b) => [[b % 2, 1 + b, 2, 9, 10 + b], [1 - (b % 2), 0, 0, 6, 5], [-1, 0, 0, 4, 4]]))
  const o = { outputSize: [2, 3] as [number, number], spatialScale: 0.7, samplingRatio: 0 }
  const f = (x: Tensor, r: Tensor): Tensor => roiAlign(x, r, o)
  const loop = (pick: (b: number) => [Tensor, Tensor]) => F.stack([0, 1, 2].map((b) => f(...pick(b))), 0)
  const at = (t: Tensor, b: number) => F.reshape(F.slice(t, [b, ...t.shape.slice(1).map(() => 0)], [b + 1, ...t.shape.slice(1)]), t.shape.slice(1))
  await expectTensor(F.vmap(f, [0, null])(xs, at(rs, 0)) as Tensor, await F.toArray(loop((b) => [at(xs, b), at(rs, 0)])))
  await expectTensor(F.vmap(f, [null, 0])(at(xs, 1), rs) as Tensor, await F.toArray(loop((b) => [at(xs, 1), at(rs, b)])))
  await expectTensor(F.vmap(f)(xs, rs) as Tensor, await F.toArray(loop((b) => [at(xs, b), at(rs, b)])))
  const gradLoop = F.stack([0, 1, 2].map((b) => F.grad((x: Tensor) => F.sum(F.square(f(x, at(rs, b)))))(at(xs, b)) as Tensor), 0)
  await expectTensor(F.vmap(F.grad((x: Tensor, r: Tensor) => F.sum(F.square(f(x, r)))))(xs, rs) as Tensor, await F.toArray(gradLoop), { rtol: 1e-5, atol: 1e-6 })
  const jitted = F.jit((x: Tensor, r: Tensor) => F.grad((t: Tensor) => F.sum(F.square(f(t, r))))(x))
  await expectTensor(jitted(at(xs, 2), at(rs, 2)) as Tensor, await F.toArray(at(gradLoop, 2)), { rtol: 1e-6, atol: 1e-7 })
})

test('bad input: rois without the batch column, wrong dtypes and ranks, bad options', () => {
  const x = randn([1, 2, 5, 5], 14)
  throwsFovea(() => roiAlign(x, F.tensor([[1, 1, 3, 3], [0, 0, 2, 2], [1, 1, 4, 4]]), { outputSize: 2, spatialScale: 1 }),
    'roiAlign', 'f32[K,5]', 'f32[3,4]', 'f32[1,2,5,5]', 'batch-index column is missing')
  throwsFovea(() => roiAlignRotated(x, F.tensor([[2, 2, 2, 2, 30]]), { outputSize: 2, spatialScale: 1 }),
    'roiAlignRotated', 'f32[K,6]', 'f32[1,5]', 'batch-index column is missing')
  throwsFovea(() => roiAlign(x, F.tensor([[0, 1, 1, 3, 3]], { dtype: 'int32' }), { outputSize: 2, spatialScale: 1 }), 'roiAlign', 'i32[1,5]')
  throwsFovea(() => roiAlign(F.reshape(x, [2, 5, 5]), F.tensor([[0, 1, 1, 3, 3]]), { outputSize: 2, spatialScale: 1 }), 'roiAlign', 'f32[N,C,H,W]', 'f32[2,5,5]')
  throwsFovea(() => roiAlign(x, F.tensor([[0, 1, 1, 3, 3]]), { outputSize: [2, 0], spatialScale: 1 }), 'roiAlign', 'outputSize')
  throwsFovea(() => roiAlign(x, F.tensor([[0, 1, 1, 3, 3]]), { outputSize: 2, spatialScale: 0 }), 'roiAlign', 'spatialScale')
  throwsFovea(() => roiAlign(x, F.tensor([[0, 1, 1, 3, 3]]), { outputSize: 2, spatialScale: 1, samplingRatio: 1.5 }), 'roiAlign', 'samplingRatio')
})

test.run()
