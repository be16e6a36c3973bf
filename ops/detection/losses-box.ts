/**
 * Box regression losses (fvcore / detectron2 definitions, eps included): smooth L1 on deltas, and the
 * IoU family on XYXY boxes — GIoU (Rezatofighi et al. 2019), DIoU and CIoU (Zheng et al. 2020).
 * Boxes are matched row by row: boxes1, boxes2: f32[..., 4] → elementwise loss f32[...].
 */
import type { Tensor } from '../../core/tensor.js'
import { add, div, greater, less, logicalAnd, maximum, minimum, mul, sub, where } from '../elementwise/binary.js'
import { abs } from '../elementwise/unary.js'
import { stopGradient } from '../transforms.js'
import { expectBoxes, expectFloat, expectSameShape } from './checks.js'
import { unbindLast } from './columns.js'
import { type LossOptions, finishLoss } from './loss-reduce.js'
import { atan } from './trig.js'

export type SmoothL1Options = LossOptions & {
  /** L1 to L2 change point; below 1e-5 the loss is exactly L1 (fvcore: a 0/0 gradient otherwise). */
  readonly beta: number
}

/**
 * fvcore `smooth_l1_loss`: 0.5·x²/beta where |x| < beta, else |x| − 0.5·beta, x = input − target
 * (Huber / beta: the L1 part keeps slope 1 for every beta). Default reduction 'none'.
 * input, target: f32[...] (same shape) → f32[...] or f32[]
 */
export const smoothL1Loss = (input: Tensor, target: Tensor, options: SmoothL1Options): Tensor => {
  const op = 'smoothL1Loss'
  expectFloat(op, input, 'input')
  expectFloat(op, target, 'target')
  expectSameShape(op, input, target, 'input and target')
  const { beta } = options
  const n = abs(sub(input, target))
  const loss = beta < 1e-5 ? n : where(less(n, beta), div(mul(mul(n, n), 0.5), beta), sub(n, 0.5 * beta))
  return finishLoss(op, loss, options, 'none')
}

export type IouLossOptions = LossOptions & {
  /** Guards the divisions; fvcore's default 1e-7. */
  readonly eps?: number
}

/** Shared geometry of matched box pairs, following fvcore's formulas and masks. */
const pairGeometry = (op: string, boxes1: Tensor, boxes2: Tensor) => {
  expectBoxes(op, boxes1, 4, true, 'boxes1')
  expectBoxes(op, boxes2, 4, true, 'boxes2')
  expectSameShape(op, boxes1, boxes2, 'boxes1 and boxes2')
  const [x1, y1, x2, y2] = unbindLast(boxes1) as [Tensor, Tensor, Tensor, Tensor]
  const [x1g, y1g, x2g, y2g] = unbindLast(boxes2) as [Tensor, Tensor, Tensor, Tensor]
  const [xk1, yk1, xk2, yk2] = [maximum(x1, x1g), maximum(y1, y1g), minimum(x2, x2g), minimum(y2, y2g)]
  // The intersection counts only where both sides are positive (fvcore's mask), so a touching or
  // disjoint pair has exactly zero intersection and zero gradient through it.
  const overlapping = logicalAnd(greater(yk2, yk1), greater(xk2, xk1))
  const inter = where(overlapping, mul(sub(xk2, xk1), sub(yk2, yk1)), 0)
  const union = sub(add(mul(sub(x2, x1), sub(y2, y1)), mul(sub(x2g, x1g), sub(y2g, y1g))), inter)
  const enclosing = { x1: minimum(x1, x1g), y1: minimum(y1, y1g), x2: maximum(x2, x2g), y2: maximum(y2, y2g) }
  return { x1, y1, x2, y2, x1g, y1g, x2g, y2g, inter, union, enclosing }
}

/**
 * fvcore `giou_loss`: 1 − (IoU − (C − U)/C) with IoU = I/(U + eps) and C the smallest enclosing box's
 * area, divided as C + eps. Symmetric in its arguments; 0 for identical boxes, up to 2 for distant ones.
 * Default reduction 'none'. boxes1, boxes2: f32[..., 4] → f32[...] or f32[]
 */
export const giouLoss = (boxes1: Tensor, boxes2: Tensor, options: IouLossOptions = {}): Tensor => {
  const op = 'giouLoss'
  const eps = options.eps ?? 1e-7
  const g = pairGeometry(op, boxes1, boxes2)
  const iou = div(g.inter, add(g.union, eps))
  const c = g.enclosing
  const areaC = mul(sub(c.x2, c.x1), sub(c.y2, c.y1))
  const giou = sub(iou, div(sub(areaC, g.union), add(areaC, eps)))
  return finishLoss(op, sub(1, giou), options, 'none')
}

/** IoU with eps in the union and the DIoU centre-distance penalty ρ²/c², shared by DIoU and CIoU. */
const distanceTerms = (op: string, boxes1: Tensor, boxes2: Tensor, eps: number) => {
  const g = pairGeometry(op, boxes1, boxes2)
  const iou = div(g.inter, add(g.union, eps))
  const c = g.enclosing
  const square = (t: Tensor) => mul(t, t)
  const diagonal = add(add(square(sub(c.x2, c.x1)), square(sub(c.y2, c.y1))), eps)
  const dx = mul(sub(add(g.x2, g.x1), add(g.x1g, g.x2g)), 0.5)
  const dy = mul(sub(add(g.y2, g.y1), add(g.y1g, g.y2g)), 0.5)
  return { g, iou, penalty: div(add(square(dx), square(dy)), diagonal) }
}

/**
 * detectron2 `diou_loss`: 1 − IoU + ρ²/c², ρ the distance between the centres and c the diagonal of the
 * enclosing box (eps added to the union and to c²). Default reduction 'none'.
 * boxes1, boxes2: f32[..., 4] → f32[...] or f32[]
 */
export const diouLoss = (boxes1: Tensor, boxes2: Tensor, options: IouLossOptions = {}): Tensor => {
  const op = 'diouLoss'
  const { iou, penalty } = distanceTerms(op, boxes1, boxes2, options.eps ?? 1e-7)
  return finishLoss(op, add(sub(1, iou), penalty), options, 'none')
}

/**
 * detectron2 `ciou_loss`: the DIoU loss plus α·v, v = 4/π²·(atan(w_g/h_g) − atan(w/h))² measuring the
 * aspect-ratio mismatch and α = v/(1 − IoU + v + eps) treated as a constant (computed under no_grad
 * there, `stopGradient` here). boxes1 are the predictions, boxes2 the targets. Default reduction 'none'.
 * boxes1, boxes2: f32[..., 4] → f32[...] or f32[]
 */
export const ciouLoss = (boxes1: Tensor, boxes2: Tensor, options: IouLossOptions = {}): Tensor => {
  const op = 'ciouLoss'
  const eps = options.eps ?? 1e-7
  const { g, iou, penalty } = distanceTerms(op, boxes1, boxes2, eps)
  const aspect = (x1: Tensor, y1: Tensor, x2: Tensor, y2: Tensor) => atan(div(sub(x2, x1), sub(y2, y1)))
  const gap = sub(aspect(g.x1g, g.y1g, g.x2g, g.y2g), aspect(g.x1, g.y1, g.x2, g.y2))
  const v = mul(mul(gap, gap), 4 / (Math.PI * Math.PI))
  const alpha = stopGradient(div(v, add(add(sub(1, iou), v), eps)))
  return finishLoss(op, add(add(sub(1, iou), penalty), mul(alpha, v)), options, 'none')
}
