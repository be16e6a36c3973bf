/**
 * Elementwise ops written as compositions of primitives (their gradients follow from the parts).
 */
import type { Tensor } from '../../core/tensor.js'
import type { TensorLike } from '../operand.js'
import { abs, erf, exp, log1p, relu, sigmoid } from './unary.js'
import { add, maximum, minimum, mul } from './binary.js'

/** x * x. */
export const square = (x: Tensor): Tensor => mul(x, x)

/** Clamps to [lo, hi]; either bound may be omitted (undefined). */
export const clip = (x: Tensor, lo?: TensorLike, hi?: TensorLike): Tensor => {
  let y = x
  if (lo !== undefined) y = maximum(y, lo)
  if (hi !== undefined) y = minimum(y, hi)
  return y
}

/** Exact GELU, x/2 * (1 + erf(x/√2)) — PyTorch's default `approximate='none'`. */
export const gelu = (x: Tensor): Tensor => mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1))

/** SiLU / swish: x * sigmoid(x). */
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x))

/** log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows. */
export const softplus = (x: Tensor): Tensor => add(relu(x), log1p(exp(mul(abs(x), -1))))

