/**
 * Input checks shared by the detection numerics. Only what is known before data flows (rank, width,
 * dtype) can be checked: a NaN coordinate or an inverted box is a property of the data, which an op
 * cannot read without a readback, so those are documented per function instead, and `validate.ts` checks
them where data enters (async, outside jit).
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'

/** Box layouts by width: 4 = XYXY or XYWH, 5 = rotated (cx, cy, w, h, angle°). */
export type BoxWidth = 4 | 5

const layoutName = (width: BoxWidth): string => (width === 4 ? '(x1, y1, x2, y2)' : '(cx, cy, w, h, angle)')

/** Throws unless `boxes` is float32 `[N, width]` (or `[..., width]` when `anyRank`). */
export const expectBoxes = (op: string, boxes: Tensor, width: BoxWidth = 4, anyRank = false, what = 'boxes'): void => {
  const rankOk = anyRank ? boxes.shape.length >= 1 : boxes.shape.length === 2
  if (!rankOk || boxes.shape[boxes.shape.length - 1] !== width || boxes.dtype !== 'float32') {
    const expected = anyRank ? `f32[..., ${width}]` : `f32[N, ${width}]`
    fail(op, `${what} must be ${expected} rows ${layoutName(width)}, got ${describeAval(boxes)}`)
  }
}

/** Throws unless the two tensors have equal shapes (the matched, row-by-row form of a box op). */
export const expectSameShape = (op: string, a: Tensor, b: Tensor, what = 'operands'): void => {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    fail(op, `${what} must have the same shape, got ${describeAval(a)} and ${describeAval(b)}`)
  }
}

/** Throws unless `x` is a float32 tensor. */
export const expectFloat = (op: string, x: Tensor, what: string): void => {
  if (x.dtype !== 'float32') fail(op, `${what} must be float32, got ${describeAval(x)}`)
}
