/**
 * CPU kernels for indexing. Every index is checked: an index outside `[0, size)` throws a FoveaError
 * naming the op, the index and the axis size. Negative indices are refused rather than wrapped, because
 * in detection code a -1 is almost always a padding marker (nms, nonzero) that leaked, not a request for
 * the last row.
 */
import { type TypedArray, allocate } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { CpuArray } from '../../core/rule.js'
import { type Shape, describe, size, stridesOf } from '../../core/shape.js'
import { forEachRow } from '../elementwise/kernels.js'

const outOfRange = (op: string, index: number, axis: number, x: CpuArray): never =>
  fail(op, `index ${index} is out of range for axis ${axis} of size ${x.shape[axis]} in ${describe(x.shape, x.dtype)} ` +
    `(indices must lie in [0, ${x.shape[axis]}); negative indices are not wrapped)`)

/**
 * The geometry of an n-d gather at `axis`: `x` is viewed as [outer, N0..Nk-1, inner] and `indices` as
 * [count, k]; each index tuple selects one [inner] block per outer position.
 */
type NdLayout = { readonly outer: number; readonly inner: number; readonly count: number; readonly offsets: Int32Array }

/** Checks every index tuple and turns it into a flat block offset within one outer slice. */
const ndLayout = (op: string, x: CpuArray, indices: CpuArray, axis: number): NdLayout => {
  const k = indices.shape[indices.shape.length - 1]!
  const indexed = x.shape.slice(axis, axis + k)
  const blockStrides = stridesOf(indexed)
  const count = size(indices.shape.slice(0, -1))
  const offsets = new Int32Array(count)
  const idx = indices.data
  for (let m = 0; m < count; m++) {
    let off = 0
    for (let j = 0; j < k; j++) {
      const v = idx[m * k + j]!
      if (v < 0 || v >= indexed[j]!) outOfRange(op, v, axis + j, x)
      off += v * blockStrides[j]!
    }
    offsets[m] = off
  }
  return { outer: size(x.shape.slice(0, axis)), inner: size(x.shape.slice(axis + k)), count, offsets }
}

/** out[o, m, b] = x[o, indices[m, :], b] — the kernel behind `take` and `gather`. */
export const gatherNdKernel = (op: string, x: CpuArray, indices: CpuArray, axis: number, outSize: number): TypedArray => {
  const { outer, inner, count, offsets } = ndLayout(op, x, indices, axis)
  const out = allocate(x.dtype, outSize)
  const k = indices.shape[indices.shape.length - 1]!
  const slab = size(x.shape.slice(axis, axis + k)) * inner
  const data = x.data
  for (let o = 0; o < outer; o++) {
    for (let m = 0; m < count; m++) {
      const src = o * slab + offsets[m]! * inner
      const dst = (o * count + m) * inner
      for (let b = 0; b < inner; b++) out[dst + b] = data[src + b]!
    }
  }
  return out
}

/** out = x; out[o, indices[m, :], b] += updates[o, m, b] — the transpose of `gatherNdKernel`. */
export const scatterAddNdKernel = (op: string, x: CpuArray, indices: CpuArray, updates: CpuArray, axis: number): TypedArray => {
  const { outer, inner, count, offsets } = ndLayout(op, x, indices, axis)
  const out = x.data.slice()
  const k = indices.shape[indices.shape.length - 1]!
  const slab = size(x.shape.slice(axis, axis + k)) * inner
  const u = updates.data
  for (let o = 0; o < outer; o++) {
    for (let m = 0; m < count; m++) {
      const dst = o * slab + offsets[m]! * inner
      const src = (o * count + m) * inner
      for (let b = 0; b < inner; b++) out[dst + b] += u[src + b]!
    }
  }
  return out
}

/**
 * Walks the positions of `indices` (shape I, same rank as x, I[d] <= X[d] off the axis) and calls
 * `visit(position, xOffset)` where `xOffset` is the x element the index at that position selects.
 */
const forEachAlongAxis = (op: string, x: CpuArray, indices: CpuArray, axis: number, visit: (p: number, xOffset: number) => void): void => {
  const xStrides = stridesOf(x.shape)
  const axisStride = xStrides[axis]!
  const n = x.shape[axis]!
  const idx = indices.data
  const walk = xStrides.map((s, d) => (d === axis ? 0 : s))
  forEachRow(indices.shape, [walk], (o, offsets, len, st) => {
    let p = offsets[0]!
    const s = st[0]!
    for (let i = 0; i < len; i++, p += s) {
      const v = idx[o + i]!
      if (v < 0 || v >= n) outOfRange(op, v, axis, x)
      visit(o + i, p + v * axisStride)
    }
  })
}

/** out[i] = x[i with i[axis] = indices[i]] (PyTorch `gather`, NumPy `take_along_axis` after broadcasting). */
export const takeAlongAxisKernel = (op: string, x: CpuArray, indices: CpuArray, axis: number): TypedArray => {
  const out = allocate(x.dtype, size(indices.shape))
  const data = x.data
  forEachAlongAxis(op, x, indices, axis, (p, q) => (out[p] = data[q]!))
  return out
}

/** out = x; out[i with i[axis] = indices[i]] += updates[i] (PyTorch `scatter_add`). */
export const scatterAddKernel = (op: string, x: CpuArray, indices: CpuArray, updates: CpuArray, axis: number): TypedArray => {
  const out = x.data.slice()
  const u = updates.data
  forEachAlongAxis(op, x, indices, axis, (p, q) => (out[q] += u[p]!))
  return out
}

/** Row-major coordinates of the first `capacity` non-zero elements (NaN counts as non-zero, as in NumPy). */
export const nonzeroKernel = (x: CpuArray, capacity: number, fillValue: number): [Int32Array, Int32Array] => {
  const rank = x.shape.length
  const out = new Int32Array(capacity * rank).fill(fillValue)
  const strides: Shape = stridesOf(x.shape)
  const data = x.data
  let count = 0
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) continue
    if (count < capacity) {
      let rest = i
      for (let d = 0; d < rank; d++) {
        out[count * rank + d] = Math.floor(rest / strides[d]!)
        rest %= strides[d]!
      }
    }
    count++
  }
  return [out, Int32Array.of(count)]
}
