/**
 * Layers without parameters or state: activations, dropout, flatten, pooling and resizing. Each is a
 * tensor function lifted into a layer whose output shape is traced from the op itself.
 */
import { fail } from '../../core/errors.js'
import type { Tensor } from '../../core/tensor.js'
import { describeAval } from '../../core/tensor.js'
import * as F from '../../ops/index.js'
import type { ApplyContext, Layer } from './layer.js'
import { type Activation, inferShape } from './shapes.js'

/**
 * Lifts `fn(x, ctx)` into a layer with `params = state = {}`; `init` traces `fn` for the output shape
 * (eval mode), and an input it cannot take fails naming `name` and the input shape.
 */
export const stateless = <X extends Activation = Tensor, Y extends Activation = Tensor>(name: string, fn: (x: X, ctx: ApplyContext) => Y): Layer<X, Y> => ({
  name,
  init: (_key, inShape) => ({ outShape: inferShape(name, (x) => fn(x as X, { train: false }), inShape), params: {}, state: {} }),
  apply: (_params, state, x, ctx) => [fn(x, ctx), state],
})

/** Lifts an elementwise function `f32[...] → f32[...]` into a layer (e.g. `activation(F.tanh)`). */
export const activation = (fn: (x: Tensor) => Tensor, name = fn.name || 'activation'): Layer => stateless(name, (x: Tensor) => fn(x))

export const identity: Layer = stateless('identity', (x: Tensor) => x)
export const relu: Layer = activation(F.relu, 'relu')
/** Exact (erf) GELU, PyTorch's default. */
export const gelu: Layer = activation(F.gelu, 'gelu')
export const silu: Layer = activation(F.silu, 'silu')
export const sigmoid: Layer = activation(F.sigmoid, 'sigmoid')
export const tanh: Layer = activation(F.tanh, 'tanh')
export const softplus: Layer = activation(F.softplus, 'softplus')
/** max(x, slope·x), PyTorch's default slope 0.01. */
export const leakyRelu = (slope = 0.01): Layer => activation((x) => F.maximum(x, F.mul(x, slope)), 'leakyRelu')
/** min(max(x, 0), 6), used by MobileNet-style backbones. */
export const relu6: Layer = activation((x) => F.clip(x, 0, 6), 'relu6')

/**
 * Inverted dropout (PyTorch's `nn.Dropout`): in training each element is zeroed with probability `rate`
 * and the survivors are scaled by 1/(1 − rate), so inference is the identity. Training needs `ctx.key`
 * (combinators derive one per child); the same key gives the same mask. x: f32[...] → f32[...]
 */
export const dropout = (rate: number): Layer => {
  if (!(rate >= 0 && rate < 1)) fail('dropout', `rate must be in [0, 1), got ${rate}`)
  return stateless('dropout', (x: Tensor, ctx) => {
    if (!ctx.train || rate === 0) return x
    if (ctx.key === undefined) fail('dropout', `training needs ctx.key (a PRNG key) for input ${describeAval(x)}`)
    const keep = F.random.bernoulli(ctx.key!, 1 - rate, x.shape)
    return F.where(keep, F.div(x, 1 - rate), 0)
  })
}

/**
 * Flattens every axis from `startAxis` (default 1, PyTorch's `nn.Flatten`) into one.
 * x: f32[N,C,H,W] → f32[N,C·H·W]
 */
export const flatten = (startAxis = 1): Layer =>
  stateless('flatten', (x: Tensor) => {
    if (startAxis > x.shape.length) fail('flatten', `startAxis ${startAxis} is past the rank of ${describeAval(x)}`)
    return F.reshape(x, [...x.shape.slice(0, startAxis), x.shape.slice(startAxis).reduce((a, b) => a * b, 1)])
  })

/** `F.maxPool2d` as a layer. x: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const maxPool2d = (options: F.MaxPoolOptions): Layer => stateless('maxPool2d', (x: Tensor) => F.maxPool2d(x, options))

/** `F.avgPool2d` as a layer. x: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const avgPool2d = (options: F.AvgPoolOptions): Layer => stateless('avgPool2d', (x: Tensor) => F.avgPool2d(x, options))

/** `F.adaptiveMaxPool2d` as a layer. x: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const adaptiveMaxPool2d = (outputSize: number | readonly [number, number]): Layer =>
  stateless('adaptiveMaxPool2d', (x: Tensor) => F.adaptiveMaxPool2d(x, outputSize))

/** `F.adaptiveAvgPool2d` as a layer (outputSize 1 is global average pooling). x: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const adaptiveAvgPool2d = (outputSize: number | readonly [number, number]): Layer =>
  stateless('adaptiveAvgPool2d', (x: Tensor) => F.adaptiveAvgPool2d(x, outputSize))

/**
 * `nn.Upsample`: `F.interpolate` with `scaleFactor` or `size`, mode 'nearest' (default, FPN's top-down
 * path) or 'bilinear'. x: f32[N,C,H,W] → f32[N,C,OH,OW]
 */
export const upsample = (options: Partial<F.InterpolateOptions>): Layer => {
  if (options.size === undefined && options.scaleFactor === undefined) fail('upsample', 'needs { scaleFactor } or { size }')
  return stateless('upsample', (x: Tensor) => F.interpolate(x, { ...options, mode: options.mode ?? 'nearest' }))
}

