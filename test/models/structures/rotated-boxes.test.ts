/**
 * Rotated boxes (cx, cy, w, h, angle° CCW). "d2" vectors come from detectron2
 * tests/structures/test_rotated_boxes.py; "numpy" ones from test/fixtures/detection_numpy.py, whose
 * reference clips polygons (Sutherland–Hodgman) in float64 — a different algorithm from ours.
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import * as B from '../../../models/structures/index.js'
import { assertClose, expectTensor, rng, throwsFovea } from '../../util/check.js'

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/detection_numpy.json', import.meta.url), 'utf8'))
const iouOf = async (a: number[][], b: number[][]) => F.toArray(B.rotatedBoxIou(F.tensor(a), F.tensor(b)))
// torch.allclose defaults, which the d2 tests use.
const D2 = { rtol: 1e-5, atol: 1e-8 }

test('d2 test_pairwise_iou_0_degree and test_iou_half_overlap', async () => {
  const boxes2 = [[0.5, 0.5, 1, 1, 0], [0.25, 0.5, 0.5, 1, 0], [0.5, 0.25, 1, 0.5, 0], [0.25, 0.25, 0.5, 0.5, 0], [0.75, 0.75, 0.5, 0.5, 0], [1, 1, 1, 1, 0]]
  const row = [1, 0.5, 0.5, 0.25, 0.25, 0.25 / (2 - 0.25)]
  assertClose(await iouOf([[0.5, 0.5, 1, 1, 0], [0.5, 0.5, 1, 1, 0]], boxes2), [...row, ...row], { rtol: 1e-5, atol: 1e-7 })
  assertClose(await iouOf([[0.5, 0.5, 1, 1, 0]], [[0.25, 0.5, 0.5, 1, 0]]), [0.5], D2)
})

test('d2 test_pairwise_iou_45_degrees and test_pairwise_iou_orthogonal', async () => {
  const s = Math.SQRT2
  assertClose(await iouOf([[1, 1, s, s, 45], [1, 1, 2 * s, 2 * s, -45]], [[1, 1, 2, 2, 0]]), [0.5, 0.5], { rtol: 1e-5, atol: 1e-7 })
  assertClose(await iouOf([[5, 5, 10, 6, 55]], [[5, 5, 10, 6, -35]]), [36 / (36 + 24 + 24)], D2)
})

test('d2 precision cases: large close boxes, issue 2154, issue 2167, test_iou_precision', async () => {
  assertClose(await iouOf([[299.5, 417.370422, 600, 364.259186, 27.1828]], [[299.5, 417.370422, 600, 364.259155, 27.1828]]), [364.259155 / 364.259186], D2)
  assertClose(await iouOf([[296.6620178222656, 458.73883056640625, 23.515729904174805, 47.677001953125, 0.08795166015625]],
    [[296.66201, 458.73882000000003, 23.51573, 47.67702, 0.087951]]), [1], D2)
  assertClose(await iouOf([[2563.74462890625, 1436.7901611328125, 2174.703369140625, 214.09500122070312, 115.11834716796875]],
    [[2563.74462890625, 1436.790283203125, 2174.702880859375, 214.09495544433594, 115.11835479736328]]), [1], D2)
  assertClose(await iouOf([[565, 565, 10, 10, 0]], [[565, 565, 10, 8.3, 0]]), [0.83], D2)
})

test('d2 issue 1207 (disjoint, 0), test_iou_extreme (>= 0, finite) and 0-dim inputs', async () => {
  assertClose(await iouOf([[3, 3, 8, 2, -45]], [[6, 0, 8, 2, -45]]), [0], D2)
  assertClose(await iouOf([[160, 153, 230, 23, -37]], [[190, 127, 80, 21, -46]]), [0], D2)
  const extreme = await iouOf([[160, 153, 230, 23, -37]], [[-1.117407639806935e17, 1.3858420478349148e18, 1000.0000610351562, 1000.0000610351562, 1612]])
  assert.ok(extreme[0]! >= 0, `extreme IoU ${extreme[0]} must be >= 0`)
  assert.equal([...B.rotatedBoxIou(F.zeros([0, 5]), F.ones([10, 5])).shape], [0, 10])
  assert.equal([...B.rotatedBoxIou(F.ones([10, 5]), F.zeros([0, 5])).shape], [10, 0])
})

test('d2 test_pairwise_iou_many_boxes (100 × 200, diagonal only)', async () => {
  const b1 = Array.from({ length: 100 }, (_, i) => [5 + 20 * i, 5 + 20 * i, 10, 10, 0])
  const b2 = Array.from({ length: 200 }, (_, i) => [5 + 20 * i, 5 + 20 * i, 10, 1 + (9 * i) / 200, 0])
  const expected = new Float64Array(100 * 200)
  for (let i = 0; i < 100; i++) expected[i * 200 + i] = (1 + (9 * i) / 200) / 10
  assertClose(await iouOf(b1, b2), expected, D2)
})

test('rotatedBoxIou matches float64 polygon clipping on random pairs (identical, half-turned, far)', async () => {
  const { boxes1, boxes2, iou } = fixture.rotated
  await expectTensor(B.rotatedBoxIou(F.tensor(boxes1), F.tensor(boxes2)), iou, { rtol: 1e-4, atol: 2e-6 })
})

test('zero-area rotated boxes give 0 against everything; IoU is symmetric and <= 1', async () => {
  const a = F.tensor([[1, 1, 0, 5, 30], [2, 2, 4, 4, 10]])
  const b = F.tensor([[1, 1, 0, 5, 30], [20, 20, 3, 3, 30], [2, 2, 4, 4, 10]])
  // The zero-area box gives 0 even against itself (d2: area < 1e-14 → 0), not NaN.
  await expectTensor(B.rotatedBoxIou(a, b), [[0, 0, 0], [0, 0, 1]], { atol: 1e-6 })
  const r = rng(5)
  const rows = Array.from({ length: 12 }, () => [r() * 10, r() * 10, 1 + r() * 6, 1 + r() * 6, r() * 360 - 180])
  const ab = await iouOf(rows, rows)
  for (let i = 0; i < 12; i++) {
    for (let j = 0; j < 12; j++) {
      assert.ok(Math.abs(ab[i * 12 + j]! - ab[j * 12 + i]!) < 2e-6, `symmetric at ${i},${j}`)
      assert.ok(ab[i * 12 + j]! <= 1, 'IoU <= 1')
    }
  }
})

test('rotatedBoxArea, normalizeRotatedAngles into [-180, 180), nonemptyRotatedBoxes', async () => {
  const boxes = F.tensor([[0, 0, 2, 3, 180], [0, 0, 4, 0, -180], [0, 0, 1, 1, 540.5], [0, 0, 1, 1, -1e-6], [0, 0, 1, 1, 1799]])
  await expectTensor(B.rotatedBoxArea(boxes), [6, 0, 1, 1, 1])
  const normalized = await F.toArray(B.normalizeRotatedAngles(boxes))
  const angles = [4, 9, 14, 19, 24].map((i) => normalized[i]!)
  assertClose(angles, [-180, -180, -179.5, -1e-6, -1], { atol: 1e-4 })
  assert.ok(angles.every((a) => a >= -180 && a < 180), `angles in [-180, 180): ${angles}`)
  await expectTensor(B.nonemptyRotatedBoxes(boxes), [1, 0, 1, 1, 1])
  await expectTensor(B.nonemptyRotatedBoxes(boxes, 2), [0, 0, 0, 0, 0])
})

test('clipRotatedBoxes: near-horizontal boxes clip like Boxes.clip (d2 test_clip_area_0_degree), others stay', async () => {
  const r = rng(11)
  const rows = Array.from({ length: 50 }, () => [r() * 600 - 100, r() * 600 - 100, r() * 500, r() * 500, 0])
  const clipped = B.clipRotatedBoxes(F.tensor(rows), [500, 600])
  const xyxy = B.clipBoxes(F.tensor(rows.map(([cx, cy, w, h]) => [cx! - w! / 2, cy! - h! / 2, cx! + w! / 2, cy! + h! / 2])), [500, 600])
  assertClose(await F.toArray(B.rotatedBoxArea(clipped)), await F.toArray(B.boxArea(xyxy)), { rtol: 1e-5, atol: 1e-1 })
  // A box at 30° is only normalized; a box at 0.5° (within the default 1° threshold) is clipped.
  await expectTensor(B.clipRotatedBoxes(F.tensor([[0, 0, 10, 10, 390], [0, 0, 10, 10, 0.5]]), [100, 100]),
    [[0, 0, 10, 10, 30], [2.5, 2.5, 5, 5, 0.5]], { atol: 1e-4 })
})

test('rotatedToHorizontal is XYWHA → XYXY; scaleRotatedBoxes keeps the angle when sx = sy', async () => {
  await expectTensor(B.rotatedToHorizontal(F.tensor([[50, 50, 30, 20, 90]])), [[40, 35, 60, 65]], { atol: 1e-5 })
  await expectTensor(B.scaleRotatedBoxes(F.tensor([[10, 20, 4, 2, 30]]), 2, 2), [[20, 40, 8, 4, 30]], { atol: 1e-4 })
  // At 90° the width lies along y, so it scales by sy; the height by sx (d2 RotatedBoxes.scale comments).
  await expectTensor(B.scaleRotatedBoxes(F.tensor([[10, 20, 4, 2, 90]]), 3, 0.5), [[30, 10, 2, 6, 90]], { atol: 1e-4 })
  await expectTensor(B.scaleRotatedBoxes(F.tensor([[10, 20, 4, 2, 0]]), 3, 0.5), [[30, 10, 12, 1, 0]], { atol: 1e-4 })
})

test('rotatedBoxIou batches under vmap and runs under jit with the same values', async () => {
  const r = rng(21)
  const sets = Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => [r() * 10, r() * 10, 1 + r() * 6, 1 + r() * 6, r() * 360 - 180]))
  const other = F.tensor(Array.from({ length: 5 }, () => [r() * 10, r() * 10, 1 + r() * 6, 1 + r() * 6, r() * 360 - 180]))
  const batched = await F.toArray(F.vmap((b: F.Tensor) => B.rotatedBoxIou(b, other))(F.tensor(sets)))
  const looped = (await Promise.all(sets.map((s) => F.toArray(B.rotatedBoxIou(F.tensor(s), other))))).flatMap((a) => [...a])
  assertClose(batched, looped, { rtol: 1e-6, atol: 1e-7 })
  const jitted = await F.toArray(F.jit((a: F.Tensor, b: F.Tensor) => B.rotatedBoxIou(a, b))(F.tensor(sets[0]!), other))
  assertClose(jitted, looped.slice(0, 20), { rtol: 1e-6, atol: 1e-7 })
})

test('rotated box functions refuse the wrong width', () => {
  throwsFovea(() => B.rotatedBoxIou(F.zeros([2, 4]), F.zeros([2, 5])), 'rotatedBoxIou', 'boxes1', 'f32[N, 5]', 'f32[2,4]')
  throwsFovea(() => B.rotatedBoxArea(F.zeros([2, 4])), 'rotatedBoxArea', 'f32[2,4]')
  throwsFovea(() => B.clipRotatedBoxes(F.zeros([2, 5]), [1, -1]), 'clipRotatedBoxes', 'image size')
})

test.run()
