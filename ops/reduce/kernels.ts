/**
 * CPU reduction and scan loops. Each output element folds one "line" of input elements read with a
 * stride, so reducing any contiguous block of axes needs no copy; scattered axes are first moved last.
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
 * One reduced line of `length` elements starting at `start`, `stride` apart; returns the reduced value
 * (or, for arg-reductions, the position within the line).
 */
export type StridedFold = (data: TypedArray, start: number, length: number, stride: number) => number

/** True when the sorted `axes` are one contiguous block of axes. */
const isBlock = (axes: readonly number[]): boolean => axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1)

/** `shape` seen as [outer, length, inner] around the contiguous block of reduced `axes`. */
const blockDims = (shape: Shape, axes: readonly number[]): { outer: number; length: number; inner: number } => {
  const first = axes[0]!
  const last = axes[axes.length - 1]!
  return { outer: size(shape.slice(0, first)), length: size(shape.slice(first, last + 1)), inner: size(shape.slice(last + 1)) }
}

/**
 * Reduces `axes` of row-major `data` with `fold`. When the axes are one contiguous block (the usual case:
 * trailing axes for softmax, leading ones for a batch sum) the data is read in place with a stride, so no
 * permutation copy is made; otherwise the reduced axes are first moved last.
 */
export const reduceAlong = (data: TypedArray, shape: Shape, axes: readonly number[], dtype: DType, fold: StridedFold): TypedArray => {
  if (axes.length === 0 || !isBlock(axes)) {
    const { rows, count, length } = rowsForReduction(data, shape, axes)
    const out = allocate(dtype, count)
    for (let r = 0; r < count; r++) out[r] = fold(rows, r * length, length, 1)
    return out
  }
  const { outer, length, inner } = blockDims(shape, axes)
  const out = allocate(dtype, outer * inner)
  for (let o = 0; o < outer; o++) {
    const base = o * length * inner
    for (let i = 0; i < inner; i++) out[o * inner + i] = fold(data, base + i, length, inner)
  }
  return out
}

const sumLine: StridedFold = (data, start, length, stride) => {
  let s = 0
  for (let k = 0, i = start; k < length; k++, i += stride) s += data[i]!
  return s
}

/**
 * Sum over `axes`, accumulated in float64 (int32 results wrap on store, like int32 addition). Leading
 * axes (every bias gradient) are summed with a strided walk; measured, that beats accumulating whole rows
 * into a float64 buffer for [256,512].
 */
export const sumAlong = (data: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray =>
  reduceAlong(data, shape, axes, dtype, sumLine)

/**
 * An inclusive scan along `axis`, forward or from the end when `reverse`: `scanLine` writes one line of
 * `length` elements from `start`, `stride` apart (a negative stride walks backwards).
 */
export const scanAlong = (
  data: TypedArray,
  shape: Shape,
  axis: number,
  dtype: DType,
  reverse: boolean,
  scanLine: (src: TypedArray, dst: TypedArray, start: number, length: number, stride: number) => void,
): TypedArray => {
  const outer = size(shape.slice(0, axis))
  const length = shape[axis]!
  const inner = size(shape.slice(axis + 1))
  const out = allocate(dtype, data.length)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i
      if (reverse) scanLine(data, out, start + (length - 1) * inner, length, -inner)
      else scanLine(data, out, start, length, inner)
    }
  }
  return out
}
