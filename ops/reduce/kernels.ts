/**
 * CPU reduction loops. The reduced axes are moved last (a permutation copy when they are not already
 * trailing), then each output element folds one contiguous row.
 */
import { type DType, type TypedArray, allocate } from '../../core/dtype.js'
import { type Shape, size } from '../../core/shape.js'
import { permuteData } from '../shape/layout.js'

/** Shape of `shape` with `axes` removed (or set to 1 with keepdims). */
export const reducedShape = (shape: Shape, axes: readonly number[], keepdims = false): number[] =>
  keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i))

/**
 * Lays `data` out so that the reduced axes are trailing: returns the rows as one array plus the row
 * count and length. Output element `r` reduces `rows[r*len .. (r+1)*len)`.
 */
export const rowsForReduction = (data: TypedArray, shape: Shape, axes: readonly number[]): { rows: TypedArray; count: number; length: number } => {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i))
  const perm = [...kept, ...axes]
  const trailing = perm.every((p, i) => p === i)
  const length = axes.reduce((a, ax) => a * shape[ax]!, 1)
  const count = kept.reduce((a, ax) => a * shape[ax]!, 1)
  return { rows: trailing ? data : permuteData(data, shape, perm), count, length }
}

/**
 * A row reduction: `fold(rows, start, length)` returns the reduced value of one row; results are stored
 * in an array of `dtype`.
 */
export const reduceRows = (
  data: TypedArray,
  shape: Shape,
  axes: readonly number[],
  dtype: DType,
  fold: (rows: TypedArray, start: number, length: number) => number,
): TypedArray => {
  const { rows, count, length } = rowsForReduction(data, shape, axes)
  const out = allocate(dtype, count)
  for (let r = 0; r < count; r++) out[r] = fold(rows, r * length, length)
  return out
}

export const outSize = (shape: Shape, axes: readonly number[]): number => size(reducedShape(shape, axes))
