/**
 * Axis-aligned boxes: detectron2's Boxes methods and pairwise IoU/IoA. Vectors marked "d2" come from
 * detectron2 tests/structures/test_boxes.py; "numpy" ones from test/fixtures/detection_numpy.py.
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import * as B from '../../../models/structures/index.js'
import { checkGrads, expectTensor, throwsFovea } from '../../util/check.js'

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/detection_numpy.json', import.meta.url), 'utf8'))

// d2 TestBoxIOU.create_boxes
const d2Boxes1 = () => F.tensor([[0, 0, 1, 1], [0, 0, 1, 1]])
const d2Boxes2 = () => F.tensor([[0, 0, 1, 1], [0, 0, 0.5, 1], [0, 0, 1, 0.5], [0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1], [0.5, 0.5, 1.5, 1.5]])

test('boxIou and boxIoa match detectron2 test_pairwise_iou / test_pairwise_ioa', async () => {
  const row = [1, 0.5, 0.5, 0.25, 0.25, 0.25 / (2 - 0.25)]
  await expectTensor(B.boxIou(d2Boxes1(), d2Boxes2()), [row, row], {}, [2, 6])
  const ioa = [1, 1, 1, 1, 1, 0.25]
  await expectTensor(B.boxIoa(d2Boxes1(), d2Boxes2()), [ioa, ioa], {}, [2, 6])
})

test('boxIou and boxIoa match float64 NumPy on random, touching and zero-width boxes', async () => {
  const { boxes1, boxes2, iou, ioa } = fixture.iou
  await expectTensor(B.boxIou(F.tensor(boxes1), F.tensor(boxes2)), iou, { rtol: 1e-5, atol: 1e-6 })
  await expectTensor(B.boxIoa(F.tensor(boxes1), F.tensor(boxes2)), ioa, { rtol: 1e-5, atol: 1e-6 })
})

test('zero-area and disjoint pairs give 0, never NaN (values and gradients)', async () => {
  const point = F.tensor([[2, 2, 2, 2], [0, 0, 0, 5]])
  const iou = await F.toArray(B.boxIou(point, point))
  assert.equal([...iou], [0, 0, 0, 0])
  await expectTensor(B.boxIoa(F.tensor([[0, 0, 4, 4]]), point), [[0, 0]])
  const g = F.grad((a: F.Tensor) => F.sum(B.boxIou(a, point)))(point)
  assert.ok([...(await F.toArray(g))].every((v) => v === 0), 'gradient through zero-area pairs is 0')
  // Touching on an edge: intersection 0, IoU 0 exactly.
  await expectTensor(B.boxIou(F.tensor([[0, 0, 1, 1]]), F.tensor([[1, 0, 2, 1]])), [[0]])
})

test('boxIou with 0 boxes on either side keeps the static shape', () => {
  assert.equal([...B.boxIou(F.zeros([0, 4]), d2Boxes2()).shape], [0, 6])
  assert.equal([...B.boxIou(d2Boxes1(), F.zeros([0, 4])).shape], [2, 0])
  assert.equal([...B.boxIoa(F.zeros([0, 4]), F.zeros([0, 4])).shape], [0, 0])
  assert.equal([...B.boxArea(F.zeros([0, 4])).shape], [0])
})

test('boxIou gradients match finite differences', async () => {
  const a = F.tensor([[0, 0, 2, 3], [1, 1, 4, 3.5]])
  const b = F.tensor([[0.5, 0.2, 2.5, 2.8], [1.2, 0.4, 3, 4], [-1, -1, 1.5, 1.2]])
  await checkGrads((x, y) => B.boxIou(x, y), [a, b], { eps: 1e-3 })
  await checkGrads((x, y) => B.matchedBoxIou(x, y), [a, F.slice(b, [0], [2])], { eps: 1e-3 })
})

test('matchedBoxIou is the diagonal of boxIou', async () => {
  const a = F.tensor(fixture.iou.boxes1.slice(0, 5))
  const b = F.tensor(fixture.iou.boxes2.slice(0, 5))
  const diag = fixture.iou.iou.slice(0, 5).map((r: number[], i: number) => r[i])
  await expectTensor(B.matchedBoxIou(a, b), diag, { rtol: 1e-5, atol: 1e-6 })
})

test('boxArea, clipBoxes (boxes outside the image), nonemptyBoxes at the threshold, scale, centres, insideBox', async () => {
  const boxes = F.tensor([[-5, -2, 3, 4], [10, 12, 30, 25], [2, 3, 2, 9], [1, 1, 1.5, 3]])
  await expectTensor(B.boxArea(boxes), [48, 260, 0, 1])
  // size is (height, width) = (20, 15): x clamps to [0, 15], y to [0, 20]; a box entirely outside collapses.
  await expectTensor(B.clipBoxes(boxes, [20, 15]), [[0, 0, 3, 4], [10, 12, 15, 20], [2, 3, 2, 9], [1, 1, 1.5, 3]])
  await expectTensor(B.clipBoxes(F.tensor([[30, 40, 50, 60]]), [20, 15]), [[15, 20, 15, 20]])
  // A side exactly equal to the threshold counts as empty (strict >).
  await expectTensor(B.nonemptyBoxes(boxes), [1, 1, 0, 1])
  await expectTensor(B.nonemptyBoxes(boxes, 0.5), [1, 1, 0, 0])
  await expectTensor(B.scaleBoxes(boxes, 2, 0.5), [[-10, -1, 6, 2], [20, 6, 60, 12.5], [4, 1.5, 4, 4.5], [2, 0.5, 3, 1.5]])
  await expectTensor(B.boxCenters(boxes), [[-1, 1], [20, 18.5], [2, 6], [1.25, 2]])
  await expectTensor(B.insideBox(boxes, [20, 40]), [0, 0, 1, 1])
  await expectTensor(B.insideBox(boxes, [20, 40], 6), [1, 1, 1, 1])
})

test('convertBoxMode follows detectron2 test_boxes.py TestBoxMode', async () => {
  const xyxy = F.tensor([[5, 5, 10, 10], [1, 1, 2, 3]])
  await expectTensor(B.convertBoxMode(xyxy, 'XYXY_ABS', 'XYWH_ABS'), [[5, 5, 5, 5], [1, 1, 1, 2]])
  await expectTensor(B.convertBoxMode(F.tensor([[5, 5, 5, 5], [1, 1, 1, 2]]), 'XYWH_ABS', 'XYXY_ABS'), [[5, 5, 10, 10], [1, 1, 2, 3]])
  // d2 test_box_convert_xywha_to_xyxy_array
  const xywha = F.tensor([[50, 50, 30, 20, 0], [50, 50, 30, 20, 90], [1, 1, Math.SQRT2, Math.SQRT2, -45]])
  await expectTensor(B.convertBoxMode(xywha, 'XYWHA_ABS', 'XYXY_ABS'), [[35, 40, 65, 60], [40, 35, 60, 65], [0, 0, 2, 2]], { atol: 1e-5 })
  // d2 test_box_convert_xywh_to_xywha_array
  const xywh = F.tensor([[30, 40, 70, 60], [30, 40, 60, 70], [-1, -1, 2, 2]])
  await expectTensor(B.convertBoxMode(xywh, 'XYWH_ABS', 'XYWHA_ABS'), [[65, 70, 70, 60, 0], [60, 75, 60, 70, 0], [0, 0, 2, 2, 0]])
  assert.is(B.convertBoxMode(xyxy, 'XYXY_ABS', 'XYXY_ABS'), xyxy)
  throwsFovea(() => B.convertBoxMode(xyxy, 'XYXY_ABS', 'XYWHA_ABS'), 'convertBoxMode', 'XYXY_ABS to XYWHA_ABS', 'not supported')
  throwsFovea(() => B.convertBoxMode(xyxy, 'XYXY_REL' as B.BoxMode, 'XYWH_ABS'), 'convertBoxMode', 'XYXY_REL')
  throwsFovea(() => B.convertBoxMode(xyxy, 'XYWHA_ABS', 'XYXY_ABS'), 'convertBoxMode', 'f32[..., 5]', 'f32[2,4]')
})

test('bad boxes are refused with the op, shapes and dtypes', () => {
  throwsFovea(() => B.boxIou(F.zeros([3, 5]), F.zeros([2, 4])), 'boxIou', 'boxes1', 'f32[N, 4]', 'f32[3,5]')
  throwsFovea(() => B.boxIou(F.zeros([3, 4]), F.zeros([4])), 'boxIou', 'boxes2', 'f32[4]')
  throwsFovea(() => B.boxIoa(F.zeros([3, 4], 'int32'), F.zeros([2, 4])), 'boxIoa', 'i32[3,4]')
  throwsFovea(() => B.boxArea(F.zeros([3, 3])), 'boxArea', 'f32[3,3]')
  throwsFovea(() => B.clipBoxes(F.zeros([3, 4]), [10] as unknown as [number, number]), 'clipBoxes', 'image size', 'f32[3,4]')
  throwsFovea(() => B.matchedBoxIou(F.zeros([3, 4]), F.zeros([2, 4])), 'matchedBoxIou', 'f32[3,4]', 'f32[2,4]')
})

test('box functions batch under vmap', async () => {
  const shifted = F.add(d2Boxes1(), 0.5)
  const out = F.vmap((x: F.Tensor) => B.boxIou(x, d2Boxes2()))(F.stack([d2Boxes1(), shifted]))
  assert.equal([...out.shape], [2, 2, 6])
  const expected = [...(await F.toArray(B.boxIou(d2Boxes1(), d2Boxes2()))), ...(await F.toArray(B.boxIou(shifted, d2Boxes2())))]
  await expectTensor(out, expected)
})

test.run()
