/**
 * Box rows as columns: detection formulas read `x1, y1, x2, y2` by name, so the last axis is split into
 * named pieces and put back with `stackLast`. Both are plain slices and concats (they differentiate,
 * batch and run on every backend).
 */
import type { Tensor } from '../../core/tensor.js'
import { reshape } from '../shape/basic.js'
import { concat, split } from '../shape/slice.js'

/** The last axis as separate tensors without that axis. x: T[..., k] → k × T[...] */
export const unbindLast = (x: Tensor): Tensor[] => {
  const k = x.shape[x.shape.length - 1]!
  const lead = x.shape.slice(0, -1)
  return split(x, k, -1).map((c) => reshape(c, lead))
}

/** Inverse of `unbindLast`. k × T[...] → T[..., k] */
export const stackLast = (xs: readonly Tensor[]): Tensor =>
  concat(xs.map((c) => reshape(c, [...c.shape, 1])), -1)

/** A column vector view: T[N] → T[N, 1], for pairwise broadcasting against a row. */
export const asColumn = (x: Tensor): Tensor => reshape(x, [...x.shape, 1])

/** A row vector view: T[M] → T[1, M]. */
export const asRow = (x: Tensor): Tensor => reshape(x, [1, ...x.shape])
