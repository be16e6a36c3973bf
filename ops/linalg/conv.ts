/**
 * 2-D convolution as three bilinear primitives that close under differentiation:
 *
 *   y = conv2d(x, w)            z = conv2dInputGrad(g, w)     v = conv2dWeightGrad(x, g)
 *
 * where conv2dInputGrad is conv2d's adjoint in x (the transposed convolution) and conv2dWeightGrad its
 * adjoint in w, i.e. ⟨conv2d(x, w), g⟩ = ⟨x, inputGrad(g, w)⟩ = ⟨w, weightGrad(x, g)⟩. Every vjp is then
 * one of the other two, so gradients of any order stay inside the family (as in JAX's conv_general_dilated
 * transpose rules). Public ops: `conv2d` and `convTranspose2d` (PyTorch semantics, NCHW/OIHW).
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { add } from '../elementwise/binary.js'
import { describeAll } from '../operand.js'
import { batchFirst, moveAxis, reshape } from '../shape/basic.js'
import { conv2dInputGradKernel, conv2dKernel, conv2dWeightGradKernel } from './conv-kernels.js'
import { conv2dGpu, conv2dInputGradGpu, conv2dWeightGradGpu } from './conv-wgsl.js'
import {
  type ConvInputGradParams, type ConvParams, type ConvWeightGradParams, type Pair, type PaddingOption, type PairOption,
  convGeometry, expectImages, expectOutputShape, parsePadding, parsePair,
} from './conv-shape.js'

const base = (p: ConvParams): ConvParams => ({ stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups })
const spatial = (x: Aval): Pair => [x.shape[2]!, x.shape[3]!]
const kernelOf = (w: Aval): Pair => [w.shape[2]!, w.shape[3]!]

const conv = (x: Tensor, w: Tensor, p: ConvParams): Tensor => bind1(conv2dRule, [x, w], base(p))
const inputGrad = (g: Tensor, w: Tensor, p: ConvParams, inputSize: Pair): Tensor => bind1(conv2dInputGradRule, [g, w], { ...base(p), inputSize })
const weightGrad = (x: Tensor, g: Tensor, p: ConvParams, kernelSize: Pair): Tensor => bind1(conv2dWeightGradRule, [x, g], { ...base(p), kernelSize })

/** Sum of two tangent contributions where either may be absent. */
const plus = (a: Tensor | null, b: Tensor | null): Tensor | null => (a === null ? b : b === null ? a : add(a, b))

// Batching. An image batched on B is folded either into N ([B·N, C, H, W], when the weight is shared) or
// into the channels ([N, B·C, H, W]) with the weights stacked along O and groups multiplied by B: group
// b·G + i then sees exactly image b's group i, so any mix of batched operands becomes one convolution.
const foldIntoN = (x: Tensor, d: BatchDim, n: number): Tensor => {
  const xb = batchFirst(x, d, n)
  return reshape(xb, [n * xb.shape[1]!, ...xb.shape.slice(2)])
}
const unfoldN = (y: Tensor, n: number): Tensor => reshape(y, [n, y.shape[0]! / n, ...y.shape.slice(1)])
const foldIntoChannels = (x: Tensor, d: BatchDim, n: number): Tensor => {
  const xb = moveAxis(batchFirst(x, d, n), 0, 1)
  return reshape(xb, [xb.shape[0]!, n * xb.shape[2]!, ...xb.shape.slice(3)])
}
const unfoldChannels = (y: Tensor, n: number): Tensor => reshape(y, [y.shape[0]!, n, y.shape[1]! / n, ...y.shape.slice(2)])
const foldWeights = (w: Tensor, d: BatchDim, n: number): Tensor => foldIntoN(w, d, n)
const timesGroups = <P extends ConvParams>(p: P, n: number): P => ({ ...p, groups: p.groups * n })

/** vmap for an (image, weight) → image primitive: conv2d and conv2dInputGrad. */
const vmapImageWeight = <P extends ConvParams>(rule: () => Rule<P>) => ([x, w]: readonly Tensor[], [dx, dw]: readonly BatchDim[], p: P, n: number): [Tensor[], BatchDim[]] => {
  if (dw === null) return [[unfoldN(bind1(rule(), [foldIntoN(x!, dx!, n), w!], p), n)], [0]]
  const y = bind1(rule(), [foldIntoChannels(x!, dx!, n), foldWeights(w!, dw!, n)], timesGroups(p, n))
  return [[unfoldChannels(y, n)], [1]]
}

