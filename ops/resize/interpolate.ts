/**
 * `interpolate`, following `torch.nn.functional.interpolate` on the CPU for the default
 * `recompute_scale_factor=None`: with `scaleFactor` the output is floor(in·scale) and source positions
 * use 1/scale (not in/out), which differ when in·scale is not an integer.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { type Pair, expectNchw, intPair } from '../pool/geometry.js'
import { resample2d } from './resample.js'
import type { AxisMap } from './taps.js'

export type InterpolateMode = 'nearest' | 'bilinear'

export type InterpolateOptions = {
  /** Output [OH, OW] (or one number for both). Give exactly one of `size` and `scaleFactor`. */
  readonly size?: number | Pair
  readonly scaleFactor?: number | Pair
  readonly mode: InterpolateMode
  /** Bilinear only (PyTorch rejects it for nearest, even when false). Default false. */
  readonly alignCorners?: boolean
}

const modes: readonly InterpolateMode[] = ['nearest', 'bilinear']

const scalePair = (x: Tensor, v: number | Pair): Pair => {
  const p = typeof v === 'number' ? [v, v] : v
  if (!Array.isArray(p) || p.length !== 2 || p.some((s) => typeof s !== 'number' || !Number.isFinite(s) || s <= 0)) {
    fail('interpolate', `scaleFactor must be a positive number or a pair of them, got ${JSON.stringify(v)} for input ${describeAval(x)}`)
  }
  return [p[0]!, p[1]!]
}

/**
 * Resizes the H and W axes of `x` by nearest-neighbour (src = floor(dst·scale), PyTorch's legacy
 * 'nearest', not 'nearest-exact') or bilinear interpolation. Bilinear without `alignCorners` samples at
 * half-pixel centres, src = max((dst + ½)·scale − ½, 0); with it, corner pixels map onto corner pixels,
 * src = dst·(in − 1)/(out − 1). x: f32[N,C,H,W] → f32[N,C,OH,OW]
 */
export const interpolate = (x: Tensor, options: InterpolateOptions): Tensor => {
  expectNchw('interpolate', x)
  const { size, scaleFactor, mode, alignCorners } = options ?? ({} as InterpolateOptions)
  if (!modes.includes(mode)) fail('interpolate', `mode must be one of ${modes.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)} for input ${describeAval(x)}`)
  if ((size === undefined) === (scaleFactor === undefined)) {
    fail('interpolate', `give exactly one of size and scaleFactor (got ${size === undefined ? 'neither' : 'both'}) for input ${describeAval(x)}`)
  }
  if (mode === 'nearest' && alignCorners !== undefined) {
    fail('interpolate', `alignCorners can only be set with mode 'bilinear', not 'nearest' (input ${describeAval(x)})`)
  }
  const inSize: Pair = [x.shape[2]!, x.shape[3]!]
  const scales = scaleFactor === undefined ? null : scalePair(x, scaleFactor)
  const outSize: Pair = scales === null ? intPair('interpolate', 'size', size!, 1, x) : [Math.floor(inSize[0] * scales[0]), Math.floor(inSize[1] * scales[1])]
  if (outSize[0] < 1 || outSize[1] < 1 || inSize[0] < 1 || inSize[1] < 1) {
    fail('interpolate', `input and output sizes must be positive, got ${describeAval(x)} → ${outSize.join('x')}`)
  }
  const axis = (i: 0 | 1): AxisMap => {
    const base = { inSize: inSize[i], outSize: outSize[i], scale: scales === null ? null : scales[i] }
    return mode === 'nearest' ? { kind: 'nearest', ...base } : { kind: 'linear', ...base, alignCorners: alignCorners ?? false }
  }
  return resample2d(x, { h: axis(0), w: axis(1) })
}
