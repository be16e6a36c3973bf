/**
 * Layers with a weight: `linear`, `conv2d` (detectron2's `Conv2d` wrapper with optional norm and
 * activation) and `convTranspose2d`. Parameter names and layouts are PyTorch's (`weight` [out, in] for
 * linear, OIHW for conv, [Cin, Cout/groups, kh, kw] for transposed conv; `bias` [out]), so checkpoints
 * load by name without transposes.
 */
import { fail } from '../../core/errors.js'
import type { Tensor } from '../../core/tensor.js'
import { describeAval } from '../../core/tensor.js'
import * as F from '../../ops/index.js'
import * as random from '../../ops/random/index.js'
import { type WeightInitOptions, weightAndBias } from './init.js'
import { type ApplyContext, type Layer, type Shape, type ShapeTree, atPath, isShape, shapeMismatch, showShape } from './layer.js'
import { type NormSpec, getNorm } from './norm.js'
import { inferShape } from './shapes.js'

type Pair = readonly [number, number]
const pairOf = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v)
const withBias = (y: Tensor, bias: Tensor | undefined): Tensor => (bias === undefined ? y : F.add(y, F.reshape(bias, [1, bias.shape[0]!, 1, 1])))

/** The known channel count on axis 1 of an NCHW `inShape`, checked against `expected` when given. */
const imageChannels = (layer: string, inShape: ShapeTree, expected?: number): number => {
  const pattern = `[?,${expected ?? 'C'},?,?]`
  if (!isShape(inShape) || inShape.length !== 4) return shapeMismatch(layer, pattern, inShape)
  const c = inShape[1]!
  if (expected !== undefined && c !== expected) return shapeMismatch(layer, pattern, inShape)
  if (c < 0) fail(layer, `needs a known channel count (axis 1), got ${showShape(inShape)}`)
  return c
}

const checkGroups = (layer: string, groups: number, cin: number, cout: number): void => {
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0 || cout % groups !== 0) {
    fail(layer, `groups=${groups} must divide both the ${cin} input and ${cout} output channels`)
  }
}

export type LinearOptions = WeightInitOptions & {
  readonly outFeatures: number
  /** Checked against the input's last axis when given; inferred from it otherwise. */
  readonly inFeatures?: number
  /** Default true (PyTorch's `nn.Linear`). */
  readonly bias?: boolean
}

/**
 * `nn.Linear`: y = x·Wᵀ + b. params `{ weight: f32[out,in], bias?: f32[out] }`.
 * x: f32[…, in] → f32[…, out]
 */
export const linear = (options: LinearOptions): Layer<Tensor, Tensor> => {
  const { outFeatures, bias = true } = options
  const pattern = `[…,${options.inFeatures ?? 'in'}]`
  return {
    name: 'linear',
    init: (key, inShape) => {
      if (!isShape(inShape) || inShape.length < 1) return shapeMismatch('linear', pattern, inShape)
      const inFeatures = inShape[inShape.length - 1]!
      if (options.inFeatures !== undefined && inFeatures !== options.inFeatures) shapeMismatch('linear', pattern, inShape)
      if (inFeatures < 0) fail('linear', `needs a known feature count (last axis), got ${showShape(inShape)}`)
      const params = weightAndBias(key, [outFeatures, inFeatures], bias ? [outFeatures] : null, options)
      return { outShape: [...inShape.slice(0, -1), outFeatures], params, state: {} }
    },
    apply: (params, state, x) => {
      const inFeatures = params.weight.shape[1]
      if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== inFeatures) fail('linear', `expected input […,${inFeatures}], got ${describeAval(x)}`)
      return [F.linear(x, params.weight, params.bias), state]
    },
  }
}

export type Conv2dLayerOptions = WeightInitOptions & {
  readonly outChannels: number
  /** Checked against the input's axis 1 when given; inferred from it otherwise. */
  readonly inChannels?: number
  readonly kernelSize: number | Pair
  readonly stride?: number | Pair
  readonly padding?: F.Conv2dOptions['padding']
  readonly dilation?: number | Pair
  readonly groups?: number
  /** Default: true without a norm, false with one (detectron2's `bias=not norm`; checkpoints agree). */
  readonly bias?: boolean
  /** A norm after the convolution, named `norm` in params and state (see `getNorm`). */
  readonly norm?: NormSpec
  /** An elementwise function applied last, e.g. `F.relu`. */
  readonly activation?: (x: Tensor) => Tensor
}