export const conv2dRule: Rule<ConvParams> = {
  name: 'conv2d',
  abstractEval: ([x, w], p) => {
    expectImages('conv2d', [x!, w!], ['x', 'w'])
    const g = convGeometry('conv2d', x!.shape, w!.shape, p, () => `x ${describeAval(x!)}, w ${describeAval(w!)}`)
    return [{ shape: [g.n, g.o, g.ho, g.wo], dtype: 'float32' }]
  },
  cpu: ([x, w], p) => [conv2dKernel(x!.data as Float32Array, w!.data as Float32Array, convGeometry('conv2d', x!.shape, w!.shape, p, () => ''))],
  webgpu: (ctx, [x, w], p, [o]) => [conv2dGpu(ctx, x!, w!, convGeometry('conv2d', x!.shape, w!.shape, p, () => ''), o!)],
  jvp: ([x, w], [tx, tw], p) => [plus(tx && conv(tx, w!, p), tw && conv(x!, tw, p))],
  vjp: ([gy], [x, w], p, _, [wantX, wantW]) => (gy === null ? [null, null] : [
    wantX ? inputGrad(gy, w!, p, spatial(x!)) : null,
    wantW ? weightGrad(x!, gy, p, kernelOf(w!)) : null,
  ]),
  vmap: (args, dims, p, n) => vmapImageWeight(() => conv2dRule)(args, dims, p, n),
}

export const conv2dInputGradRule: Rule<ConvInputGradParams> = {
  name: 'conv2dInputGrad',
  abstractEval: ([g, w], p) => {
    expectImages('conv2dInputGrad', [g!, w!], ['g', 'w'])
    const [n, o] = g!.shape as [number, number]
    const x = [n, w!.shape[1]! * p.groups, ...p.inputSize]
    const described = () => `${describeAll([g!, w!])}, input size [${p.inputSize.join(',')}]`
    if (w!.shape[0] !== o) fail('conv2dInputGrad', `channel mismatch: g has ${o} channels but w has ${w!.shape[0]} output channels (${described()})`)
    const geom = convGeometry('conv2dInputGrad', x, w!.shape, p, described)
    expectOutputShape('conv2dInputGrad', g!, geom, described)
    return [{ shape: x, dtype: 'float32' }]
  },
  cpu: ([g, w], p, [o]) => [conv2dInputGradKernel(g!.data as Float32Array, w!.data as Float32Array, convGeometry('conv2dInputGrad', o!.shape, w!.shape, p, () => ''))],
  webgpu: (ctx, [g, w], p, [o]) => [conv2dInputGradGpu(ctx, g!, w!, convGeometry('conv2dInputGrad', o!.shape, w!.shape, p, () => ''), o!)],
  jvp: ([g, w], [tg, tw], p) => [plus(tg && inputGrad(tg, w!, p, p.inputSize), tw && inputGrad(g!, tw, p, p.inputSize))],
  vjp: ([gz], [g, w], p, _, [wantG, wantW]) => (gz === null ? [null, null] : [
    wantG ? conv(gz, w!, p) : null,
    wantW ? weightGrad(gz, g!, p, kernelOf(w!)) : null,
  ]),
  vmap: (args, dims, p, n) => vmapImageWeight(() => conv2dInputGradRule)(args, dims, p, n),
}

export const conv2dWeightGradRule: Rule<ConvWeightGradParams> = {
  name: 'conv2dWeightGrad',
  abstractEval: ([x, g], p) => {
    expectImages('conv2dWeightGrad', [x!, g!], ['x', 'g'])
    const described = () => `${describeAll([x!, g!])}, kernel size [${p.kernelSize.join(',')}]`
    const w = [g!.shape[1]!, x!.shape[1]! / p.groups, ...p.kernelSize]
    if (!Number.isInteger(w[1])) fail('conv2dWeightGrad', `groups=${p.groups} must divide the ${x!.shape[1]} input channels (${described()})`)
    const geom = convGeometry('conv2dWeightGrad', x!.shape, w, p, described)
    expectOutputShape('conv2dWeightGrad', g!, geom, described)
    return [{ shape: w, dtype: 'float32' }]
  },
  cpu: ([x, g], p, [o]) => [conv2dWeightGradKernel(x!.data as Float32Array, g!.data as Float32Array, convGeometry('conv2dWeightGrad', x!.shape, o!.shape, p, () => ''))],
  webgpu: (ctx, [x, g], p, [o]) => [conv2dWeightGradGpu(ctx, x!, g!, convGeometry('conv2dWeightGrad', x!.shape, o!.shape, p, () => ''), o!)],
  jvp: ([x, g], [tx, tg], p) => [plus(tx && weightGrad(tx, g!, p, p.kernelSize), tg && weightGrad(x!, tg, p, p.kernelSize))],
  vjp: ([gv], [x, g], p, _, [wantX, wantG]) => (gv === null ? [null, null] : [
    wantX ? inputGrad(g!, gv, p, spatial(x!)) : null,
    wantG ? conv(x!, gv, p) : null,
  ]),
  // Both operands are images and the result sums over N, so batching always goes through the channels.
  vmap: ([x, g], [dx, dg], p, n) => {
    const v = bind1(conv2dWeightGradRule, [foldIntoChannels(x!, dx!, n), foldIntoChannels(g!, dg!, n)], timesGroups(p, n))
    return [[unfoldN(v, n)], [0]]
  },
}

