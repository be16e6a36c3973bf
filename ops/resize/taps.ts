/**
 * Per-axis linear maps. Average pooling, adaptive average pooling and both interpolation modes are
 * separable: out = A_h · X · A_wᵀ on every (n, c) plane, where each A is a sparse [out, in] matrix given
 * by a handful of taps per output row. Even avg pooling's divisor factors: PyTorch divides by
 * (hend − hstart)·(wend − wstart), a product of one term per axis, with or without `countIncludePad`.
 *
 * An `AxisMap` says how a map is built (small, printable params for IR text and kernel caches); `axisTaps`
 * materialises it. Index and weight arithmetic for interpolation is done in float32 (`Math.fround`),
 * as PyTorch's CPU kernels do, so floor() lands on the same source pixel.
 */
import { fail } from '../../core/errors.js'

export type AxisMap =
  /** Pooling windows: start = o·stride − padding, `kernel` long, clamped to the input. */
  | { readonly kind: 'window'; readonly inSize: number; readonly outSize: number; readonly kernel: number; readonly stride: number; readonly padding: number; readonly countIncludePad: boolean }
  /** Adaptive bins: [floor(o·in/out), ceil((o+1)·in/out)). */
  | { readonly kind: 'adaptive'; readonly inSize: number; readonly outSize: number }
  /** `scale` is the user's scale factor (PyTorch then uses 1/scale), or null when a size was given. */
  | { readonly kind: 'nearest'; readonly inSize: number; readonly outSize: number; readonly scale: number | null }
  | { readonly kind: 'linear'; readonly inSize: number; readonly outSize: number; readonly alignCorners: boolean; readonly scale: number | null }

/** A sparse matrix in CSR form: row r has taps start[r] ≤ t < start[r+1] at column index[t] with weight[t]. */
export type Taps = {
  readonly rows: number
  readonly cols: number
  readonly start: Int32Array
  readonly index: Int32Array
  readonly weight: Float64Array
}

const f32 = Math.fround

const fromRows = (rows: number, cols: number, row: (r: number, push: (i: number, w: number) => void) => void): Taps => {
  const start = new Int32Array(rows + 1)
  const index: number[] = []
  const weight: number[] = []
  for (let r = 0; r < rows; r++) {
    row(r, (i, w) => {
      index.push(i)
      weight.push(w)
    })
    start[r + 1] = index.length
  }
  return { rows, cols, start, index: Int32Array.from(index), weight: Float64Array.from(weight) }
}

/** PyTorch's `compute_scales_value`: 1/scale when the user gave one, else in/out (both as float32). */
/** PyTorch's adaptive-pooling bin of output cell `o`: input indices [floor(o·in/out), ceil((o+1)·in/out)). */
export const adaptiveBin = (o: number, inSize: number, outSize: number): readonly [number, number] =>
  [Math.floor((o * inSize) / outSize), Math.ceil(((o + 1) * inSize) / outSize)]

export const sourceScale = (scale: number | null, inSize: number, outSize: number): number =>
  scale !== null && scale > 0 ? f32(1 / scale) : f32(inSize / outSize)

/** PyTorch's `nearest_idx`, including its exact shortcuts for equal sizes and exact 2× upsampling. */
const nearestSource = (o: number, inSize: number, outSize: number, scale: number | null): number => {
  if (outSize === inSize) return o
  if (outSize === 2 * inSize) return o >> 1
  return Math.min(Math.floor(f32(o * sourceScale(scale, inSize, outSize))), inSize - 1)
}

/** The float32 step between source positions of consecutive outputs in a linear map. */
export const linearRatio = ({ inSize, outSize, alignCorners, scale }: Extract<AxisMap, { kind: 'linear' }>): number =>
  alignCorners ? (outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0) : sourceScale(scale, inSize, outSize)

