/**
 * `nonzero` with a static capacity: the number of non-zeros depends on the data, so (as everywhere a size
 * would be data-dependent, see DESIGN.md "Static shapes inside jit") the result has a fixed number of
 * rows plus a count, and works unchanged under jit.
 */
import { fail } from '../../core/errors.js'
import { bind } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { nonzeroKernel } from './kernels.js'
import { nonzeroGpu } from './nonzero-wgsl.js'

export type NonzeroParams = { readonly capacity: number; readonly fillValue: number }

export const nonzeroRule: Rule<NonzeroParams> = {
  name: 'nonzero',
  abstractEval: ([x], { capacity, fillValue }) => {
    if (!Number.isInteger(capacity) || capacity < 0) fail('nonzero', `capacity must be a non-negative integer, got ${capacity} for ${describeAval(x!)}`)
    if (!Number.isInteger(fillValue) || Math.abs(fillValue) > 2 ** 31 - 1) fail('nonzero', `fillValue must be an int32, got ${fillValue}`)
    return [{ shape: [capacity, x!.shape.length], dtype: 'int32' }, { shape: [], dtype: 'int32' }]
  },
  cpu: ([x], { capacity, fillValue }) => nonzeroKernel(x!, capacity, fillValue),
  jvp: () => [null, null],
  vjp: () => [null],
  webgpu: (ctx, [x], { capacity, fillValue }, outAvals) => nonzeroGpu(ctx, x!, capacity, fillValue, outAvals),
}

/**
 * Coordinates of the non-zero (true, NaN included) elements of `x` in row-major order, padded to a static
 * `capacity`. x: T[d0..dr-1] → `{ indices: i32[capacity, r], count: i32[] }`. Rows past the data hold
 * `fillValue` (-1 by default); `count` is the true number of non-zeros, even when it exceeds `capacity`
 * (then only the first `capacity` are listed).
 */
export const nonzero = (x: Tensor, capacity: number, fillValue = -1): { indices: Tensor; count: Tensor } => {
  const [indices, count] = bind(nonzeroRule, [x], { capacity, fillValue })
  return { indices: indices!, count: count! }
}
