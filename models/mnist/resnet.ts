/**
 * A small ResNet for 28×28 digit images (He et al. 2016, "Deep Residual Learning", the CIFAR variant:
 * 3×3 basic blocks, one stage per width, stride-2 projection shortcuts between stages), built only from
 * `models/nn` layers and combinators. Parameter names follow detectron2's ResNet
 * (`stem.conv1.weight`, `stem.conv1.norm.running_mean`, `res3.0.shortcut.weight`, `linear.weight`), so a
 * checkpoint reads like a detectron2 state dict.
 *
 * `buildMnistResNet(cfg)` is the config-driven factory the MNIST job registers as a META_ARCH; it reads
 * the config structurally, so this folder does not import the registry (DESIGN.md: models/ sits below it).
 */
import { fail } from '../../core/errors.js'
import type { Tensor } from '../../core/tensor.js'
import * as F from '../../ops/index.js'
import { c2MsraFill } from '../nn/init.js'
import type { Layer } from '../nn/layer.js'
import { conv2d, linear } from '../nn/linear.js'
import type { NormSpec } from '../nn/norm.js'
import { named, repeat, residual } from '../nn/combinators.js'
import { adaptiveAvgPool2d, flatten, stateless } from '../nn/stateless.js'

export type MnistResNetOptions = {
  /** Channels of the stem's 3×3 convolution. */
  readonly stemChannels: number
  /** Stride of the stem (default 1; 2 runs every stage at a quarter of the pixels). */
  readonly stemStride?: number
  /** Output channels of each residual stage (`res2`, `res3`, …); every stage after the first halves H and W. */
  readonly stageChannels: readonly number[]
  /** Basic blocks per stage (same length as `stageChannels`). */
  readonly stageBlocks: readonly number[]
  readonly numClasses: number
  /** Per-channel input normalization, (x − mean) / std, as detectron2's meta-architectures apply it. */
  readonly pixelMean?: readonly number[]
  readonly pixelStd?: readonly number[]
  /** detectron2 norm name for every convolution (default 'BN'). */
  readonly norm?: NormSpec
}

/** Applies `fn` to a layer's output; params, state and their names are the layer's own. */
const thenApply = (layer: Layer, fn: (y: Tensor) => Tensor): Layer => ({
  name: layer.name ?? 'thenApply',
  init: layer.init,
  apply: (params, state, x, ctx) => {
    const [y, next] = layer.apply(params, state, x, ctx)
    return [fn(y as Tensor), next]
  },
})

/**
 * detectron2's `BasicBlock`: relu(conv2(relu(conv1(x))) + shortcut(x)), each conv followed by its norm;
 * the shortcut is a 1×1 projection (with norm) when the stride or the width changes, the identity otherwise.
 * params `{ conv1, conv2, shortcut? }`. x: f32[N,cin,H,W] → f32[N,cout,H/stride,W/stride]
 */
export const basicBlock = (cin: number, cout: number, stride: number, norm: NormSpec): Layer => {
  const conv = (inChannels: number, kernelSize: number, s: number, relu: boolean) =>
    conv2d({ inChannels, outChannels: cout, kernelSize, stride: s, padding: (kernelSize - 1) / 2, norm, weightInit: c2MsraFill, ...(relu ? { activation: F.relu } : {}) })
  const body = named({ conv1: conv(cin, 3, stride, true), conv2: conv(cout, 3, 1, false) })
  const shortcut = cin !== cout || stride !== 1 ? conv(cin, 1, stride, false) : undefined
  return thenApply(residual(body, shortcut), F.relu)
}

