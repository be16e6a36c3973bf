/**
 * Rotated boxes as plain `f32[N,5]` tensors `(cx, cy, w, h, angle)`, the angle in degrees
 * counter-clockwise (detectron2's `RotatedBoxes`; see its docstring for the convention: in image space
 * with y pointing down, a positive angle turns the width vector from the x axis towards -y). Each
 * method becomes a function returning a new tensor. The pairwise IoU lives in `ops/detection`.
 */
import type { Tensor } from '../../core/tensor.js'
import { abs, add, clip, cos, greater, lessEqual, logicalAnd, minimum, mul, sin, sqrt, sub, where } from '../../ops/elementwise/index.js'
import { wrapDegrees } from '../../ops/detection/angles.js'
import { expectBoxes } from '../../ops/detection/checks.js'
import { stackLast, unbindLast } from '../../ops/detection/columns.js'
import { atan2 } from '../../ops/detection/trig.js'
import { checkImageSize } from './boxes.js'

export { rotatedBoxIou } from '../../ops/detection/rotated-iou.js'
export { wrapDegrees } from '../../ops/detection/angles.js'

const DEG = Math.PI / 180

/** `w * h` of each rotated box. boxes: f32[..., 5] → f32[...] */
export const rotatedBoxArea = (boxes: Tensor): Tensor => {
  expectBoxes('rotatedBoxArea', boxes, 5, true)
  const [, , w, h] = unbindLast(boxes)
  return mul(w!, h!)
}

/** The same boxes with angles wrapped into [-180, 180) (detectron2 `normalize_angles`). f32[..., 5] → f32[..., 5] */
export const normalizeRotatedAngles = (boxes: Tensor): Tensor => {
  expectBoxes('normalizeRotatedAngles', boxes, 5, true)
  const [cx, cy, w, h, a] = unbindLast(boxes)
  return stackLast([cx!, cy!, w!, h!, wrapDegrees(a!)])
}

/**
 * detectron2 `RotatedBoxes.clip`: angles are normalized, then only nearly horizontal boxes
 * (|angle| <= clipAngleThreshold degrees) are clipped like axis-aligned boxes to [0, w] × [0, h]; other
 * boxes are left as they are, because a rotated box has no unique clipped form. Widths and heights
 * never grow through rounding. boxes: f32[..., 5], size: [h, w] → f32[..., 5]
 */
export const clipRotatedBoxes = (boxes: Tensor, size: readonly [number, number], clipAngleThreshold = 1): Tensor => {
  expectBoxes('clipRotatedBoxes', boxes, 5, true)
  checkImageSize('clipRotatedBoxes', boxes, size)
  const [imH, imW] = size
  const [cx, cy, w, h, a0] = unbindLast(boxes)
  const a = wrapDegrees(a0!)
  const x1 = clip(sub(cx!, mul(w!, 0.5)), 0, imW)
  const y1 = clip(sub(cy!, mul(h!, 0.5)), 0, imH)
  const x2 = clip(add(cx!, mul(w!, 0.5)), 0, imW)
  const y2 = clip(add(cy!, mul(h!, 0.5)), 0, imH)
  const near = lessEqual(abs(a), clipAngleThreshold)
  const pick = (clipped: Tensor, kept: Tensor) => where(near, clipped, kept)
  return stackLast([
    pick(mul(add(x1, x2), 0.5), cx!),
    pick(mul(add(y1, y2), 0.5), cy!),
    pick(minimum(w!, sub(x2, x1)), w!),
    pick(minimum(h!, sub(y2, y1)), h!),
    a,
  ])
}

/** True where both sides exceed `threshold` (detectron2 `RotatedBoxes.nonempty`). f32[..., 5] → bool[...] */
export const nonemptyRotatedBoxes = (boxes: Tensor, threshold = 0): Tensor => {
  expectBoxes('nonemptyRotatedBoxes', boxes, 5, true)
  const [, , w, h] = unbindLast(boxes)
  return logicalAnd(greater(w!, threshold), greater(h!, threshold))
}

/**
 * The axis-aligned hull of each rotated box (detectron2 `BoxMode.convert(XYWHA_ABS → XYXY_ABS)`):
 * half-extents `|cos|·w/2 + |sin|·h/2` and `|cos|·h/2 + |sin|·w/2`. f32[..., 5] → f32[..., 4]
 */
export const rotatedToHorizontal = (boxes: Tensor): Tensor => {
  expectBoxes('rotatedToHorizontal', boxes, 5, true)
  const [cx, cy, w, h, a] = unbindLast(boxes)
  const theta = mul(a!, DEG)
  const [c, s] = [abs(cos(theta)), abs(sin(theta))]
  const newW = add(mul(c, w!), mul(s, h!))
  const newH = add(mul(c, h!), mul(s, w!))
  const x1 = sub(cx!, mul(newW, 0.5))
  const y1 = sub(cy!, mul(newH, 0.5))
  return stackLast([x1, y1, add(x1, newW), add(y1, newH)])
}

/**
 * detectron2 `RotatedBoxes.scale`: centres scale by (sx, sy); with sx != sy a rotated rectangle becomes a
 * parallelogram, which is approximated by the rectangle through its edge midpoints:
 * w' = w·sqrt((sx·cos)² + (sy·sin)²), h' = h·sqrt((sx·sin)² + (sy·cos)²), angle' = atan2(sx·sin, sy·cos).
 * boxes: f32[..., 5] → f32[..., 5]
 */
export const scaleRotatedBoxes = (boxes: Tensor, sx: number, sy: number): Tensor => {
  expectBoxes('scaleRotatedBoxes', boxes, 5, true)
  const [cx, cy, w, h, a] = unbindLast(boxes)
  const theta = mul(a!, DEG)
  const [c, s] = [cos(theta), sin(theta)]
  const hyp = (p: Tensor, q: Tensor) => sqrt(add(mul(p, p), mul(q, q)))
  return stackLast([
    mul(cx!, sx),
    mul(cy!, sy),
    mul(w!, hyp(mul(c, sx), mul(s, sy))),
    mul(h!, hyp(mul(s, sx), mul(c, sy))),
    mul(atan2(mul(s, sx), mul(c, sy)), 180 / Math.PI),
  ])
}
