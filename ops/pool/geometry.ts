/**
 * Argument checks and output sizes shared by the pooling ops, with PyTorch's rules (aten Pool.h):
 * out = floor((in + 2p − d(k−1) − 1 [+ s−1 with ceilMode]) / s) + 1, and with ceilMode the last window
 * must start inside the input or the left padding, otherwise it is dropped.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'

export type Pair = readonly [number, number]

/** Checks that `x` is a float32 NCHW tensor. */
export const expectNchw = (op: string, x: Tensor): void => {
  if (x.shape.length !== 4) fail(op, `expected a 4-d NCHW input, got ${describeAval(x)}`)
  if (x.dtype !== 'float32') fail(op, `expected a float32 input, got ${describeAval(x)}; cast it first`)
}

/** A number or an [h, w] pair of integers ≥ `min`, as the pair. */
export const intPair = (op: string, name: string, v: number | readonly number[], min: number, x: Tensor): Pair => {
  const p = typeof v === 'number' ? [v, v] : v
  if (!Array.isArray(p) || p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < min)) {
    fail(op, `${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)} for input ${describeAval(x)}`)
  }
  return [p[0]!, p[1]!]
}

const pooledLength = (n: number, k: number, s: number, p: number, d: number, ceilMode: boolean): number => {
  const out = Math.floor((n + 2 * p - d * (k - 1) - 1 + (ceilMode ? s - 1 : 0)) / s) + 1
  return ceilMode && (out - 1) * s >= n + p ? out - 1 : out
}

export type PoolGeometry = {
  readonly kernel: Pair
  readonly stride: Pair
  readonly padding: Pair
  readonly dilation: Pair
  /** Output [OH, OW]. */
  readonly out: Pair
}

export type PoolOptions = {
  readonly kernelSize: number | Pair
  readonly stride?: number | Pair
  readonly padding?: number | Pair
  readonly dilation?: number | Pair
  readonly ceilMode?: boolean
}

/** Validates pooling options against `x` (f32[N,C,H,W]) and works out the output size. */
export const poolGeometry = (op: string, x: Tensor, options: PoolOptions): PoolGeometry => {
  expectNchw(op, x)
  if (options === undefined || options.kernelSize === undefined) fail(op, `needs { kernelSize } for input ${describeAval(x)}`)
  const kernel = intPair(op, 'kernelSize', options.kernelSize, 1, x)
  const stride = intPair(op, 'stride', options.stride ?? kernel, 1, x)
  const padding = intPair(op, 'padding', options.padding ?? 0, 0, x)
  const dilation = intPair(op, 'dilation', options.dilation ?? 1, 1, x)
  const ceilMode = options.ceilMode ?? false
  // PyTorch refuses padding beyond half the kernel: a window could then lie entirely in the padding.
  if (padding[0] > Math.floor(kernel[0] / 2) || padding[1] > Math.floor(kernel[1] / 2)) {
    fail(op, `padding ${padding.join('x')} must be at most half the kernel size ${kernel.join('x')} (input ${describeAval(x)})`)
  }
  const [h, w] = [x.shape[2]!, x.shape[3]!]
  const out: Pair = [
    pooledLength(h, kernel[0], stride[0], padding[0], dilation[0], ceilMode),
    pooledLength(w, kernel[1], stride[1], padding[1], dilation[1], ceilMode),
  ]
  if (out[0] < 1 || out[1] < 1) {
    const span = kernel.map((k, i) => dilation[i]! * (k - 1) + 1).join('x')
    fail(op, `kernel ${kernel.join('x')} (dilation ${dilation.join('x')}, span ${span}) is larger than the input ${describeAval(x)} padded by ${padding.join('x')}: output would be ${out.join('x')}`)
  }
  return { kernel, stride, padding, dilation, out }
}
