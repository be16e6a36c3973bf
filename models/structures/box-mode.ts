/**
 * Box layout conversion, detectron2's `BoxMode.convert`, over the three absolute modes it supports.
 */
import { fail } from '../../core/errors.js'
import type { Tensor } from '../../core/tensor.js'
import { zeros } from '../../ops/creation.js'
import { add, mul, sub } from '../../ops/elementwise/index.js'
import { expectBoxes } from '../../ops/detection/checks.js'
import { stackLast, unbindLast } from '../../ops/detection/columns.js'
import { rotatedToHorizontal } from './rotated-boxes.js'

/** detectron2's `BoxMode` names (its relative modes are unsupported there too). */
export type BoxMode = 'XYXY_ABS' | 'XYWH_ABS' | 'XYWHA_ABS'

const MODES: readonly string[] = ['XYXY_ABS', 'XYWH_ABS', 'XYWHA_ABS']

/**
 * Converts boxes between layouts: XYXY_ABS ↔ XYWH_ABS, XYWH_ABS → XYWHA_ABS (centre, angle 0) and
 * XYWHA_ABS → XYXY_ABS (the axis-aligned hull). Other pairs are refused, as in detectron2.
 * boxes: f32[..., 4 | 5] → f32[..., 4 | 5]
 */
export const convertBoxMode = (boxes: Tensor, from: BoxMode, to: BoxMode): Tensor => {
  const op = 'convertBoxMode'
  if (!MODES.includes(from) || !MODES.includes(to)) {
    fail(op, `unknown box mode ${JSON.stringify(from)} or ${JSON.stringify(to)}; expected one of ${MODES.join(', ')}`)
  }
  expectBoxes(op, boxes, from === 'XYWHA_ABS' ? 5 : 4, true)
  if (from === to) return boxes
  if (from === 'XYWHA_ABS' && to === 'XYXY_ABS') return rotatedToHorizontal(boxes)
  const [a, b, c, d] = unbindLast(boxes)
  if (from === 'XYXY_ABS' && to === 'XYWH_ABS') return stackLast([a!, b!, sub(c!, a!), sub(d!, b!)])
  if (from === 'XYWH_ABS' && to === 'XYXY_ABS') return stackLast([a!, b!, add(a!, c!), add(b!, d!)])
  if (from === 'XYWH_ABS' && to === 'XYWHA_ABS') return stackLast([add(a!, mul(c!, 0.5)), add(b!, mul(d!, 0.5)), c!, d!, zeros(a!.shape)])
  return fail(op, `conversion from ${from} to ${to} is not supported (detectron2 converts XYXY_ABS↔XYWH_ABS, XYWH_ABS→XYWHA_ABS and XYWHA_ABS→XYXY_ABS)`)
}
