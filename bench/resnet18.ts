/**
 * ResNet-18 (He et al. 2016, torchvision's layout) forward pass in eval mode, written once per library
 * over the same host parameters: conv1 7×7/2 pad 3, max-pool 3×3/2 pad 1, four stages of two
 * BasicBlocks (64, 128, 256, 512 channels; the first block of stages 2–4 has stride 2 and a 1×1/2
 * downsample conv on the shortcut), global average pool, fc 1000.
 *
 * Batch norm in eval mode is an affine map per channel, so it is folded into the conv before it: every
 * conv here has a bias (`<name>.bias`) standing for the folded BN, and there is no separate BN
 * parameter. Parameter names follow torchvision (`layer2.0.downsample.0.weight`); conv weights are OIHW,
 * `fc.weight` is [1000, 512] as in PyTorch. Weights are He-uniform from fixed seeds, so every run and
 * every library sees the same numbers.
 *
 * - fovea: NCHW activations, OIHW weights, plain functions over a params record.
 * - tfjs: NHWC activations and HWIO filters (the only conv layout tfjs-backend-webgpu has), the same
 *   numbers permuted once on the host before timing; explicit numeric padding, since tfjs's 'same'
 *   pads a stride-2 conv asymmetrically (0 before, 1 after) where PyTorch pads 1 on both sides.
 * - jax-js: `lax.convGeneralDilated` is NCHW/OIHW like fovea. Its max-pool is `lax.reduceWindow` over
 *   an explicitly padded input; the pad is zeros rather than −∞, which gives the same result here
 *   because the pool follows a ReLU (every window holds a real value ≥ 0).
 */
import type * as tfType from '@tensorflow/tfjs-core'
import type * as jaxType from '@jax-js/jax'
import * as F from '../index.js'
import { permuteHost, uniformHost } from './harness.js'

export type HostTensor = { readonly data: Float32Array; readonly shape: readonly number[] }

/** A conv of the network: where its parameters live and how it slides. */
type ConvSpec = { readonly name: string; readonly inC: number; readonly outC: number; readonly k: number; readonly stride: number; readonly pad: number }

type BlockSpec = { readonly prefix: string; readonly conv1: ConvSpec; readonly conv2: ConvSpec; readonly downsample: ConvSpec | null }

const conv = (name: string, inC: number, outC: number, k: number, stride: number): ConvSpec => ({ name, inC, outC, k, stride, pad: (k - 1) >> 1 })

const stem = conv('conv1', 3, 64, 7, 2)

/** The eight BasicBlocks, stage by stage (torchvision `layer1` … `layer4`). */
const blocks: readonly BlockSpec[] = [64, 128, 256, 512].flatMap((channels, stage) => [0, 1].map((b) => {
  const prefix = `layer${stage + 1}.${b}`
  const inC = b === 0 ? (stage === 0 ? 64 : channels / 2) : channels
  const stride = b === 0 && stage > 0 ? 2 : 1
  return {
    prefix,
    conv1: conv(`${prefix}.conv1`, inC, channels, 3, stride),
    conv2: conv(`${prefix}.conv2`, channels, channels, 3, 1),
    downsample: stride !== 1 || inC !== channels ? conv(`${prefix}.downsample.0`, inC, channels, 1, stride) : null,
  }
}))

const allConvs: readonly ConvSpec[] = [stem, ...blocks.flatMap((b) => (b.downsample === null ? [b.conv1, b.conv2] : [b.conv1, b.conv2, b.downsample]))]

export const RESNET18_INPUT_SHAPE = [1, 3, 224, 224] as const
export const RESNET18_CLASSES = 1000

/**
 * Host parameters, name → {data, shape}: conv weights OIHW He-uniform (limit √(6/fan-in)), the last
 * conv of each residual branch scaled by ½ so activations stay in a modest range over eight residual
 * additions without BN statistics; folded-BN biases in ±0.1; fc [1000, 512] and its bias.
 */
