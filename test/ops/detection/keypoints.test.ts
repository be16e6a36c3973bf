/**
 * Keypoint encodings (detectron2 structures/keypoints.py `_keypoints_to_heatmap`, `heatmaps_to_keypoints`).
 * detectron2's tests/structures/test_keypoints.py only tests concatenation, so the vectors here are
 * hand-computed in comments or come from test/fixtures/detection_masks_numpy.py (a per-pixel NumPy
 * transcription of PyTorch's bicubic resize and detectron2's decoding loop).
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { assertClose, expectTensor, randn, throwsFovea } from '../../util/check.js'

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/detection_masks_numpy.json', import.meta.url), 'utf8')) as {
  heatmaps: { maps: number[][][][]; rois: number[][]; keypoints: number[][][] }
}

test('keypointsToHeatmap: cells ⌊(x − x1)·size/w⌋, the far-edge rule, visibility and outside points', async () => {
  // roi 10 wide, 20 tall, size 5: x scale ½, y scale ¼.
  const rois = F.tensor([[0, 0, 10, 20], [2, 2, 2, 6]])
  const keypoints = F.tensor([
    [[3, 7, 2], [10, 20, 1], [11, 5, 2], [-0.1, 5, 2], [3, 7, 0], [9.99, 19.99, 2]],
    // A zero-width roi: x = x2 takes the far-edge rule (cell 4, valid); any other x is ±∞ or NaN (invalid).
    [[2, 3, 2], [3, 3, 2], [1, 3, 2], [2, 6, 2], [2, 1, 2], [2, 5.9, 2]],
  ])
  const { heatmaps, valid } = D.keypointsToHeatmap(keypoints, rois, 5)
  assert.is(heatmaps.dtype, 'int32')
  assert.is(valid.dtype, 'bool')
  // (3, 7) → (1, 1) = 6; (10, 20) → far edges (4, 4) = 24; x 11 → 5 ≥ size; x −0.1 → −1; invisible; (4, 4).
  // Row 2: y 3 → ⌊1·5/4⌋ = 1 → 5 + 4 = 9; y 6 = y2 → 24; y 1 → −2; y 5.9 → ⌊4.875⌋ = 4 → 24.
  await expectTensor(heatmaps, [[6, 24, 0, 0, 0, 24], [9, 0, 0, 24, 0, 24]], { rtol: 0, atol: 0 }, [2, 6])
  await expectTensor(valid, [[1, 1, 0, 0, 0, 1], [1, 0, 0, 1, 0, 1]], { rtol: 0, atol: 0 })
})

test('keypointsToHeatmap: empty rois or keypoints give [N, K] outputs', () => {
  const a = D.keypointsToHeatmap(F.zeros([0, 17, 3]), F.zeros([0, 4]), 56)
  assert.equal([[...a.heatmaps.shape], [...a.valid.shape]], [[0, 17], [0, 17]])
  const b = D.keypointsToHeatmap(F.zeros([3, 0, 3]), F.zeros([3, 4]), 56)
  assert.equal([...b.heatmaps.shape], [3, 0])
})

test('heatmapsToKeypoints matches the NumPy transcription (upsampling, downsampling, a sub-pixel roi)', async () => {
  const { maps, rois, keypoints } = fixture.heatmaps
  await expectTensor(D.heatmapsToKeypoints(F.tensor(maps), F.tensor(rois)), keypoints, { rtol: 1e-5, atol: 1e-6 }, [3, 2, 4])
})

test('heatmapsToKeypoints at equal sizes is the plain argmax: x1 + (j + ½), score 1/Σexp(map − max)', async () => {
  const values = Array.from({ length: 16 }, (_, i) => (i * 7) % 16 / 4)
  values[6] = 9 // the peak at row 1, column 2
  const maps = F.tensor(values, { shape: [1, 1, 4, 4] })
  const total = values.reduce((s, v) => s + Math.exp(v - 9), 0)
  await expectTensor(D.heatmapsToKeypoints(maps, F.tensor([[10, 20, 14, 24]])), [[[12.5, 21.5, 9, 1 / total]]], { rtol: 1e-6 })
  // Ties go to the first cell in row-major order, as torch.argmax does; a 4.5-wide roi has 5 cells of 0.9.
  const flat = D.heatmapsToKeypoints(F.zeros([1, 1, 4, 4]), F.tensor([[0, 0, 4.5, 4]]))
  await expectTensor(flat, [[[0.45, 0.5, 0, 1 / 16]]], { rtol: 1e-6 })
})

test('heatmapsToKeypoints: empty inputs, NaN rois, no gradient, vmap', async () => {
  assert.equal([...D.heatmapsToKeypoints(F.zeros([0, 17, 56, 56]), F.zeros([0, 4])).shape], [0, 17, 4])
  assert.equal([...D.heatmapsToKeypoints(F.zeros([2, 0, 56, 56]), F.zeros([2, 4])).shape], [2, 0, 4])
  const nan = await F.toArray(D.heatmapsToKeypoints(randn([1, 2, 5, 5], 1), F.tensor([[0, 0, NaN, 3]])))
  assert.ok(nan.every(Number.isNaN))
  const maps = randn([2, 3, 6, 6], 2)
  const rois = F.tensor([[0, 0, 9, 7], [3, 1, 5, 12]])
  const g = F.grad((m: Tensor) => F.sum(D.heatmapsToKeypoints(m, rois)))(maps) as Tensor
  await expectTensor(g, new Array(216).fill(0), { rtol: 0, atol: 0 })
  const batched = F.stack([maps, F.mul(maps, -1)])
  const mapped = F.vmap((m: Tensor) => D.heatmapsToKeypoints(m, rois))(batched) as Tensor
  const loop = F.stack([D.heatmapsToKeypoints(maps, rois), D.heatmapsToKeypoints(F.mul(maps, -1), rois)])
  assertClose(await F.toArray(mapped), await F.toArray(loop), { rtol: 0, atol: 0 })
})

test('bad input names the op, shapes and dtypes', () => {
  throwsFovea(() => D.keypointsToHeatmap(F.zeros([2, 5, 2]), F.zeros([2, 4]), 56), 'keypointsToHeatmap', 'f32[2,5,2]')
  throwsFovea(() => D.keypointsToHeatmap(F.zeros([2, 5, 3]), F.zeros([2, 5]), 56), 'keypointsToHeatmap', 'rois must be f32[N, 4]', 'f32[2,5]')
  throwsFovea(() => D.keypointsToHeatmap(F.zeros([3, 5, 3]), F.zeros([2, 4]), 56), 'keypointsToHeatmap', 'f32[3,5,3], f32[2,4]')
  throwsFovea(() => D.keypointsToHeatmap(F.zeros([2, 5, 3]), F.zeros([2, 4]), 0), 'keypointsToHeatmap', 'heatmapSize', '0')
  throwsFovea(() => D.heatmapsToKeypoints(F.zeros([2, 5, 7]), F.zeros([2, 4])), 'heatmapsToKeypoints', 'f32[2,5,7]')
  throwsFovea(() => D.heatmapsToKeypoints(F.zeros([2, 5, 7, 7]), F.zeros([3, 4])), 'heatmapsToKeypoints', 'f32[2,5,7,7], f32[3,4]')
  throwsFovea(() => D.heatmapsToKeypoints(F.zeros([2, 5, 7, 7], 'int32'), F.zeros([2, 4])), 'heatmapsToKeypoints', 'i32[2,5,7,7]')
  throwsFovea(() => D.heatmapsToKeypoints(F.zeros([2, 5, 0, 7]), F.zeros([2, 4])), 'heatmapsToKeypoints', 'non-empty', 'f32[2,5,0,7]')
})

test.run()
