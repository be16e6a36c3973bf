/**
 * Where ROIAlign samples, shared by the CPU kernels (roi-kernels.ts) and mirrored in WGSL (roi-wgsl.ts).
 *
 * The arithmetic follows torchvision's `roi_align` / detectron2's `ROIAlignRotated` kernels step by step
 * in float32 (`Math.fround` after every operation), because several decisions are discontinuous in the
 * coordinates — the adaptive grid `ceil(roi_size / bin_count)`, the `y < −1 || y > H` cut-off — and a
 * float64 evaluation would take the other branch near those edges. Conventions:
 * - `aligned` (detectron2's ROIAlignV2): coordinates are scaled, then shifted by −0.5 so that pixel i
 *   has its centre at i + 0.5; the legacy mode (aligned false) does not shift and forces every roi to at
 *   least 1×1. Rotated rois are always aligned (the centre is shifted, the size is not forced).
 * - samplingRatio 0: ceil(bin size) samples per bin and axis, so an empty roi samples nothing and
 *   pools 0. A grid that is not a positive number below 2^31 (an infinite or NaN roi) samples nothing,
 *   which is what torchvision's float-to-int conversion does on x86.
 * - The batch index is truncated toward zero; a roi whose index lies outside [0, N) (NaN included)
 *   pools 0 and passes no gradient. detectron2 leaves that undefined; the FPN pooler relies on −1.
 */
import type { TypedArray } from '../../core/dtype.js'

/** `legacy`: detectron2 ROIAlign (aligned false); `aligned`: ROIAlignV2; `rotated`: ROIAlignRotated. */
export type RoiMode = 'legacy' | 'aligned' | 'rotated'

export type RoiAlignParams = {
  readonly mode: RoiMode
  readonly outputSize: readonly [number, number]
  /** Stored as the float32 value the kernels multiply by (torchvision casts it to the input's type). */
  readonly spatialScale: number
  readonly samplingRatio: number
}

/** The gradient primitive also needs the shape of the features it scatters into. */
export type RoiAlignBackwardParams = RoiAlignParams & { readonly featureShape: readonly [number, number, number, number] }

/** Columns of a roi row: batch index plus 4 (XYXY) or 5 (cx, cy, w, h, angle°). */
export const roiColumns = (mode: RoiMode): number => (mode === 'rotated' ? 6 : 5)

const f = Math.fround

/** One roi's sampling geometry in feature-map pixels (float32 values). */
export type RoiGeometry = {
  /** Image index, or −1 when the roi pools nothing. */
  readonly batch: number
  readonly startY: number
  readonly startX: number
  readonly binH: number
  readonly binW: number
  readonly gridH: number
  readonly gridW: number
  readonly count: number
  readonly centerY: number
  readonly centerX: number
  readonly cos: number
  readonly sin: number
}

/** Round half to even (WGSL `round`). */
const roundEven = (v: number): number => {
  const r = Math.round(v)
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/**
 * cos and sin of an angle in degrees, in float32, by the same steps as the WGSL kernel: reduced exactly
 * in degrees to [−45°, 45°] plus a quadrant, then Taylor polynomials (error < 3e-8). detectron2 computes
 * cos(float(angle·π/180)) instead; the two differ by about an ulp (at 90° detectron2's cos is −4.4e-8,
 * ours 0), and sharing one formula makes both backends sample the same points.
 */
export const cosSinDegrees = (a: number): [number, number] => {
  const d = f(a - f(360 * roundEven(f(a / 360))))
  const q = roundEven(f(d / 90))
  const x = f(f(d - f(90 * q)) * f(0.017453292519943295))
  const x2 = f(x * x)
  const step = (k: number, t: number): number => f(1 - f(f(x2 * f(1 / k)) * t))
  const s = f(x * step(6, step(20, step(42, step(72, 1)))))
  const c = step(2, step(12, step(30, step(56, 1))))
  switch (((q % 4) + 4) % 4) {
    case 1: return [-s, c]
    case 2: return [-c, -s]
    case 3: return [s, -c]
    default: return [c, s]
  }
}

/** Samples per bin along one axis when samplingRatio is 0 (see the module comment for the edge cases). */
export const adaptiveGrid = (bin: number): number => (bin > 0 && bin < 2147483648 ? Math.ceil(bin) : 0)

/** The geometry of roi `k` (row k of `rois`) against features with `n` images. */
export const roiGeometry = (rois: TypedArray, k: number, p: RoiAlignParams, n: number): RoiGeometry => {
  const cols = roiColumns(p.mode)
  const row = (j: number): number => rois[k * cols + j]!
  const b = row(0)
  const batch = b > -1 && b < n ? Math.trunc(b) + 0 : -1
  const scale = p.spatialScale
  const [ph, pw] = p.outputSize
  let startY: number, startX: number, height: number, width: number
  let centerY = 0, centerX = 0, cos = 1, sin = 0
  if (p.mode === 'rotated') {
    centerX = f(f(row(1) * scale) - 0.5)
    centerY = f(f(row(2) * scale) - 0.5)
    width = f(row(3) * scale)
    height = f(row(4) * scale)
    const [c, s] = cosSinDegrees(row(5))
    cos = c
    sin = s
    // Sample positions are relative to the centre, then rotated and translated.
    startY = f(-height / 2)
    startX = f(-width / 2)
  } else {
    const offset = p.mode === 'aligned' ? 0.5 : 0
    startX = f(f(row(1) * scale) - offset)
    startY = f(f(row(2) * scale) - offset)
    width = f(f(f(row(3) * scale) - offset) - startX)
    height = f(f(f(row(4) * scale) - offset) - startY)
    // Legacy Detectron forced malformed rois to 1×1 (NaN stays NaN, as std::max leaves it).
    if (p.mode === 'legacy') {
      if (width < 1) width = 1
      if (height < 1) height = 1
    }
  }
  const binH = f(height / ph)
  const binW = f(width / pw)
  const gridH = p.samplingRatio > 0 ? p.samplingRatio : adaptiveGrid(binH)
  const gridW = p.samplingRatio > 0 ? p.samplingRatio : adaptiveGrid(binW)
  return { batch, startY, startX, binH, binW, gridH, gridW, count: Math.max(gridH * gridW, 1), centerY, centerX, cos, sin }
}

/** The coordinate of sample `i` of cell `cell` along one axis, in the order the reference kernels add. */
export const axisSample = (start: number, bin: number, grid: number, cell: number, i: number): number =>
  f(f(start + f(cell * bin)) + f(f((i + 0.5) * bin) / grid))

/** Image coordinates [y, x] of a sample given its roi-frame coordinates. */
export const toImage = (g: RoiGeometry, yy: number, xx: number, rotated: boolean): [number, number] =>
  rotated
    ? [f(f(f(yy * g.cos) - f(xx * g.sin)) + g.centerY), f(f(f(yy * g.sin) + f(xx * g.cos)) + g.centerX)]
    : [yy, xx]

/**
 * Bilinear taps of coordinate `y` on an axis of `size` pixels: [low, high, weight of low, weight of
 * high]. Coordinates in [−1, 0] read pixel 0 and in [size − 1, size] read the last pixel (clamped, with
 * full weight); outside [−1, size], and for NaN, there are no taps (null).
 */
export const axisTaps = (y: number, size: number): [number, number, number, number] | null => {
  if (!(y >= -1 && y <= size) || size === 0) return null
  let v = y <= 0 ? 0 : y
  let low = Math.trunc(v)
  let high = low + 1
  if (low >= size - 1) {
    low = high = size - 1
    v = low
  }
  const l = f(v - low)
  return [low, high, f(1 - l), l]
}
