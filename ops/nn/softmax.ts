/**
 * softmax and logSoftmax as compositions: subtracting the row max first keeps exp from overflowing. The
 * max is gradient-stopped — softmax is shift-invariant, so its derivative through the max is exactly
 * zero and need not be computed (JAX does the same).
 */
import type { Tensor } from '../../core/tensor.js'
import { div, sub } from '../elementwise/binary.js'
import { exp, log } from '../elementwise/unary.js'
import { expectDTypes } from '../operand.js'
import { type AxisArg, reductionAxes } from '../reduce/axes.js'
import { shiftMax } from '../reduce/chooser.js'
import { sum } from '../reduce/sum.js'

const shifted = (op: string, x: Tensor, axis: AxisArg): [Tensor, number[]] => {
  expectDTypes(op, [x], ['float32'], "cast(x, 'float32') first")
  const axes = reductionAxes(op, x, axis)
  return [sub(x, shiftMax(x, axes)), axes]
}

/**
 * exp(x) / Σ exp(x) along `axis` (default the last; a list normalizes jointly). A row of all −Inf
 * gives NaN, as in JAX and PyTorch. x: f32[...] → f32[...] (rows sum to 1)
 */
export const softmax = (x: Tensor, axis: AxisArg = -1): Tensor => {
  const [z, axes] = shifted('softmax', x, axis)
  const e = exp(z)
  return div(e, sum(e, axes, true))
}

/**
 * log(softmax(x)) along `axis` (default the last), computed as (x − m) − log Σ exp(x − m) so that
 * it stays finite where softmax underflows to 0. x: f32[...] → f32[...]
 */
export const logSoftmax = (x: Tensor, axis: AxisArg = -1): Tensor => {
  const [z, axes] = shifted('logSoftmax', x, axis)
  return sub(z, log(sum(exp(z), axes, true)))
}
