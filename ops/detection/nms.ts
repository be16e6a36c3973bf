/**
 * Non-maximum suppression as one primitive (torchvision `nms`, detectron2 `batched_nms`,
 * `nms_rotated`): the number of survivors depends on the data, so the result is a fixed capacity of
 * indices padded with -1 plus a count (DESIGN.md "Static shapes inside jit"), and no readback is needed.
 *
 * Semantics: boxes are visited by descending score (a stable order: equal scores keep index order, NaN
 * scores come first as in PyTorch's sort); a box is suppressed iff a kept box of the same class has
 * IoU > iouThreshold with it — strictly greater, so an IoU equal to the threshold keeps (torchvision and
 * detectron2). Axis-aligned IoU is decided in float32 arithmetic with the quotient correctly rounded, on
 * every backend (nms-cpu.ts, nms-wgsl.ts). Pairs that do not overlap, zero-area boxes included, have
 * IoU 0. NaN coordinates cannot be rejected without reading the data back: on the CPU such a box
 * has IoU 0 with every box (so with a threshold ≥ 0 it neither suppresses nor is suppressed); on WebGPU
 * the outcome is unspecified.
 *
 * The per-class form compares classes inside the kernel rather than shifting each class's boxes by
 * class·(max coordinate + 1) (torchvision's coordinate trick): the shift rounds coordinates (at 80
 * classes × 1333 px a float32 step is 1/128 px), so it only approximates per-class NMS; the class test is
 * exact and costs nothing.
 *
 * Indices are integers: the primitive has no derivative (jvp and vjp give none). To differentiate
 * through kept boxes, gather them with `take` — that gathers' gradient flows, the selection does not.
 */
import { fail } from '../../core/errors.js'
import { bind } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { expectBoxes } from './checks.js'
import { nmsKernel } from './nms-cpu.js'
import { nmsGpu } from './nms-wgsl.js'

export type NmsParams = { readonly iouThreshold: number; readonly capacity: number }

/** Checks shared by the public ops and the rule; `op` is the public name the user called. */
const checkOperands = (op: string, boxes: Aval, scores: Aval, classes: Aval | undefined, iouThreshold: number, capacity: number): void => {
  const width = boxes.shape[1]
  if (boxes.dtype !== 'float32' || boxes.shape.length !== 2 || (width !== 4 && width !== 5)) {
    fail(op, `boxes must be f32[N, 4] (x1, y1, x2, y2) or f32[N, 5] (cx, cy, w, h, angle), got ${describeAval(boxes)}`)
  }
  const n = boxes.shape[0]!
  if (scores.dtype !== 'float32' || scores.shape.length !== 1 || scores.shape[0] !== n) {
    fail(op, `scores must be f32[${n}] (one per box), got ${describeAval(scores)} for boxes ${describeAval(boxes)}`)
  }
  if (classes !== undefined && (classes.dtype !== 'int32' || classes.shape.length !== 1 || classes.shape[0] !== n)) {
    fail(op, `classes must be i32[${n}] (one per box), got ${describeAval(classes)} for boxes ${describeAval(boxes)}`)
  }
  if (typeof iouThreshold !== 'number' || !Number.isFinite(Math.fround(iouThreshold))) {
    fail(op, `iouThreshold must be a finite float32 number, got ${iouThreshold} for boxes ${describeAval(boxes)}`)
  }
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > 2 ** 31 - 1) {
    fail(op, `maxOutput must be a non-negative integer, got ${capacity} for boxes ${describeAval(boxes)}`)
  }
}

export const nmsRule: Rule<NmsParams> = {
  name: 'nms',
  abstractEval: ([boxes, scores, classes], { iouThreshold, capacity }) => {
    checkOperands('nms', boxes!, scores!, classes, iouThreshold, capacity)
    return [{ shape: [capacity], dtype: 'int32' }, { shape: [], dtype: 'int32' }]
  },
  cpu: ([boxes, scores, classes], { iouThreshold, capacity }) => nmsKernel(boxes!, scores!, classes, iouThreshold, capacity),
  // Integer outputs: no tangent, no cotangent for boxes, scores or classes.
  jvp: () => [null, null],
  vjp: (_, primals) => primals.map(() => null),
  webgpu: (ctx, [boxes, scores, classes], { iouThreshold, capacity }, outAvals) => nmsGpu(ctx, boxes!, scores!, classes, iouThreshold, capacity, outAvals),
}

export type NmsOptions = {
  /** Capacity of the result (the most indices kept); default N. */
  readonly maxOutput?: number
}

export type NmsResult = {
  /** i32[capacity]: kept box indices by descending score, then -1. */
  readonly indices: Tensor
  /** i32[]: how many entries of `indices` are valid (≤ capacity). */
  readonly count: Tensor
}

const run = (op: string, width: 4 | 5, boxes: Tensor, scores: Tensor, classes: Tensor | undefined, iouThreshold: number, options: NmsOptions): NmsResult => {
  expectBoxes(op, boxes, width)
  const capacity = options.maxOutput ?? boxes.shape[0]!
  checkOperands(op, boxes, scores, classes, iouThreshold, capacity)
  const [indices, count] = bind(nmsRule, classes === undefined ? [boxes, scores] : [boxes, scores, classes], { iouThreshold, capacity })
  return { indices: indices!, count: count! }
}

/**
 * Greedy NMS of axis-aligned boxes (torchvision `nms`): suppresses a box iff a higher-scoring kept box
 * has IoU > iouThreshold with it. boxes: f32[N,4] XYXY, scores: f32[N] →
 * `{ indices: i32[maxOutput ?? N] (by descending score, padded with -1), count: i32[] }`.
 */
export const nms = (boxes: Tensor, scores: Tensor, iouThreshold: number, options: NmsOptions = {}): NmsResult =>
  run('nms', 4, boxes, scores, undefined, iouThreshold, options)

/**
 * NMS within each class (detectron2 `batched_nms`): boxes of different classes never suppress each
 * other; the kept boxes of all classes come out merged by descending score. boxes: f32[N,4],
 * scores: f32[N], classes: i32[N] → `{ indices: i32[maxOutput ?? N], count: i32[] }`.
 */
export const batchedNms = (boxes: Tensor, scores: Tensor, classes: Tensor, iouThreshold: number, options: NmsOptions = {}): NmsResult =>
  run('batchedNms', 4, boxes, scores, classes, iouThreshold, options)

/**
 * NMS of rotated boxes (detectron2 `nms_rotated`) with rotated IoU. Not bit-identical across backends:
 * a pair whose IoU is within float32 rounding of the threshold may decide differently on WebGPU.
 * boxes: f32[N,5] (cx, cy, w, h, angle° CCW), scores: f32[N] → `{ indices: i32[maxOutput ?? N], count: i32[] }`.
 */
export const nmsRotated = (boxes: Tensor, scores: Tensor, iouThreshold: number, options: NmsOptions = {}): NmsResult =>
  run('nmsRotated', 5, boxes, scores, undefined, iouThreshold, options)

/**
 * Rotated NMS within each class (detectron2 `batched_nms_rotated`). boxes: f32[N,5], scores: f32[N],
 * classes: i32[N] → `{ indices: i32[maxOutput ?? N], count: i32[] }`.
 */
export const batchedNmsRotated = (boxes: Tensor, scores: Tensor, classes: Tensor, iouThreshold: number, options: NmsOptions = {}): NmsResult =>
  run('batchedNmsRotated', 5, boxes, scores, classes, iouThreshold, options)
