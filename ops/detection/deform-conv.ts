/**
 * Deformable convolution v1 (Dai et al. 2017) and v2 / modulated (Zhu et al. 2019), with the semantics
 * of torchvision's `deform_conv2d` and detectron2's `DeformConv` / `ModulatedDeformConv`: im2col of the
 * deformed samples (the deformSample primitive) followed by a GEMM (`matmul`, the blocked CPU GEMM of
 * linalg/gemm.ts and the tiled WGSL GEMM). Gradients: x and offset through deformSample's rules, the
 * mask through the elementwise product, the weight through matmul's — all exact compositions.
 *
 * Memory: the column matrix is [N, C·kh·kw, Ho·Wo] floats (torchvision builds it too, in chunks of
 * `im2col_step` images); for a 256-channel 3×3 layer on a 100×100 map that is 92 MB per image.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { mul } from '../elementwise/binary.js'
import { matmul } from '../linalg/matmul.js'
import { type PairOption, convOutputSize, parsePair } from '../linalg/conv-shape.js'
import { describeAll, expectDTypes } from '../operand.js'
import { reshape } from '../shape/basic.js'
import { deformSample } from './deform-sample.js'

export type DeformConv2dOptions = {
  readonly stride?: PairOption
  /** Zero padding on each side, symmetric per axis (torchvision's `padding`). */
  readonly padding?: PairOption
  readonly dilation?: PairOption
  /** Channel groups of the convolution itself (the weight is [O, C/groups, kh, kw]). */
  readonly groups?: number
  /** Channel groups that share one set of offsets (and mask): input channel c uses group c / (C/dg). */
  readonly deformableGroups?: number
}

const OP = 'deformConv2d'

/**
 * Deformable 2-D convolution (no bias: add it afterwards, as with conv2d). x: f32[N,C,H,W],
 * offset: f32[N, 2·dg·kh·kw, Ho, Wo] as (Δy, Δx) pairs per deformable group and kernel tap (channel
 * (g·kh·kw + ki·kw + kj)·2 + {0: Δy, 1: Δx}), weight: f32[O, C/groups, kh, kw], optional mask (v2):
 * f32[N, dg·kh·kw, Ho, Wo] multiplying each sample → f32[N, O, Ho, Wo], with Ho = ⌊(H + 2·ph −
 * dh·(kh − 1) − 1)/sh⌋ + 1. Tap (ki, kj) of output (oh, ow) reads x bilinearly at
 * (oh·sh − ph + ki·dh + Δy, ow·sw − pw + kj·dw + Δx), zero outside the image. With zero offsets (and a
 * mask of ones) this is conv2d. Offsets must be finite: a NaN offset reads an unspecified value.
 */
export const deformConv2d = (x: Tensor, offset: Tensor, weight: Tensor, options: DeformConv2dOptions = {}, mask?: Tensor): Tensor => {
  const operands = mask === undefined ? [x, offset, weight] : [x, offset, weight, mask]
  const described = () => describeAll(operands)
  expectDTypes(OP, operands, ['float32'])
  const names = ['x [N,C,H,W]', 'offset [N,2·dg·kh·kw,Ho,Wo]', 'weight [O,C/groups,kh,kw]', 'mask [N,dg·kh·kw,Ho,Wo]']
  operands.forEach((t, i) => {
    if (t.shape.length !== 4) fail(OP, `${names[i]} must be 4-D, got ${describeAval(t)} (${described()})`)
  })
  const stride = parsePair(OP, 'stride', options.stride, 1, 1)
  const padding = parsePair(OP, 'padding', options.padding, 0, 0)
  const dilation = parsePair(OP, 'dilation', options.dilation, 1, 1)
  const groups = options.groups ?? 1
  const dg = options.deformableGroups ?? 1
  const [n, c, h, w] = x.shape as [number, number, number, number]
  const [o, cg, kh, kw] = weight.shape as [number, number, number, number]
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0) {
    fail(OP, `groups=${groups} must be a positive integer dividing both the ${c} input and ${o} output channels (${described()})`)
  }
  if (cg * groups !== c) fail(OP, `channel mismatch: x has ${c} channels but the weight expects ${cg}×groups=${cg * groups} (${described()})`)
  if (!Number.isInteger(dg) || dg < 1 || c % dg !== 0) fail(OP, `deformableGroups=${dg} must be a positive integer dividing the ${c} input channels (${described()})`)
  const ho = convOutputSize(h, kh, stride[0], padding[0], padding[0], dilation[0])
  const wo = convOutputSize(w, kw, stride[1], padding[1], padding[1], dilation[1])
  if (ho < 1 || wo < 1) fail(OP, `output size ${ho}×${wo} is empty: kernel ${kh}×${kw} (dilation [${dilation.join(', ')}]) does not fit the padded input (${described()}, padding [${padding.join(', ')}])`)
  const kk = kh * kw
  const expect = (t: Tensor, channels: number, what: string): void => {
    const want = [n, channels, ho, wo]
    if (want.some((d, i) => d !== t.shape[i])) fail(OP, `${what} must be [${want.join(',')}] (${described()}, deformableGroups ${dg})`)
  }
  expect(offset, 2 * dg * kk, 'offset')
  if (mask !== undefined) expect(mask, dg * kk, 'mask')
  const sampled = deformSample(x, offset, { kernel: [kh, kw], stride, padding, dilation, deformableGroups: dg })
  const cols = mask === undefined
    ? sampled
    : reshape(mul(reshape(sampled, [n, dg, c / dg, kk, ho * wo]), reshape(mask, [n, dg, 1, kk, ho * wo])), sampled.shape)
  const y = matmul(reshape(weight, [groups, o / groups, cg * kk]), reshape(cols, [n, groups, cg * kk, ho * wo]))
  return reshape(y, [n, o, ho, wo])
}