export const resnet18HostParams = (seed = 1000): Readonly<Record<string, HostTensor>> => {
  const params: Record<string, HostTensor> = {}
  allConvs.forEach((c, i) => {
    const fanIn = c.inC * c.k * c.k
    const limit = Math.sqrt(6 / fanIn) * (c.name.endsWith('conv2') ? 0.5 : 1)
    params[`${c.name}.weight`] = { data: uniformHost(seed + 2 * i, c.outC * fanIn, -limit, limit), shape: [c.outC, c.inC, c.k, c.k] }
    params[`${c.name}.bias`] = { data: uniformHost(seed + 2 * i + 1, c.outC, -0.1, 0.1), shape: [c.outC] }
  })
  const fcLimit = Math.sqrt(6 / 512)
  params['fc.weight'] = { data: uniformHost(seed + 500, RESNET18_CLASSES * 512, -fcLimit, fcLimit), shape: [RESNET18_CLASSES, 512] }
  params['fc.bias'] = { data: uniformHost(seed + 501, RESNET18_CLASSES, -0.1, 0.1), shape: [RESNET18_CLASSES] }
  return params
}

/** The input image batch, f32[1,3,224,224] NCHW in [-1, 1). */
export const resnet18HostInput = (seed = 999): HostTensor => ({ data: uniformHost(seed, 3 * 224 * 224), shape: RESNET18_INPUT_SHAPE })

const mapRecord = <A, B>(r: Readonly<Record<string, A>>, fn: (a: A, key: string) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fn(v, k)]))

// ---------------------------------------------------------------- fovea (NCHW / OIHW)

export type FoveaParams = Readonly<Record<string, F.Tensor>>

export const foveaResnet18Params = (host: Readonly<Record<string, HostTensor>>): FoveaParams =>
  mapRecord(host, (t) => F.tensor(t.data, { shape: t.shape }))

const foveaConv = (p: FoveaParams, c: ConvSpec, x: F.Tensor): F.Tensor =>
  F.add(F.conv2d(x, p[`${c.name}.weight`]!, { stride: c.stride, padding: c.pad }), F.reshape(p[`${c.name}.bias`]!, [1, c.outC, 1, 1]))

const foveaBlock = (p: FoveaParams, b: BlockSpec, x: F.Tensor): F.Tensor => {
  const branch = foveaConv(p, b.conv2, F.relu(foveaConv(p, b.conv1, x)))
  const shortcut = b.downsample === null ? x : foveaConv(p, b.downsample, x)
  return F.relu(F.add(branch, shortcut))
}

/** fovea ResNet-18 forward. x: f32[N,3,224,224] → logits f32[N,1000]. */
export const foveaResnet18 = (p: FoveaParams, x: F.Tensor): F.Tensor => {
  const stemOut = F.maxPool2d(F.relu(foveaConv(p, stem, x)), { kernelSize: 3, stride: 2, padding: 1 })
  const features = F.mean(blocks.reduce((h, b) => foveaBlock(p, b, h), stemOut), [2, 3])
  return F.linear(features, p['fc.weight']!, p['fc.bias']!)
}

// ---------------------------------------------------------------- tfjs (NHWC / HWIO)

type TF = typeof tfType
export type TfjsParams = Readonly<Record<string, tfType.Tensor>>

/** tfjs parameters: conv weights permuted OIHW → HWIO on the host; biases and fc unchanged. */
export const tfjsResnet18Params = (tf: TF, host: Readonly<Record<string, HostTensor>>): TfjsParams =>
  mapRecord(host, (t, name) => {
    if (t.shape.length !== 4) return tf.tensor(t.data, [...t.shape])
    const [o, i, kh, kw] = t.shape as [number, number, number, number]
    return tf.tensor4d(permuteHost(t.data, t.shape, [2, 3, 1, 0]), [kh, kw, i, o])
  })

/** The input permuted NCHW → NHWC on the host. */
export const tfjsResnet18Input = (tf: TF, x: HostTensor): tfType.Tensor4D => {
  const [n, c, h, w] = x.shape as [number, number, number, number]
  return tf.tensor4d(permuteHost(x.data, x.shape, [0, 2, 3, 1]), [n, h, w, c])
}

