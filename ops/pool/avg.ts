/**
 * Average pooling and adaptive average pooling. Both are separable linear maps, so they are the
 * `resample2d` primitive (ops/resize/resample.ts) with window or bin axis maps; its transpose is their
 * gradient, and second order comes for free.
 */
import { describeAval, type Tensor } from '../../core/tensor.js'
import { fail } from '../../core/errors.js'
import { resample2d } from '../resize/resample.js'
import type { AxisMap } from '../resize/taps.js'
import { type Pair, expectNchw, intPair, poolGeometry } from './geometry.js'

export type AvgPoolOptions = {
  readonly kernelSize: number | Pair
  readonly stride?: number | Pair
  readonly padding?: number | Pair
  readonly ceilMode?: boolean
  readonly countIncludePad?: boolean
}

/**
 * 2-d average pooling with PyTorch's `avg_pool2d` semantics: `stride` defaults to `kernelSize`; zero
 * `padding` (at most half the kernel) counts in the divisor when `countIncludePad` (default true), but
 * the part of a `ceilMode` window that hangs past the right padding never does — PyTorch divides by the
 * window clipped to [−p, in + p), and with `countIncludePad: false` by the window clipped to the input.
 * x: f32[N,C,H,W] → f32[N,C,OH,OW]
 */
export const avgPool2d = (x: Tensor, options: AvgPoolOptions): Tensor => {
  if (options !== undefined && 'dilation' in options) fail('avgPool2d', `has no dilation option (PyTorch's avg_pool2d neither); input ${describeAval(x)}`)
  const g = poolGeometry('avgPool2d', x, options)
  const countIncludePad = options.countIncludePad ?? true
  const axis = (i: 0 | 1): AxisMap => ({
    kind: 'window',
    inSize: x.shape[2 + i]!,
    outSize: g.out[i],
    kernel: g.kernel[i],
    stride: g.stride[i],
    padding: g.padding[i],
    countIncludePad,
  })
  return resample2d(x, { h: axis(0), w: axis(1) })
}

/**
 * PyTorch's `adaptive_avg_pool2d`: output cell i averages input bin [floor(i·H/out), ceil((i+1)·H/out)),
 * so bins overlap when H is not a multiple of out (and repeat pixels when out > H).
 * `outputSize`: a number or [OH, OW]. x: f32[N,C,H,W] → f32[N,C,OH,OW]
 */
export const adaptiveAvgPool2d = (x: Tensor, outputSize: number | Pair): Tensor => {
  expectNchw('adaptiveAvgPool2d', x)
  const [oh, ow] = intPair('adaptiveAvgPool2d', 'outputSize', outputSize, 1, x)
  if (x.shape[2] === 0 || x.shape[3] === 0) fail('adaptiveAvgPool2d', `input ${describeAval(x)} has an empty spatial axis`)
  return resample2d(x, {
    h: { kind: 'adaptive', inSize: x.shape[2]!, outSize: oh },
    w: { kind: 'adaptive', inSize: x.shape[3]!, outSize: ow },
  })
}
