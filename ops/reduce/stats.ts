/**
 * Reductions written as compositions of primitives: mean, variance and logsumexp. Their gradients come
 * from the parts. Integer and bool inputs are averaged in float32 (as JAX does).
 */
import { fail } from '../../core/errors.js'
import { size } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { add, cast, div, mul, sub, where } from '../elementwise/binary.js'
import { exp, isFinite, log } from '../elementwise/unary.js'
import { expectDTypes } from '../operand.js'
import { reshape } from '../shape/basic.js'
import { type AxisArg, reductionAxes } from './axes.js'
import { shiftMax } from './chooser.js'
import { reducedShape } from './kernels.js'
import { sum } from './sum.js'

const countOf = (x: Tensor, axes: readonly number[]): number => size(axes.map((a) => x.shape[a]!))

/**
 * Arithmetic mean over `axis` (a number, a list, or all axes). The mean of an empty axis is NaN (0/0),
 * as in NumPy. x: T[...] → f32[reduced]
 */
export const mean = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => {
  const axes = reductionAxes('mean', x, axis)
  return div(sum(cast(x, 'float32'), axes, keepdims), countOf(x, axes))
}

/**
 * Variance over `axis` with `ddof` delta degrees of freedom: Σ(x − mean)² / (n − ddof). The default
 * ddof = 0 is NumPy's and JAX's (PyTorch's `var` defaults to 1). Two passes (centre, then square), which
 * avoids the cancellation of E[x²] − E[x]². When n − ddof ≤ 0 the result is Inf or NaN, as in NumPy.
 * x: T[...] → f32[reduced]
 */
export const variance = (x: Tensor, axis?: AxisArg, keepdims = false, ddof = 0): Tensor => {
  const axes = reductionAxes('variance', x, axis)
  if (typeof ddof !== 'number' || !Number.isFinite(ddof)) fail('variance', `ddof must be a finite number, got ${ddof} for ${describeAval(x)}`)
  const xf = cast(x, 'float32')
  const centred = sub(xf, mean(xf, axes, true))
  return div(sum(mul(centred, centred), axes, keepdims), Math.max(countOf(x, axes) - ddof, 0))
}

/**
 * log(Σ exp(x)) over `axis`, computed as m + log(Σ exp(x − m)) with m the (gradient-stopped) max, so
 * large inputs do not overflow. A row that is all −Inf gives −Inf (m is replaced by 0 where it is not
 * finite, avoiding −Inf − −Inf = NaN); an empty axis gives −Inf (log 0). int32 is promoted to float32.
 * x: f32[...] → f32[reduced]
 */
export const logsumexp = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => {
  const axes = reductionAxes('logsumexp', x, axis)
  expectDTypes('logsumexp', [x], ['float32', 'int32'], 'cast bool to float32 first')
  const xf = cast(x, 'float32')
  if (countOf(xf, axes) === 0) return log(sum(exp(xf), axes, keepdims))
  const m = shiftMax(xf, axes)
  const shift = where(isFinite(m), m, 0)
  const out = add(log(sum(exp(sub(xf, shift)), axes, true)), shift)
  return keepdims ? out : reshape(out, reducedShape(x.shape, axes))
}
