/**
 * The inverse error function, the core of `normal` (normal = √2·erfinv(u) for u uniform in (-1, 1), as in
 * JAX). Chosen over Box–Muller because it maps one uniform to one normal: every output element stays a
 * function of its own counter (Box–Muller consumes pairs and needs log, sqrt, sin and cos), and the
 * numbers match JAX's.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import type { Tensor } from '../../core/tensor.js'
import { exp, mul } from '../elementwise/index.js'
import { describeAll } from '../operand.js'
import { erfInvGpu } from './wgsl.js'

/**
 * Giles' single-precision approximation (M. Giles, "Approximating the erfinv function", GPU Computing Gems
 * Jade, 2011), the one XLA uses for float32: a polynomial in w = -log(1 - x²) on two ranges, with relative
 * error below float32 resolution. Branch-light and polynomial-only, so it ports to WGSL directly.
 */
export const erfInvScalar = (x: number): number => {
  if (Number.isNaN(x) || Math.abs(x) > 1) return NaN
  if (Math.abs(x) === 1) return x * Infinity
  let w = -Math.log1p(-x * x)
  let p: number
  if (w < 5) {
    w -= 2.5
    p = 2.81022636e-8
    p = 3.43273939e-7 + p * w
    p = -3.5233877e-6 + p * w
    p = -4.39150654e-6 + p * w
    p = 0.00021858087 + p * w
    p = -0.00125372503 + p * w
    p = -0.00417768164 + p * w
    p = 0.246640727 + p * w
    p = 1.50140941 + p * w
  } else {
    w = Math.sqrt(w) - 3
    p = -0.000200214257
    p = 0.000100950558 + p * w
    p = 0.00134934322 + p * w
    p = -0.00367342844 + p * w
    p = 0.00573950773 + p * w
    p = -0.0076224613 + p * w
    p = 0.00943887047 + p * w
    p = 1.00167406 + p * w
    p = 2.83297682 + p * w
  }
  return p * x
}

/** d/dx erfinv(x) = (√π / 2)·exp(erfinv(x)²). */
const derivative = (y: Tensor): Tensor => mul(exp(mul(y, y)), Math.sqrt(Math.PI) / 2)

export const erfInvRule: Rule<Record<string, never>> = {
  name: 'erfInv',
  abstractEval: ([x]) => {
    if (x!.dtype !== 'float32') fail('erfInv', `expected a float32 operand, got ${describeAll([x!])}; use cast(x, 'float32')`)
    return [{ shape: x!.shape, dtype: 'float32' }]
  },
  cpu: ([x]) => {
    const out = new Float32Array(x!.data.length)
    for (let i = 0; i < out.length; i++) out[i] = erfInvScalar(x!.data[i]!)
    return [out]
  },
  jvp: (_, [t], __, [y]) => [t === null ? null : mul(t, derivative(y!))],
  vjp: ([ct], _, __, [y]) => [ct === null ? null : mul(ct, derivative(y!))],
  vmap: ([x], [d]) => [[bind1(erfInvRule, [x!], {})], [d!]],
  webgpu: (ctx, [x], _, [o]) => [erfInvGpu(ctx, x!, o!)],
}

/** Inverse of `erf` on (-1, 1); ±1 → ±Inf, outside → NaN. x: f32[...] → f32[...] */
export const erfInv = (x: Tensor): Tensor => bind1(erfInvRule, [x], {})
