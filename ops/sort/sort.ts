/**
 * Sorting along one axis. One primitive returns both the sorted values and the permutation (int32), so
 * sort, argsort and topk share a kernel and the gradient of the values can route the cotangent back
 * through the indices. The order is stable (ties keep their original order, smaller index first) and
 * NaN counts as larger than every number, as in PyTorch: last when ascending (also NumPy's order),
 * first when descending.
 */
import { type TypedArray, allocate } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import { bind, bind1 } from '../../core/interpreters/stack.js'
import type { CpuArray, Rule } from '../../core/rule.js'
import { normalizeAxis, size } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { zeros } from '../creation.js'
import { scatterAddRule, takeAlongAxisRule } from '../gather/along-axis.js'
import { batchFirst } from '../shape/basic.js'
import { inversePermutation, permuteData } from '../shape/layout.js'
import { sortGpu } from './wgsl.js'

/** `axis` is normalized; `k`: how many of the sorted entries along it are kept (all for sort, k for topk). */
export type SortParams = { readonly axis: number; readonly descending: boolean; readonly k: number }

/** Ascending order with NaN after every number; 0 for ties (the caller breaks them by index). */
const compareAscending = (a: number, b: number): number => {
  if (a < b) return -1
  if (a > b) return 1
  const na = a !== a
  return na === (b !== b) ? 0 : na ? 1 : -1
}

const sortKernel = (x: CpuArray, axis: number, descending: boolean, k: number): [TypedArray, Int32Array] => {
  const r = x.shape.length
  const perm = [...Array.from({ length: r }, (_, i) => i).filter((i) => i !== axis), axis]
  const movedShape = perm.map((p) => (p === axis ? k : x.shape[p]!))
  const rows = axis === r - 1 ? x.data : permuteData(x.data, x.shape, perm)
  const n = x.shape[axis]!
  const count = n === 0 ? 0 : size(x.shape) / n
  const values = allocate(x.dtype, count * k)
  const indices = new Int32Array(count * k)
  const order = new Int32Array(n)
  const sign = descending ? -1 : 1
  for (let row = 0; row < count; row++) {
    const start = row * n
    for (let i = 0; i < n; i++) order[i] = i
    order.sort((i, j) => sign * compareAscending(rows[start + i]!, rows[start + j]!) || i - j)
    for (let i = 0; i < k; i++) {
      values[row * k + i] = rows[start + order[i]!]!
      indices[row * k + i] = order[i]!
    }
  }
  if (axis === r - 1) return [values, indices]
  const back = inversePermutation(perm)
  return [permuteData(values, movedShape, back), permuteData(indices, movedShape, back) as Int32Array]
}

export const sortRule: Rule<SortParams> = {
  name: 'sort',
  abstractEval: ([x], { axis, k }) => {
    normalizeAxis('sort', axis, x!.shape.length)
    const n = x!.shape[axis]!
    if (!Number.isInteger(k) || k < 0 || k > n) fail('sort', `k = ${k} must be an integer in [0, ${n}] for axis ${axis} of ${describeAval(x!)}`)
    const shape = x!.shape.map((d, a) => (a === axis ? k : d))
    return [{ shape, dtype: x!.dtype }, { shape, dtype: 'int32' }]
  },
  cpu: ([x], { axis, descending, k }) => sortKernel(x!, axis, descending, k),
  jvp: (_, [t], { axis }, [, indices]) => [t === null ? null : bind1(takeAlongAxisRule, [t, indices!], { axis }), null],
  vjp: ([ct], [x], { axis }, [, indices]) =>
    [ct === null ? null : bind1(scatterAddRule, [zeros(x!.shape, x!.dtype), indices!, ct], { axis })],
  vmap: ([x], [d], { axis, descending, k }, n) => [bind(sortRule, [batchFirst(x!, d!, n)], { axis: axis + 1, descending, k }), [0, 0]],
  webgpu: (ctx, [x], { axis, descending, k }) => sortGpu(ctx, x!, axis, descending, k),
}

export type SortOptions = { readonly descending?: boolean }

const sortBoth = (op: string, x: Tensor, axis: number, descending: boolean): Tensor[] => {
  if (x.shape.length === 0) fail(op, `cannot sort a scalar ${describeAval(x)}; it has no axis`)
  const ax = normalizeAxis(op, axis, x.shape.length)
  return bind(sortRule, [x], { axis: ax, descending, k: x.shape[ax]! })
}

/**
 * Sorted copy of `x` along `axis` (default the last); ascending unless `descending`. Stable; NaN is
 * treated as the largest value. x: T[...] → T[...]. Differentiable: the cotangent goes back to where
 * each value came from.
 */
export const sort = (x: Tensor, axis = -1, options: SortOptions = {}): Tensor => sortBoth('sort', x, axis, options.descending ?? false)[0]!

/**
 * The permutation that sorts `x` along `axis` (stable: equal values keep index order).
 * x: T[...] → i32[...]; `takeAlongAxis(x, argsort(x, a), a)` equals `sort(x, a)`.
 */
export const argsort = (x: Tensor, axis = -1, options: SortOptions = {}): Tensor => sortBoth('argsort', x, axis, options.descending ?? false)[1]!

/**
 * The `k` largest entries along `axis` (default the last), largest first; among equal values the lower
 * index comes first. x: T[..., n, ...] → `{ values: T[..., k, ...], indices: i32[..., k, ...] }`.
 */
export const topk = (x: Tensor, k: number, axis = -1): { values: Tensor; indices: Tensor } => {
  if (x.shape.length === 0) fail('topk', `cannot take the top k of a scalar ${describeAval(x)}`)
  const ax = normalizeAxis('topk', axis, x.shape.length)
  const n = x.shape[ax]!
  if (!Number.isInteger(k) || k < 0 || k > n) fail('topk', `k = ${k} must be an integer in [0, ${n}] for axis ${ax} of ${describeAval(x)}`)
  // One primitive keeps the first k: on WebGPU long rows are then cut down tile by tile, never sorted whole.
  const [values, indices] = bind(sortRule, [x], { axis: ax, descending: true, k })
  return { values: values!, indices: indices! }
}
