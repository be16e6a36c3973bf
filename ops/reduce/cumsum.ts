/**
 * cumsum: inclusive prefix sums along one axis. Its transpose is the same scan run the other way, so the
 * primitive carries a `reverse` flag and its vjp flips it — no flip op needed.
 */
import type { TypedArray } from '../../core/dtype.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { expectDTypes } from '../operand.js'
import { reshape } from '../shape/basic.js'
import { singleAxis } from './axes.js'
import { scanAlong } from './kernels.js'
import { cumsumGpu } from './wgsl-scan.js'

export type CumsumParams = { readonly axis: number; readonly reverse: boolean }

// Accumulate in a double and round once per stored element: more accurate than a float32 running sum.
const scanFloat = (src: TypedArray, dst: TypedArray, start: number, length: number, stride: number): void => {
  let s = 0
  for (let k = 0, i = start; k < length; k++, i += stride) {
    s += src[i]!
    dst[i] = s
  }
}

const scanInt = (src: TypedArray, dst: TypedArray, start: number, length: number, stride: number): void => {
  let s = 0
  for (let k = 0, i = start; k < length; k++, i += stride) {
    s = (s + src[i]!) | 0
    dst[i] = s
  }
}

export const cumsumRule: Rule<CumsumParams> = {
  name: 'cumsum',
  abstractEval: ([x]) => {
    expectDTypes('cumsum', [x!], ['float32', 'int32'], 'cast bool to int32 first')
    return [{ shape: x!.shape, dtype: x!.dtype }]
  },
  cpu: ([x], { axis, reverse }, [o]) => [scanAlong(x!.data, x!.shape, axis, o!.dtype, reverse, o!.dtype === 'int32' ? scanInt : scanFloat)],
  jvp: (_, [t], params) => [t === null ? null : bind1(cumsumRule, [t], params)],
  vjp: ([ct], _, { axis, reverse }) => [ct === null ? null : bind1(cumsumRule, [ct], { axis, reverse: !reverse })],
  vmap: ([x], [d], { axis, reverse }) => {
    if (d === null || d === undefined) return [[bind1(cumsumRule, [x!], { axis, reverse })], [null]]
    return [[bind1(cumsumRule, [x!], { axis: axis >= d ? axis + 1 : axis, reverse })], [d]]
  },
  webgpu: (ctx, [x], { axis, reverse }) => [cumsumGpu(ctx, x!, axis, reverse)],
}

export type CumsumOptions = { readonly reverse?: boolean }

/**
 * Inclusive running sum along `axis` (undefined: over the flattened tensor, as NumPy and JAX do);
 * `reverse` sums from the end. x: T[...] → T[...] (T ∈ {f32, i32}; flattened: T[size])
 */
export const cumsum = (x: Tensor, axis?: number, options: CumsumOptions = {}): Tensor => {
  const reverse = options.reverse ?? false
  if (axis === undefined) return bind1(cumsumRule, [reshape(x, [size(x.shape)])], { axis: 0, reverse })
  return bind1(cumsumRule, [x], { axis: singleAxis('cumsum', x, axis), reverse })
}
