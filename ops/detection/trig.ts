/**
 * atan and atan2 as compositions of elementwise ops, for the two places detection needs an inverse
 * tangent (CIoU's aspect-ratio term, rotated-box scaling). fovea has no atan primitive yet; these are
 * accurate to float32 rounding (about 1e-7 absolute) and differentiable through their parts. Every
 * branch divides by a denominator that is made safe off its own branch, so neither values nor
 * gradients see 0/0 or 1/0.
 */
import type { Tensor } from '../../core/tensor.js'
import { add, div, greater, less, maximum, minimum, mul, sub, where } from '../elementwise/binary.js'
import { abs } from '../elementwise/unary.js'

const TAN_PI_8 = Math.SQRT2 - 1

/** atan on [-tan(π/8), tan(π/8)]: the Taylor series through z^17 (remainder below 2e-8). */
const atanSmall = (z: Tensor): Tensor => {
  const z2 = mul(z, z)
  let acc: Tensor = mul(z2, -1 / 17)
  for (let k = 15; k >= 3; k -= 2) acc = mul(z2, add(acc, (k % 4 === 1 ? 1 : -1) / k))
  return mul(z, add(acc, 1))
}

/** atan on [0, 1]: above tan(π/8) use atan(y) = π/4 + atan((y - 1) / (y + 1)). */
const atanUnit = (y: Tensor): Tensor => {
  const high = greater(y, TAN_PI_8)
  const shifted = add(atanSmall(div(sub(y, 1), add(y, 1))), Math.PI / 4)
  return where(high, shifted, atanSmall(y))
}

/** atan on [0, ∞]: above 1 use atan(y) = π/2 - atan(1/y). */
const atanNonNegative = (y: Tensor): Tensor => {
  const big = greater(y, 1)
  const inverted = sub(Math.PI / 2, atanUnit(div(1, where(big, y, 1))))
  return where(big, inverted, atanUnit(where(big, 0, y)))
}

/** Inverse tangent, elementwise, in (-π/2, π/2); atan(±Inf) = ±π/2. x: f32[...] → f32[...] */
export const atan = (x: Tensor): Tensor => {
  // Odd symmetry through a constant sign (not sign(x), whose zero derivative would zero atan'(0)).
  const s = where(less(x, 0), -1, 1)
  return mul(s, atanNonNegative(mul(s, x)))
}

/**
 * Angle of the point (x, y) in radians, in [-π, π], with the quadrant rules of C's atan2 (atan2(0, 0)
 * is 0; a signed zero y is treated as +0). y, x: f32[...] (broadcast) → f32[...]
 */
export const atan2 = (y: Tensor, x: Tensor): Tensor => {
  const [ax, ay] = [abs(x), abs(y)]
  const hi = maximum(ax, ay)
  const ratio = div(minimum(ax, ay), where(greater(hi, 0), hi, 1))
  const base = atanUnit(ratio)
  const firstOctantSwapped = where(greater(ay, ax), sub(Math.PI / 2, base), base)
  const leftHalf = where(less(x, 0), sub(Math.PI, firstOctantSwapped), firstOctantSwapped)
  return where(less(y, 0), mul(leftHalf, -1), leftHalf)
}
