/**
 * Axis-aligned boxes as plain `f32[N,4]` tensors in absolute XYXY (detectron2's `Boxes.tensor` without
 * the wrapper class): the functions below are `Boxes`' methods, each returning a new tensor instead of
 * editing in place. Areas and IoUs are detection numerics and live in `ops/detection`; they are
 * re-exported here so that `import * as B from './boxes.js'` finds everything about boxes.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { add, clip, greater, greaterEqual, less, logicalAnd, mul, sub } from '../../ops/elementwise/index.js'
import { tensor } from '../../ops/creation.js'
import { expectBoxes } from '../../ops/detection/checks.js'
import { stackLast, unbindLast } from '../../ops/detection/columns.js'

export { boxArea, boxIntersection, boxIou, boxIoa, matchedBoxIou } from '../../ops/detection/box-iou.js'

export const checkImageSize = (op: string, boxes: Tensor, size: readonly [number, number]): void => {
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => typeof d === 'number' && Number.isFinite(d) && d >= 0)) {
    fail(op, `image size must be [height, width] of finite non-negative numbers, got ${JSON.stringify(size)} for boxes ${describeAval(boxes)}`)
  }
}

/**
 * Clamps x to [0, width] and y to [0, height] (detectron2 `Boxes.clip`, which also asserts the boxes are
 * finite: a NaN coordinate stays NaN here). boxes: f32[..., 4], size: [h, w] → f32[..., 4]
 */
export const clipBoxes = (boxes: Tensor, size: readonly [number, number]): Tensor => {
  expectBoxes('clipBoxes', boxes, 4, true)
  checkImageSize('clipBoxes', boxes, size)
  const [h, w] = size
  const [x1, y1, x2, y2] = unbindLast(boxes)
  return stackLast([clip(x1!, 0, w), clip(y1!, 0, h), clip(x2!, 0, w), clip(y2!, 0, h)])
}

/**
 * True for boxes whose width and height both exceed `threshold` (detectron2 `Boxes.nonempty`: a side
 * equal to the threshold counts as empty). boxes: f32[..., 4] → bool[...]
 */
export const nonemptyBoxes = (boxes: Tensor, threshold = 0): Tensor => {
  expectBoxes('nonemptyBoxes', boxes, 4, true)
  const [x1, y1, x2, y2] = unbindLast(boxes)
  return logicalAnd(greater(sub(x2!, x1!), threshold), greater(sub(y2!, y1!), threshold))
}

/** Scales x coordinates by `sx` and y by `sy` (detectron2 `Boxes.scale`). boxes: f32[..., 4] → f32[..., 4] */
export const scaleBoxes = (boxes: Tensor, sx: number, sy: number): Tensor => {
  expectBoxes('scaleBoxes', boxes, 4, true)
  return mul(boxes, tensor([sx, sy, sx, sy]))
}

/** Box centres `((x1 + x2) / 2, (y1 + y2) / 2)`. boxes: f32[..., 4] → f32[..., 2] */
export const boxCenters = (boxes: Tensor): Tensor => {
  expectBoxes('boxCenters', boxes, 4, true)
  const [x1, y1, x2, y2] = unbindLast(boxes)
  return stackLast([mul(add(x1!, x2!), 0.5), mul(add(y1!, y2!), 0.5)])
}

/**
 * True for boxes inside the image, allowing `boundaryThreshold` pixels outside (detectron2
 * `Boxes.inside_box`: x1, y1 >= -t and x2 < w + t, y2 < h + t). boxes: f32[..., 4] → bool[...]
 */
export const insideBox = (boxes: Tensor, size: readonly [number, number], boundaryThreshold = 0): Tensor => {
  expectBoxes('insideBox', boxes, 4, true)
  checkImageSize('insideBox', boxes, size)
  const [h, w] = size
  const [x1, y1, x2, y2] = unbindLast(boxes)
  const t = boundaryThreshold
  return logicalAnd(logicalAnd(greaterEqual(x1!, -t), greaterEqual(y1!, -t)), logicalAnd(less(x2!, w + t), less(y2!, h + t)))
}