const tfjsConv = (tf: TF, p: TfjsParams, c: ConvSpec, x: tfType.Tensor4D): tfType.Tensor4D =>
  tf.add(tf.conv2d(x, p[`${c.name}.weight`] as tfType.Tensor4D, c.stride, c.pad), p[`${c.name}.bias`]!)

const tfjsBlock = (tf: TF, p: TfjsParams, b: BlockSpec, x: tfType.Tensor4D): tfType.Tensor4D => {
  const branch = tfjsConv(tf, p, b.conv2, tf.relu(tfjsConv(tf, p, b.conv1, x)))
  const shortcut = b.downsample === null ? x : tfjsConv(tf, p, b.downsample, x)
  return tf.relu(tf.add(branch, shortcut)) as tfType.Tensor4D
}

/** tfjs ResNet-18 forward (call inside `tf.tidy`). x: f32[N,224,224,3] → logits f32[N,1000]. */
export const tfjsResnet18 = (tf: TF, p: TfjsParams, x: tfType.Tensor4D): tfType.Tensor2D => {
  const stemOut = tf.maxPool(tf.relu(tfjsConv(tf, p, stem, x)), 3, 2, 1)
  const features = tf.mean(blocks.reduce((h, b) => tfjsBlock(tf, p, b, h), stemOut), [1, 2]) as tfType.Tensor2D
  return tf.add(tf.matMul(features, p['fc.weight'] as tfType.Tensor2D, false, true), p['fc.bias']!)
}

// ---------------------------------------------------------------- jax-js (NCHW / OIHW, owned references)

type JAX = typeof jaxType
type JArray = jaxType.numpy.Array
export type JaxParams = Readonly<Record<string, JArray>>

export const jaxResnet18Params = (jax: JAX, host: Readonly<Record<string, HostTensor>>): JaxParams =>
  mapRecord(host, (t) => jax.numpy.array(t.data).reshape([...t.shape]))

// jax-js functions take ownership of their arguments: a value used again later is passed as `.ref`
// (the block input feeds both the branch and the shortcut).
const jaxConv = (jax: JAX, p: JaxParams, c: ConvSpec, x: JArray): JArray => {
  const { lax, numpy: np } = jax
  const y = lax.convGeneralDilated(x, p[`${c.name}.weight`]!, [c.stride, c.stride], [[c.pad, c.pad], [c.pad, c.pad]])
  return np.add(y, np.reshape(p[`${c.name}.bias`]!, [1, c.outC, 1, 1]))
}

const jaxBlock = (jax: JAX, p: JaxParams, b: BlockSpec, x: JArray): JArray => {
  const { nn, numpy: np } = jax
  const branch = jaxConv(jax, p, b.conv2, nn.relu(jaxConv(jax, p, b.conv1, x.ref)))
  const shortcut = b.downsample === null ? x : jaxConv(jax, p, b.downsample, x)
  return nn.relu(np.add(branch, shortcut))
}

/**
 * jax-js ResNet-18 forward. Consumes `x` and every parameter (each is used exactly once), as jax-js
 * functions do: pass `.ref`s (`jax.tree.ref(p)`) to keep them. x: f32[N,3,224,224] → logits f32[N,1000].
 */
export const jaxResnet18 = (jax: JAX, p: JaxParams, x: JArray): JArray => {
  const { lax, nn, numpy: np } = jax
  const h = np.pad(nn.relu(jaxConv(jax, p, stem, x)), [[0, 0], [0, 0], [1, 1], [1, 1]])
  const stemOut = lax.reduceWindow(h, (w) => np.max(w), [3, 3], [2, 2])
  const features = np.mean(blocks.reduce((acc, b) => jaxBlock(jax, p, b, acc), stemOut), [2, 3])
  return np.add(np.matmul(features, np.transpose(p['fc.weight']!)), p['fc.bias']!)
}