/** PyTorch's `compute_source_index_and_lambda` for linear modes: two taps per output. */
const linearTaps = (o: number, map: Extract<AxisMap, { kind: 'linear' }>, push: (i: number, w: number) => void): void => {
  const { inSize, outSize, alignCorners } = map
  if (inSize === outSize) {
    push(o, 1)
    push(o, 0)
    return
  }
  const ratio = linearRatio(map)
  const src = alignCorners ? f32(ratio * o) : Math.max(f32(f32(ratio * (o + 0.5)) - 0.5), 0)
  const i0 = Math.min(Math.floor(src), inSize - 1)
  const lambda1 = Math.min(Math.max(f32(src - i0), 0), 1)
  push(i0, f32(1 - lambda1))
  push(i0 + (i0 < inSize - 1 ? 1 : 0), lambda1)
}

/** The sparse [outSize, inSize] matrix of one axis map. */
export const axisTaps = (map: AxisMap): Taps => {
  const { inSize, outSize } = map
  switch (map.kind) {
    case 'window':
      return fromRows(outSize, inSize, (o, push) => {
        const lo = o * map.stride - map.padding
        const hi = Math.min(lo + map.kernel, inSize + map.padding)
        const s = Math.max(lo, 0)
        const e = Math.min(hi, inSize)
        const divisor = map.countIncludePad ? hi - lo : e - s
        for (let i = s; i < e; i++) push(i, 1 / divisor)
      })
    case 'adaptive':
      return fromRows(outSize, inSize, (o, push) => {
        const [s, e] = adaptiveBin(o, inSize, outSize)
        for (let i = s; i < e; i++) push(i, 1 / (e - s))
      })
    case 'nearest':
      return fromRows(outSize, inSize, (o, push) => push(nearestSource(o, inSize, outSize, map.scale), 1))
    case 'linear':
      return fromRows(outSize, inSize, (o, push) => linearTaps(o, map, push))
    default:
      return fail('axisTaps', `unknown axis map ${JSON.stringify(map satisfies never)}`)
  }
}

/** Aᵀ in CSR form: the taps each input position sends to the outputs. */
export const transposeTaps = (t: Taps): Taps => {
  const start = new Int32Array(t.cols + 1)
  for (let k = 0; k < t.index.length; k++) start[t.index[k]! + 1]!++
  for (let c = 0; c < t.cols; c++) start[c + 1]! += start[c]!
  const fill = start.slice(0, t.cols)
  const index = new Int32Array(t.index.length)
  const weight = new Float64Array(t.index.length)
  for (let r = 0; r < t.rows; r++) {
    for (let k = t.start[r]!; k < t.start[r + 1]!; k++) {
      const slot = fill[t.index[k]!]!++
      index[slot] = r
      weight[slot] = t.weight[k]!
    }
  }
  return { rows: t.cols, cols: t.rows, start, index, weight }
}

/**
 * Applies A_h · X · A_wᵀ to each of `planes` contiguous [H, W] planes (W first, then H, the order
 * PyTorch's bilinear kernel uses). Accumulates in float64.
 */
export const applySeparable = (x: ArrayLike<number>, planes: number, th: Taps, tw: Taps): Float32Array => {
  const [inH, inW, outH, outW] = [th.cols, tw.cols, th.rows, tw.rows]
  const out = new Float32Array(planes * outH * outW)
  const rowsDone = new Float64Array(inH * outW)
  for (let p = 0; p < planes; p++) {
    const xBase = p * inH * inW
    for (let h = 0; h < inH; h++) {
      const rowBase = xBase + h * inW
      for (let ow = 0; ow < outW; ow++) {
        let s = 0
        for (let k = tw.start[ow]!; k < tw.start[ow + 1]!; k++) s += tw.weight[k]! * x[rowBase + tw.index[k]!]!
        rowsDone[h * outW + ow] = s
      }
    }
    const oBase = p * outH * outW
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let s = 0
        for (let k = th.start[oh]!; k < th.start[oh + 1]!; k++) s += th.weight[k]! * rowsDone[th.index[k]! * outW + ow]!
        out[oBase + oh * outW + ow] = s
      }
    }
  }
  return out
}
