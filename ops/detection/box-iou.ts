/**
 * Areas and pairwise overlaps of axis-aligned boxes `f32[N,4]` in absolute XYXY (no legacy +1), as
 * compositions of elementwise ops: they run on every backend, batch under vmap and differentiate.
 */
import type { Tensor } from '../../core/tensor.js'
import { div, greater, maximum, minimum, mul, sub, add, where } from '../elementwise/binary.js'
import { expectBoxes, expectSameShape } from './checks.js'
import { asColumn, asRow, unbindLast } from './columns.js'

/**
 * Area `(x2 - x1) * (y2 - y1)` of each box (detectron2 `Boxes.area`; an inverted box has a negative
 * area, as there). boxes: f32[..., 4] → f32[...]
 */
export const boxArea = (boxes: Tensor): Tensor => {
  expectBoxes('boxArea', boxes, 4, true)
  const [x1, y1, x2, y2] = unbindLast(boxes)
  return mul(sub(x2!, x1!), sub(y2!, y1!))
}

/** Per-pair overlap widths and heights, clamped at 0, plus both area vectors. */
const overlap = (op: string, a: Tensor, b: Tensor): { inter: Tensor; areaA: Tensor; areaB: Tensor } => {
  expectBoxes(op, a, 4, false, 'boxes1')
  expectBoxes(op, b, 4, false, 'boxes2')
  const [ax1, ay1, ax2, ay2] = unbindLast(a).map(asColumn)
  const [bx1, by1, bx2, by2] = unbindLast(b).map(asRow)
  const w = maximum(sub(minimum(ax2!, bx2!), maximum(ax1!, bx1!)), 0)
  const h = maximum(sub(minimum(ay2!, by2!), maximum(ay1!, by1!)), 0)
  return { inter: mul(w, h), areaA: boxArea(a), areaB: boxArea(b) }
}

/**
 * Intersection area of every pair (detectron2 `pairwise_intersection`).
 * boxes1: f32[N,4], boxes2: f32[M,4] → f32[N,M]
 */
export const boxIntersection = (boxes1: Tensor, boxes2: Tensor): Tensor => overlap('boxIntersection', boxes1, boxes2).inter

/**
 * `num / den` where `inter > 0`, else 0. The denominator is replaced by 1 off the mask so that neither the
 * value nor the gradient ever sees 0/0 (the double-`where` trick): zero-area and disjoint pairs give 0,
 * not NaN, as detectron2's `torch.where(inter > 0, ..., 0)`.
 */
const ratioWhereOverlapping = (inter: Tensor, den: Tensor): Tensor => {
  const overlapping = greater(inter, 0)
  return where(overlapping, div(inter, where(overlapping, den, 1)), 0)
}

/**
 * Intersection over union of every pair (detectron2 `pairwise_iou`); pairs that do not overlap,
 * zero-area boxes included, give exactly 0. boxes1: f32[N,4], boxes2: f32[M,4] → f32[N,M]
 */
export const boxIou = (boxes1: Tensor, boxes2: Tensor): Tensor => {
  const { inter, areaA, areaB } = overlap('boxIou', boxes1, boxes2)
  return ratioWhereOverlapping(inter, sub(add(asColumn(areaA), asRow(areaB)), inter))
}

/**
 * Intersection over the area of the second box (detectron2 `pairwise_ioa`, e.g. how much of a crowd
 * region a proposal covers); 0 where the pair does not overlap. boxes1: f32[N,4], boxes2: f32[M,4] → f32[N,M]
 */
export const boxIoa = (boxes1: Tensor, boxes2: Tensor): Tensor => {
  const { inter, areaB } = overlap('boxIoa', boxes1, boxes2)
  return ratioWhereOverlapping(inter, asRow(areaB))
}

/**
 * IoU of matched pairs, row i of `boxes1` with row i of `boxes2` (detectron2 `matched_boxlist_iou`),
 * with the same 0-where-disjoint rule as `boxIou`. boxes1, boxes2: f32[..., 4] → f32[...]
 */
export const matchedBoxIou = (boxes1: Tensor, boxes2: Tensor): Tensor => {
  expectBoxes('matchedBoxIou', boxes1, 4, true, 'boxes1')
  expectBoxes('matchedBoxIou', boxes2, 4, true, 'boxes2')
  expectSameShape('matchedBoxIou', boxes1, boxes2, 'boxes1 and boxes2')
  const [ax1, ay1, ax2, ay2] = unbindLast(boxes1)
  const [bx1, by1, bx2, by2] = unbindLast(boxes2)
  const w = maximum(sub(minimum(ax2!, bx2!), maximum(ax1!, bx1!)), 0)
  const h = maximum(sub(minimum(ay2!, by2!), maximum(ay1!, by1!)), 0)
  const inter = mul(w, h)
  return ratioWhereOverlapping(inter, sub(add(boxArea(boxes1), boxArea(boxes2)), inter))
}