/**
 * detectron2's `Conv2d`: convolution, then optional bias, norm and activation. params
 * `{ weight: f32[O,C/groups,kh,kw], bias?: f32[O], norm?: … }`, state `{ norm?: … }` — e.g. a ResNet
 * conv with BN has `conv1.weight`, `conv1.norm.weight`, `conv1.norm.running_var`.
 * x: f32[N,C,H,W] → f32[N,O,Ho,Wo]
 */
export const conv2d = (options: Conv2dLayerOptions): Layer<Tensor, Tensor> => {
  const { outChannels, groups = 1, norm = '', activation } = options
  const bias = options.bias ?? norm === ''
  const convOptions: F.Conv2dOptions = { stride: options.stride ?? 1, padding: options.padding ?? 0, dilation: options.dilation ?? 1, groups }
  const [kh, kw] = pairOf(options.kernelSize)
  const normLayer = getNorm(norm, outChannels)
  const convolve = (params: { weight: Tensor; bias?: Tensor }, x: Tensor): Tensor => withBias(F.conv2d(x, params.weight, convOptions), params.bias)
  return {
    name: 'conv2d',
    init: (key, inShape) => {
      const cin = imageChannels('conv2d', inShape, options.inChannels)
      checkGroups('conv2d', groups, cin, outChannels)
      const [kConv, kNorm] = random.splitKeys(key, 2) as [Tensor, Tensor]
      const conv = weightAndBias(kConv, [outChannels, cin / groups, kh, kw], bias ? [outChannels] : null, options)
      const convShape = inferShape('conv2d', (x, p) => convolve(p as typeof conv, x as Tensor), inShape, conv)
      if (normLayer === null) return { outShape: convShape, params: conv, state: {} }
      const n = atPath('norm', () => normLayer.init(kNorm, convShape))
      return { outShape: n.outShape, params: { ...conv, norm: n.params }, state: { norm: n.state } }
    },
    apply: (params, state, x, ctx: ApplyContext) => {
      const cin = params.weight.shape[1] * groups
      if (x.shape.length !== 4 || x.shape[1] !== cin) fail('conv2d', `expected input [?,${cin},?,?], got ${describeAval(x)}`)
      let y = convolve(params, x)
      let newState = state
      if (normLayer !== null) {
        const [z, normState] = atPath('norm', () => normLayer.apply(params.norm, state.norm, y, ctx))
        y = z
        newState = { ...state, norm: normState }
      }
      return [activation === undefined ? y : activation(y), newState]
    },
  }
}

export type ConvTranspose2dLayerOptions = WeightInitOptions & {
  readonly outChannels: number
  readonly inChannels?: number
  readonly kernelSize: number | Pair
  readonly stride?: number | Pair
  readonly padding?: F.ConvTranspose2dOptions['padding']
  readonly outputPadding?: number | Pair
  readonly dilation?: number | Pair
  readonly groups?: number
  /** Default true (PyTorch's `nn.ConvTranspose2d`). */
  readonly bias?: boolean
}

/**
 * `nn.ConvTranspose2d` (e.g. the mask head's 2× upsampling deconv). params
 * `{ weight: f32[Cin,O/groups,kh,kw], bias?: f32[O] }`. x: f32[N,Cin,H,W] → f32[N,O,Ho,Wo]
 */
export const convTranspose2d = (options: ConvTranspose2dLayerOptions): Layer<Tensor, Tensor> => {
  const { outChannels, groups = 1, bias = true } = options
  const [kh, kw] = pairOf(options.kernelSize)
  const opOptions: F.ConvTranspose2dOptions = {
    stride: options.stride ?? 1,
    padding: options.padding ?? 0,
    outputPadding: options.outputPadding ?? 0,
    dilation: options.dilation ?? 1,
    groups,
  }
  const run = (params: { weight: Tensor; bias?: Tensor }, x: Tensor): Tensor => withBias(F.convTranspose2d(x, params.weight, opOptions), params.bias)
  return {
    name: 'convTranspose2d',
    init: (key, inShape) => {
      const cin = imageChannels('convTranspose2d', inShape, options.inChannels)
      checkGroups('convTranspose2d', groups, cin, outChannels)
      const weightShape: Shape = [cin, outChannels / groups, kh, kw]
      const params = weightAndBias(key, weightShape, bias ? [outChannels] : null, options)
      return { outShape: inferShape('convTranspose2d', (x, p) => run(p as typeof params, x as Tensor), inShape, params), params, state: {} }
    },
    apply: (params, state, x) => {
      const cin = params.weight.shape[0]
      if (x.shape.length !== 4 || x.shape[1] !== cin) fail('convTranspose2d', `expected input [?,${cin},?,?], got ${describeAval(x)}`)
      return [run(params, x), state]
    },
  }
}