/** (x − mean) / std per channel, with constants from the config (not params: they are not trained or saved). */
const normalizePixels = (mean: readonly number[], std: readonly number[]): Layer => {
  if (mean.length !== std.length || std.some((s) => !(s > 0))) fail('mnistResNet', `pixelMean [${mean.join(', ')}] and pixelStd [${std.join(', ')}] need one positive std per mean`)
  const shape = [1, mean.length, 1, 1]
  return stateless('normalizePixels', (x: Tensor) => {
    if (x.shape.length !== 4 || x.shape[1] !== mean.length) fail('normalizePixels', `expected input [N,${mean.length},H,W], got [${x.shape.join(',')}]`)
    return F.div(F.sub(x, F.tensor(mean, { shape })), F.tensor(std, { shape }))
  })
}

/**
 * The classifier: normalize → stem (3×3 conv with stride `stemStride`, norm, ReLU) → stages `res2 … res{k+1}` of basic blocks →
 * global average pool → `linear`. x: f32[N,1,28,28] → logits f32[N,numClasses]
 */
export const mnistResNet = (options: MnistResNetOptions): Layer => {
  const { stemChannels, stemStride = 1, stageChannels, stageBlocks, numClasses, norm = 'BN' } = options
  if (stageChannels.length === 0 || stageChannels.length !== stageBlocks.length) {
    fail('mnistResNet', `stageChannels [${stageChannels.join(', ')}] and stageBlocks [${stageBlocks.join(', ')}] must be non-empty lists of one length`)
  }
  const stages = Object.fromEntries(
    stageChannels.map((cout, s) => {
      const cin = s === 0 ? stemChannels : stageChannels[s - 1]!
      const block = (i: number) => basicBlock(i === 0 ? cin : cout, cout, i === 0 && s > 0 ? 2 : 1, norm)
      return [`res${s + 2}`, repeat(stageBlocks[s]!, block)]
    }),
  )
  return named({
    normalize: normalizePixels(options.pixelMean ?? [0], options.pixelStd ?? [1]),
    stem: named({ conv1: conv2d({ outChannels: stemChannels, kernelSize: 3, stride: stemStride, padding: 1, norm, activation: F.relu, weightInit: c2MsraFill }) }),
    ...stages,
    pool: adaptiveAvgPool2d(1),
    flatten: flatten(),
    // PyTorch's default nn.Linear init, not detectron2's std 0.01: with a head that small the gradients
    // reaching the stages start ~20× smaller and a short run spends its first epoch waking them up.
    linear: linear({ outFeatures: numClasses }),
  })
}

/** The config keys `buildMnistResNet` reads (detectron2's `MODEL` section plus `MODEL.MNIST_RESNET`). */
export type MnistResNetConfig = {
  readonly MODEL: {
    readonly PIXEL_MEAN: readonly number[]
    readonly PIXEL_STD: readonly number[]
    readonly RESNETS: { readonly NORM: string; readonly STEM_OUT_CHANNELS: number; readonly RES2_OUT_CHANNELS: number }
    readonly MNIST_RESNET: { readonly STEM_STRIDE: number; readonly STAGE_BLOCKS: readonly number[]; readonly NUM_CLASSES: number }
  }
}

/**
 * The META_ARCH factory: `mnistResNet` from a config. As in detectron2's ResNet, stage widths start at
 * `RESNETS.RES2_OUT_CHANNELS` and double per stage; `MNIST_RESNET.STAGE_BLOCKS` gives the block counts.
 */
export const buildMnistResNet = (cfg: MnistResNetConfig): Layer => {
  const { PIXEL_MEAN, PIXEL_STD, RESNETS, MNIST_RESNET } = cfg.MODEL
  return mnistResNet({
    stemChannels: RESNETS.STEM_OUT_CHANNELS,
    stemStride: MNIST_RESNET.STEM_STRIDE,
    stageChannels: MNIST_RESNET.STAGE_BLOCKS.map((_, s) => RESNETS.RES2_OUT_CHANNELS * 2 ** s),
    stageBlocks: MNIST_RESNET.STAGE_BLOCKS,
    numClasses: MNIST_RESNET.NUM_CLASSES,
    pixelMean: PIXEL_MEAN,
    pixelStd: PIXEL_STD,
    norm: RESNETS.NORM as NormSpec,
  })
}
