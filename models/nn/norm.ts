/**
 * Normalization layers with PyTorch's and detectron2's parameter names and numerics. Channels are axis 1
 * (NCHW, or [N,C] / [N,C,L]); per-channel vectors are reshaped to [1,C,1,…] to broadcast.
 */
import { fail } from '../../core/errors.js'
import type { Tensor } from '../../core/tensor.js'
import { describeAval } from '../../core/tensor.js'
import * as F from '../../ops/index.js'
import { type Layer, type Shape, type ShapeTree, isShape, shapeMismatch, showShape } from './layer.js'

/** `[1,C,1,…]` view of a per-channel vector for an input of rank `rank`. */
const perChannel = (v: Tensor, rank: number): Tensor => F.reshape(v, [1, v.shape[0]!, ...Array<number>(Math.max(rank - 2, 0)).fill(1)])

/** The channel count of `inShape` (axis 1 of a rank ≥ 2 shape), checked against `channels` when given. */
const channelsOf = (layer: string, inShape: ShapeTree, channels?: number): number => {
  const pattern = channels === undefined ? '[N,C,…]' : `[?,${channels},…]`
  if (!isShape(inShape) || inShape.length < 2) return shapeMismatch(layer, pattern, inShape)
  const c = inShape[1]!
  if (channels !== undefined && c !== channels) return shapeMismatch(layer, pattern, inShape)
  if (c < 0) fail(layer, `needs a known channel count (axis 1), got ${showShape(inShape)}`)
  return c
}

/** Apply-time check that `x` has `c` channels on axis 1. */
const expectChannels = (layer: string, x: Tensor, c: number): void => {
  if (x.shape.length < 2 || x.shape[1] !== c) fail(layer, `expected input [?,${c},…], got ${describeAval(x)}`)
}

/** x·scale + shift with per-channel scale and shift. */
const affine = (x: Tensor, scale: Tensor, shift: Tensor): Tensor =>
  F.add(F.mul(x, perChannel(scale, x.shape.length)), perChannel(shift, x.shape.length))

const reduceAxes = (rank: number): number[] => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]

export type BatchNormOptions = {
  /** Expected channel count; inferred from the input shape when left out. */
  readonly channels?: number
  readonly eps?: number
  /** Weight of the new batch statistic in the running average (PyTorch's momentum, default 0.1). */
  readonly momentum?: number
}

/**
 * `nn.BatchNorm{1,2}d`. params `{ weight, bias }` (f32[C], init 1 and 0); state `{ running_mean,
 * running_var, num_batches_tracked }` (init 0, 1, i32 0). Training normalizes with the batch mean and
 * biased variance over every axis but 1, and returns running statistics updated as
 * r ← (1 − momentum)·r + momentum·batch with the *unbiased* batch variance (PyTorch's rule; gradients
 * do not flow into the state). Evaluation uses the running statistics. x: f32[N,C,…] → f32[N,C,…]
 */
export const batchNorm = (options: BatchNormOptions = {}): Layer<Tensor, Tensor> => {
  const { eps = 1e-5, momentum = 0.1 } = options
  return {
    name: 'batchNorm',
    init: (_key, inShape) => {
      const c = channelsOf('batchNorm', inShape, options.channels)
      return {
        outShape: inShape,
        params: { weight: F.ones([c]), bias: F.zeros([c]) },
        state: { running_mean: F.zeros([c]), running_var: F.ones([c]), num_batches_tracked: F.zeros([], 'int32') },
      }
    },
    apply: (params, state, x, ctx) => {
      expectChannels('batchNorm', x, params.weight.shape[0])
      if (!ctx.train) return [affine(x, ...scaleShift(params.weight, params.bias, state.running_mean, state.running_var, eps)), state]
      const axes = reduceAxes(x.shape.length)
      const n = axes.reduce((k, a) => k * x.shape[a]!, 1)
      if (n < 2) fail('batchNorm', `training needs more than one value per channel, got ${describeAval(x)}`)
      const mean = F.mean(x, axes)
      const variance = F.variance(x, axes)
      const y = affine(x, ...scaleShift(params.weight, params.bias, mean, variance, eps))
      const blend = (running: Tensor, batch: Tensor): Tensor => F.add(F.mul(running, 1 - momentum), F.mul(F.stopGradient(batch), momentum))
      const newState = {
        running_mean: blend(state.running_mean, mean),
        running_var: blend(state.running_var, F.mul(variance, n / (n - 1))),
        num_batches_tracked: F.add(state.num_batches_tracked, 1),
      }
      return [y, newState]
    },
  }
}

