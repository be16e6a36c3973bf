/**
 * Angle wrapping for rotated boxes: degrees in [-180, 180), detectron2's `(a + 180) % 360 - 180` with
 * Python's floored modulo.
 */
import type { Tensor } from '../../core/tensor.js'
import { add, div, greaterEqual, less, mul, sub, where } from '../elementwise/binary.js'
import { floor } from '../elementwise/unary.js'

/**
 * Wraps degrees into [-180, 180). In float32 `a - 360·floor(a / 360)` can land a rounding step outside
 * [0, 360) (e.g. -1e-6 + 360 rounds to 360), so the result is folded once more to keep the half-open
 * range exact. angle: f32[...] → f32[...]
 */
export const wrapDegrees = (angle: Tensor): Tensor => {
  const shifted = add(angle, 180)
  const r = sub(sub(shifted, mul(floor(div(shifted, 360)), 360)), 180)
  const folded = where(greaterEqual(r, 180), sub(r, 360), r)
  return where(less(folded, -180), add(folded, 360), folded)
}
