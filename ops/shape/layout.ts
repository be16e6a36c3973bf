/**
 * CPU layout helpers shared by shape, reduce and index kernels: a general strided permutation copy.
 */
import { type TypedArray, allocate, dtypeOfArray } from '../../core/dtype.js'
import { type Shape, size, stridesOf } from '../../core/shape.js'
import { forEachRow } from '../elementwise/kernels.js'

/** Copies `data` (row-major `shape`) into the layout of `transpose(perm)`. */
export const permuteData = (data: TypedArray, shape: Shape, perm: readonly number[]): TypedArray => {
  const outShape = perm.map((p) => shape[p]!)
  const out = allocate(dtypeOfArray(data), size(outShape))
  if (perm.every((p, i) => p === i)) {
    out.set(data)
    return out
  }
  const inStrides = stridesOf(shape)
  const strides = perm.map((p) => inStrides[p]!)
  forEachRow(outShape, [strides], (o, offsets, n, st) => {
    let p = offsets[0]!
    const s = st[0]!
    for (let i = 0; i < n; i++, p += s) out[o + i] = data[p]!
  })
  return out
}

export const inversePermutation = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length)
  perm.forEach((p, i) => (inv[p] = i))
  return inv
}
