/**
 * Taking one index of an axis and stacking along a new axis: the two moves vmap's per-element fallback
 * needs, also public as `stack`.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import { normalizeAxis } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { reshape } from './basic.js'
import { concat, sliceRule } from './slice.js'

/** `x[..., i, ...]` on `axis`, dropping the axis. x: T[..., d, ...] → T[..., ...] */
export const indexAxis = (x: Tensor, i: number, axis: number): Tensor => {
  const ax = normalizeAxis('indexAxis', axis, x.shape.length)
  const d = x.shape[ax]!
  if (!Number.isInteger(i) || i < 0 || i >= d) fail('indexAxis', `index ${i} is out of range for axis ${ax} of ${describeAval(x)}`)
  const starts = x.shape.map((_, k) => (k === ax ? i : 0))
  const limits = x.shape.map((s, k) => (k === ax ? i + 1 : s))
  const sliced = bind1(sliceRule, [x], { starts, limits, strides: x.shape.map(() => 1) })
  return reshape(sliced, x.shape.filter((_, k) => k !== ax))
}

/** Stacks equally shaped tensors along a new `axis` (default 0). xs: n × T[s] → T[..n..] */
export const stack = (xs: readonly Tensor[], axis = 0): Tensor => {
  if (xs.length === 0) fail('stack', 'needs at least one tensor')
  const first = xs[0]!
  for (const x of xs) {
    if (x.shape.join() !== first.shape.join() || x.dtype !== first.dtype) fail('stack', `all tensors must have the same shape and dtype: ${xs.map(describeAval).join(', ')}`)
  }
  const ax = normalizeAxis('stack', axis, first.shape.length + 1)
  const expanded = first.shape.slice(0, ax).concat([1], first.shape.slice(ax))
  return concat(xs.map((x) => reshape(x, expanded)), ax)
}
