/**
 * Convolution geometry: parsing the user's stride/padding/dilation options into the primitives' fixed
 * params, and the shape rules every conv primitive shares (PyTorch's output-size formula and its checks).
 */
import { fail } from '../../core/errors.js'
import type { Shape } from '../../core/shape.js'
import { type Aval, describeAval } from '../../core/tensor.js'
import { describeAll, expectDTypes } from '../operand.js'
import type { ConvGeometry } from './conv-kernels.js'

export type Pair = readonly [number, number]

/** The primitives' params. `padding` is [top, bottom, left, right] (asymmetric, like F.pad then conv). */
export type ConvParams = {
  readonly stride: Pair
  readonly padding: readonly [number, number, number, number]
  readonly dilation: Pair
  readonly groups: number
}

/** Spatial size of the convolution's input, which stride > 1 leaves ambiguous from the output's size. */
export type ConvInputGradParams = ConvParams & { readonly inputSize: Pair }
export type ConvWeightGradParams = ConvParams & { readonly kernelSize: Pair }

/** stride/dilation: one number for both axes or [h, w]. */
export type PairOption = number | Pair

/**
 * padding: p (all sides), [ph, pw] (symmetric per axis), [top, bottom, left, right], or PyTorch's 'valid'
 * (none) and 'same' (stride 1 only; an odd total puts the extra row/column at the bottom/right).
 */
export type PaddingOption = number | Pair | readonly [number, number, number, number] | 'same' | 'valid'

const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.join(', ')}]` : String(v))

/** Reads a per-axis option (a number or [h, w]) whose entries must be integers ≥ `min`. */
export const parsePair = (op: string, name: string, v: PairOption | undefined, fallback: number, min: number): Pair => {
  const pair = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((d) => isCount(d, min))) {
    fail(op, `${name} must be an integer ≥ ${min} or a pair [h, w] of them, got ${show(v)}`)
  }
  return [pair[0]!, pair[1]!]
}

/** Reads the padding option into [top, bottom, left, right]; 'same' needs the kernel size and dilation. */
export const parsePadding = (op: string, v: PaddingOption | undefined, kernel: Pair, dilation: Pair, stride: Pair): ConvParams['padding'] => {
  if (v === 'valid' || v === undefined) return [0, 0, 0, 0]
  if (v === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) fail(op, `padding 'same' needs stride 1 (as in PyTorch), got stride [${stride.join(', ')}]`)
    const [th, tw] = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)]
    return [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)]
  }
  const p = typeof v === 'number' ? [v, v, v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[0], v[1], v[1]] : v
  if (!Array.isArray(p) || p.length !== 4 || !p.every((d) => isCount(d, 0))) {
    fail(op, `padding must be a non-negative integer, [ph, pw], [top, bottom, left, right], 'same' or 'valid', got ${show(v)}`)
  }
  return [p[0]!, p[1]!, p[2]!, p[3]!]
}

/** PyTorch's output size: ⌊(size + padding − dilation·(k − 1) − 1) / stride⌋ + 1. */
export const convOutputSize = (size: number, k: number, stride: number, padLo: number, padHi: number, dilation: number): number =>
  Math.floor((size + padLo + padHi - dilation * (k - 1) - 1) / stride) + 1

/** Throws unless both operands are float32 rank-4 tensors; `names` label them in the message. */
export const expectImages = (op: string, xs: readonly Aval[], names: readonly string[]): void => {
  expectDTypes(op, xs, ['float32'], "cast(x, 'float32') first")
  xs.forEach((x, i) => {
    if (x.shape.length !== 4) fail(op, `${names[i]} must be 4-D, got ${describeAval(x)}; operands are ${describeAll(xs)}`)
  })
}

/**
 * The geometry of conv2d(x, w) for x: [N,C,H,W] and w: [O,C/groups,kh,kw], with PyTorch's checks: groups
 * divides both channel counts, w's input channels match x's, and the dilated kernel fits the padded input.
 * `described` names the operands as the calling op sees them.
 */
export const convGeometry = (op: string, x: Shape, w: Shape, p: ConvParams, described: () => string): ConvGeometry => {
  const [n, c, h, wd] = x as [number, number, number, number]
  const [o, cg, kh, kw] = w as [number, number, number, number]
  const { groups, stride, dilation, padding } = p
  if (!isCount(groups, 1)) fail(op, `groups must be a positive integer, got ${show(groups)}`)
  if (c % groups !== 0 || o % groups !== 0) {
    fail(op, `groups=${groups} must divide both the ${c} input channels and the ${o} output channels (${described()})`)
  }
  if (cg * groups !== c) {
    fail(op, `channel mismatch: the input has ${c} channels but the weight expects ${cg}×groups=${cg * groups} (groups=${groups}; ${described()})`)
  }
  const [pt, pb, pl, pr] = padding
  const [eh, ew] = [dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1]
  if (eh > h + pt + pb || ew > wd + pl + pr) {
    fail(op, `kernel ${kh}×${kw} (dilated to ${eh}×${ew}) is larger than the padded input ${h + pt + pb}×${wd + pl + pr} (${described()}, padding [${padding.join(', ')}])`)
  }
  return {
    n, c, h, w: wd, o, kh, kw,
    ho: convOutputSize(h, kh, stride[0], pt, pb, dilation[0]),
    wo: convOutputSize(wd, kw, stride[1], pl, pr, dilation[1]),
    strideH: stride[0], strideW: stride[1], padTop: pt, padLeft: pl, dilationH: dilation[0], dilationW: dilation[1], groups,
  }
}

/** Throws unless `g` has the shape conv2d produces for this geometry ([N, O, Ho, Wo]). */
export const expectOutputShape = (op: string, g: Aval, geom: ConvGeometry, described: () => string): void => {
  const want = [geom.n, geom.o, geom.ho, geom.wo]
  if (want.some((d, i) => d !== g.shape[i])) {
    fail(op, `the output-side operand ${describeAval(g)} does not match the convolution's output [${want.join(',')}] (${described()})`)
  }
}