export type Conv2dOptions = {
  readonly stride?: PairOption
  readonly padding?: PaddingOption
  readonly dilation?: PairOption
  readonly groups?: number
}

/**
 * 2-D cross-correlation with PyTorch's `F.conv2d` semantics (no bias: add it afterwards).
 * x: f32[N,C,H,W], w: f32[O,C/groups,kh,kw] (OIHW) → f32[N,O,Ho,Wo] with
 * Ho = ⌊(H + padTop + padBottom − dilation·(kh − 1) − 1) / stride⌋ + 1. `stride` and `dilation` are a
 * number or [h, w]; `padding` is a number, [ph, pw], [top, bottom, left, right] (as F.pad before a conv),
 * 'valid' or 'same'; `groups` splits channels into independent convolutions (groups = C is depthwise).
 */
export const conv2d = (x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor => {
  expectImages('conv2d', [x, w], ['x [N,C,H,W]', 'w [O,C/groups,kh,kw]'])
  const stride = parsePair('conv2d', 'stride', options.stride, 1, 1)
  const dilation = parsePair('conv2d', 'dilation', options.dilation, 1, 1)
  const padding = parsePadding('conv2d', options.padding, kernelOf(w), dilation, stride)
  return conv(x, w, { stride, padding, dilation, groups: options.groups ?? 1 })
}

export type ConvTranspose2dOptions = {
  readonly stride?: PairOption
  readonly padding?: Exclude<PaddingOption, 'same'>
  readonly outputPadding?: PairOption
  readonly dilation?: PairOption
  readonly groups?: number
}

/**
 * Transposed convolution with PyTorch's `F.conv_transpose2d` semantics: the gradient of conv2d with
 * respect to its input. x: f32[N,Cin,H,W], w: f32[Cin,Cout/groups,kh,kw] → f32[N,Cout,Ho,Wo] with
 * Ho = (H − 1)·stride − padTop − padBottom + dilation·(kh − 1) + outputPadding + 1. `outputPadding`
 * (< stride) picks among the input sizes that a strided conv maps to the same output size.
 */
export const convTranspose2d = (x: Tensor, w: Tensor, options: ConvTranspose2dOptions = {}): Tensor => {
  const op = 'convTranspose2d'
  expectImages(op, [x, w], ['x [N,Cin,H,W]', 'w [Cin,Cout/groups,kh,kw]'])
  const stride = parsePair(op, 'stride', options.stride, 1, 1)
  const dilation = parsePair(op, 'dilation', options.dilation, 1, 1)
  const outputPadding = parsePair(op, 'outputPadding', options.outputPadding, 0, 0)
  if (options.padding === ('same' as unknown)) fail(op, "padding 'same' is not defined for a transposed convolution")
  const padding = parsePadding(op, options.padding, kernelOf(w), dilation, stride)
  const groups = options.groups ?? 1
  const described = () => `x ${describeAval(x)}, w ${describeAval(w)}`
  if (w.shape[0] !== x.shape[1]) fail(op, `channel mismatch: x has ${x.shape[1]} channels but w expects ${w.shape[0]} (w is [Cin,Cout/groups,kh,kw]; ${described()})`)
  if (outputPadding[0] >= stride[0] || outputPadding[1] >= stride[1]) {
    fail(op, `outputPadding [${outputPadding.join(', ')}] must be smaller than stride [${stride.join(', ')}]`)
  }
  const size = (axis: 0 | 1): number =>
    (x.shape[2 + axis]! - 1) * stride[axis] - padding[2 * axis]! - padding[2 * axis + 1]! + dilation[axis] * (w.shape[2 + axis]! - 1) + outputPadding[axis] + 1
  const inputSize: Pair = [size(0), size(1)]
  if (inputSize[0] < 1 || inputSize[1] < 1) fail(op, `output size [${inputSize.join(', ')}] is empty: padding [${padding.join(', ')}] is too large for ${described()}`)
  const params: ConvParams = { stride, padding, dilation, groups }
  const cin = x.shape[1]!
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0) fail(op, `groups=${groups} must be a positive integer dividing the ${cin} input channels (${described()})`)
  return inputGrad(x, w, params, inputSize)
}
