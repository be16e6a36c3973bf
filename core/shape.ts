/**
 * Shapes, axes and NumPy broadcasting. Shapes are readonly arrays of non-negative integers; a scalar has
 * shape `[]`. Every check takes the op name so that the message says which op refused the input.
 */
import { fail } from './errors.js'
import { type DType, shortName } from './dtype.js'

export type Shape = readonly number[]

export const size = (shape: Shape): number => shape.reduce((a, b) => a * b, 1)

/** `f32[2,3]`: the notation used in every message and in IR text. */
export const describe = (shape: Shape, dtype: DType): string => `${shortName(dtype)}[${shape.join(',')}]`

export const shapesEqual = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/** Row-major (C order) strides in elements. */
export const stridesOf = (shape: Shape): number[] => {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]!
  }
  return strides
}

/** NumPy broadcasting of several shapes; throws naming `op` and the described operands. */
export const broadcastShapes = (op: string, shapes: readonly Shape[], described: () => string): number[] => {
  const r = Math.max(0, ...shapes.map((s) => s.length))
  const out = new Array<number>(r).fill(1)
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = r - s.length + i
      const d = s[i]!
      if (d === out[o] || d === 1) continue
      if (out[o] === 1) out[o] = d
      else fail(op, `cannot broadcast ${described()}`)
    }
  }
  return out
}

/** Resolves a possibly negative axis against `ndim`; throws when out of range. */
export const normalizeAxis = (op: string, axis: number, ndim: number): number => {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    fail(op, `axis ${axis} is out of range for a tensor of rank ${ndim}`)
  }
  return axis < 0 ? axis + ndim : axis
}

/** Resolves a list of axes (undefined = all axes); throws on out-of-range or duplicate axes. */
export const normalizeAxes = (op: string, axes: number | readonly number[] | undefined, ndim: number): number[] => {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i)
  const list = typeof axes === 'number' ? [axes] : axes
  const out = list.map((a) => normalizeAxis(op, a, ndim))
  if (new Set(out).size !== out.length) fail(op, `duplicate axes [${list.join(',')}]`)
  return out.sort((a, b) => a - b)
}

export const checkShape = (op: string, shape: Shape): void => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail(op, `invalid shape [${shape.join(',')}]: dimensions must be non-negative integers`)
  }
}
