/**
 * Data checks for boxes at a boundary: where boxes enter from outside (a dataset's annotations, a
 * proposals file, a model's predictions during training). The ops themselves check only what is known
 * before data flows (rank, width, dtype) — a jitted program or a queued GPU kernel cannot look at values
 * — so they give NaN coordinates and inverted boxes a documented meaning instead of an error. These
 * functions read the values back (hence async) and throw a FoveaError naming the op, the shape, the
 * first bad row and its values, as detectron2 raises `FloatingPointError` when predicted boxes turn
 * non-finite (`find_top_rpn_proposals`). Do not call them inside `jit`.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { toArray } from '../readback.js'
import { type BoxWidth, expectBoxes } from './checks.js'

export type ValidateBoxesOptions = {
  /** The op or boundary named in the error (default `validateBoxes`). */
  readonly op?: string
  /** What the tensor is, in the error (default `boxes`). */
  readonly what?: string
  /** 4: XYXY (x2 ≥ x1 and y2 ≥ y1 required), 5: rotated (w ≥ 0 and h ≥ 0 required). Default 4. */
  readonly width?: BoxWidth
  /** Whether zero-area boxes are allowed (default true; detectron2 drops them later with `nonempty`). */
  readonly allowEmpty?: boolean
}

const formatRow = (data: Float32Array, row: number, width: number): string =>
  `(${Array.from(data.subarray(row * width, row * width + width), (v) => String(v)).join(', ')})`

/** Why row `r` of `data` is not a valid box, or undefined when it is. */
const rowProblem = (data: Float32Array, r: number, width: BoxWidth, allowEmpty: boolean): string | undefined => {
  const v = data.subarray(r * width, r * width + width)
  if (v.some((x) => !Number.isFinite(x))) return 'has a non-finite coordinate'
  const [w, h] = width === 4 ? [v[2]! - v[0]!, v[3]! - v[1]!] : [v[2]!, v[3]!]
  if (w < 0 || h < 0) return width === 4 ? 'is inverted (x2 < x1 or y2 < y1)' : 'has a negative size'
  if (!allowEmpty && (w === 0 || h === 0)) return 'is empty (zero width or height)'
  return undefined
}

/**
 * Resolves when every row of `boxes: f32[N, 4]` (XYXY) or `f32[N, 5]` (rotated) is a finite box of
 * non-negative size; rejects with a FoveaError naming the first bad row and how many rows are bad.
 */
export const validateBoxes = async (boxes: Tensor, options: ValidateBoxesOptions = {}): Promise<void> => {
  const { op = 'validateBoxes', what = 'boxes', width = 4, allowEmpty = true } = options
  expectBoxes(op, boxes, width, false, what)
  const data = (await toArray(boxes)) as Float32Array
  const rows = boxes.shape[0]!
  let first: { row: number; problem: string } | undefined
  let bad = 0
  for (let r = 0; r < rows; r++) {
    const problem = rowProblem(data, r, width, allowEmpty)
    if (problem === undefined) continue
    bad++
    first ??= { row: r, problem }
  }
  if (first !== undefined) {
    fail(op, `${what} ${describeAval(boxes)}: row ${first.row} ${formatRow(data, first.row, width)} ${first.problem}${bad > 1 ? ` (${bad} bad rows in all)` : ''}`)
  }
}

/**
 * Resolves when `rois: f32[K, 5]` (batch index, x1, y1, x2, y2) has integral batch indices in
 * `[0, batch)` and valid XYXY boxes; rejects with a FoveaError naming the first bad roi otherwise.
 */
export const validateRois = async (rois: Tensor, batch: number, op = 'validateRois'): Promise<void> => {
  expectBoxes(op, rois, 5, false, 'rois (batch index, x1, y1, x2, y2)')
  const data = (await toArray(rois)) as Float32Array
  for (let r = 0; r < rois.shape[0]!; r++) {
    const b = data[r * 5]!
    if (!(Number.isInteger(b) && b >= 0 && b < batch)) {
      fail(op, `rois ${describeAval(rois)}: row ${r} ${formatRow(data, r, 5)} has batch index ${b}, expected an integer in [0, ${batch})`)
    }
    const problem = rowProblem(data.subarray(r * 5 + 1, r * 5 + 5), 0, 4, true)
    if (problem !== undefined) fail(op, `rois ${describeAval(rois)}: row ${r} ${formatRow(data, r, 5)}: the box ${problem}`)
  }
}