/** The per-channel scale w/√(var + eps) and shift b − mean·scale that a normalization reduces to. */
const scaleShift = (weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: number): [Tensor, Tensor] => {
  const scale = F.mul(weight, F.rsqrt(F.add(variance, eps)))
  return [scale, F.sub(bias, F.mul(mean, scale))]
}

/**
 * detectron2's `FrozenBatchNorm2d`: a fixed per-channel affine map, scale = weight/√(running_var + eps),
 * shift = bias − running_mean·scale, the same in training and evaluation. It has no trainable params;
 * `weight`, `bias`, `running_mean`, `running_var` are all state (as detectron2 registers them as buffers,
 * so checkpoint keys match). Init is the identity map: running_var = 1 − eps, as detectron2 does.
 * x: f32[N,C,…] → f32[N,C,…]
 */
export const frozenBatchNorm = (options: { readonly channels?: number; readonly eps?: number } = {}): Layer<Tensor, Tensor> => {
  const { eps = 1e-5 } = options
  return {
    name: 'frozenBatchNorm',
    init: (_key, inShape) => {
      const c = channelsOf('frozenBatchNorm', inShape, options.channels)
      return {
        outShape: inShape,
        params: {},
        state: { weight: F.ones([c]), bias: F.zeros([c]), running_mean: F.zeros([c]), running_var: F.full([c], 1 - eps) },
      }
    },
    apply: (_params, state, x) => {
      expectChannels('frozenBatchNorm', x, state.weight.shape[0])
      return [affine(x, ...scaleShift(state.weight, state.bias, state.running_mean, state.running_var, eps)), state]
    },
  }
}

/**
 * `nn.GroupNorm(groups, C)`: channels split into `groups` groups; each (sample, group) is normalized by
 * its own mean and biased variance over the group's channels and all spatial positions, then a
 * per-channel affine (params `weight`, `bias`: f32[C], init 1 and 0). Same in training and evaluation.
 * detectron2's 'GN' is 32 groups. x: f32[N,C,…] → f32[N,C,…]
 */
export const groupNorm = (groups: number, options: { readonly channels?: number; readonly eps?: number } = {}): Layer<Tensor, Tensor> => {
  const { eps = 1e-5 } = options
  return {
    name: 'groupNorm',
    init: (_key, inShape) => {
      const c = channelsOf('groupNorm', inShape, options.channels)
      if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) fail('groupNorm', `${groups} groups must divide the ${c} channels of input ${showShape(inShape)}`)
      return { outShape: inShape, params: { weight: F.ones([c]), bias: F.zeros([c]) }, state: {} }
    },
    apply: (params, state, x) => {
      expectChannels('groupNorm', x, params.weight.shape[0])
      const grouped = F.reshape(x, [x.shape[0]!, groups, -1])
      const mean = F.mean(grouped, -1, true)
      const variance = F.variance(grouped, -1, true)
      const normalized = F.reshape(F.mul(F.sub(grouped, mean), F.rsqrt(F.add(variance, eps))), x.shape)
      return [affine(normalized, params.weight, params.bias), state]
    },
  }
}

/**
 * `nn.LayerNorm(normalizedShape)`: normalizes over the trailing axes given by `normalizedShape` with
 * their mean and biased variance, then an elementwise affine (params `weight`, `bias` of that shape).
 * x: f32[…, *normalizedShape] → same shape
 */
export const layerNorm = (normalizedShape: number | Shape, options: { readonly eps?: number } = {}): Layer<Tensor, Tensor> => {
  const { eps = 1e-5 } = options
  const norm = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape]
  const axes = norm.map((_, i) => -1 - i)
  const pattern = `[…,${norm.join(',')}]`
  const fits = (s: Shape): boolean => s.length >= norm.length && norm.every((d, i) => s[s.length - norm.length + i] === d)
  return {
    name: 'layerNorm',
    init: (_key, inShape) => {
      if (!isShape(inShape) || !fits(inShape)) shapeMismatch('layerNorm', pattern, inShape)
      return { outShape: inShape, params: { weight: F.ones(norm), bias: F.zeros(norm) }, state: {} }
    },
    apply: (params, state, x) => {
      if (!fits(x.shape)) fail('layerNorm', `expected input ${pattern}, got ${describeAval(x)}`)
      const mean = F.mean(x, axes, true)
      const normalized = F.mul(F.sub(x, mean), F.rsqrt(F.add(F.variance(x, axes, true), eps)))
      return [F.add(F.mul(normalized, params.weight), params.bias), state]
    },
  }
}

/**
 * detectron2's `LayerNorm` for images (its 'LN' norm, from ConvNeXt): normalizes each pixel over the
 * channel axis (mean, biased variance, eps 1e-6), then a per-channel affine. x: f32[N,C,H,W] → same
 */
export const channelLayerNorm = (options: { readonly channels?: number; readonly eps?: number } = {}): Layer<Tensor, Tensor> => {
  const { eps = 1e-6 } = options
  return {
    name: 'channelLayerNorm',
    init: (_key, inShape) => {
      const c = channelsOf('channelLayerNorm', inShape, options.channels)
      return { outShape: inShape, params: { weight: F.ones([c]), bias: F.zeros([c]) }, state: {} }
    },
    apply: (params, state, x) => {
      expectChannels('channelLayerNorm', x, params.weight.shape[0])
      const mean = F.mean(x, 1, true)
      const normalized = F.mul(F.sub(x, mean), F.rsqrt(F.add(F.variance(x, 1, true), eps)))
      return [affine(normalized, params.weight, params.bias), state]
    },
  }
}

/**
 * A norm as detectron2's config names it (`get_norm`): '' (none), 'BN' (also 'SyncBN', 'naiveSyncBN',
 * 'nnSyncBN': one process has one replica, so synchronizing is plain BatchNorm), 'FrozenBN', 'GN' (32
 * groups), 'LN' (channel LayerNorm); or a layer; or a function of the channel count giving a layer.
 */
export type NormSpec = '' | 'BN' | 'SyncBN' | 'naiveSyncBN' | 'nnSyncBN' | 'FrozenBN' | 'GN' | 'LN' | Layer | ((channels: number) => Layer)

/** The layer for `spec` over `channels` channels, or null for ''. */
export const getNorm = (spec: NormSpec, channels: number): Layer | null => {
  if (typeof spec === 'function') return spec(channels)
  if (typeof spec === 'object') return spec
  switch (spec) {
    case '':
      return null
    case 'BN':
    case 'SyncBN':
    case 'naiveSyncBN':
    case 'nnSyncBN':
      return batchNorm({ channels })
    case 'FrozenBN':
      return frozenBatchNorm({ channels })
    case 'GN':
      return groupNorm(32, { channels })
    case 'LN':
      return channelLayerNorm({ channels })
    default:
      return fail('getNorm', `unknown norm ${JSON.stringify(spec satisfies never)}; expected '', 'BN', 'SyncBN', 'FrozenBN', 'GN', 'LN', a layer or a function of channels`)
  }
}
