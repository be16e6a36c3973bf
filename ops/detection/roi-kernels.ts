/**
 * CPU reference kernels of ROIAlign and its transpose (torchvision's `roi_align` and detectron2's
 * `ROIAlignRotated` CPU kernels, in float32 arithmetic). Each roi's sample taps and weights are computed
 * once and reused for every channel. The backward pass scatters each output cotangent through the same
 * weights, in the reference's order (roi, channel, bin row, bin column, sample row, sample column), which
 * the WebGPU gather kernel reproduces per pixel. Samples outside the feature map contribute exactly 0
 * (the reference multiplies a zero weight with pixel 0, which turns a NaN there into NaN output).
 */
import type { CpuArray } from '../../core/rule.js'
import { type RoiAlignBackwardParams, type RoiAlignParams, axisSample, axisTaps, roiGeometry, toImage } from './roi-geometry.js'

const f = Math.fround

/** Per sample of one roi: 4 pixel offsets within a plane and 4 weights; a sample without taps has offset −1. */
type SampleTable = { readonly pos: Int32Array; readonly weight: Float32Array; readonly perBin: number }

const sampleTable = (rois: CpuArray, k: number, p: RoiAlignParams, n: number, h: number, w: number): { table: SampleTable; batch: number; count: number } | null => {
  const g = roiGeometry(rois.data, k, p, n)
  const perBin = g.gridH * g.gridW
  if (g.batch < 0 || perBin === 0 || h === 0 || w === 0) return null
  const [ph, pw] = p.outputSize
  const total = ph * pw * perBin
  const pos = new Int32Array(total * 4)
  const weight = new Float32Array(total * 4)
  const rotated = p.mode === 'rotated'
  let s = 0
  for (let by = 0; by < ph; by++) {
    for (let bx = 0; bx < pw; bx++) {
      for (let iy = 0; iy < g.gridH; iy++) {
        const yy = axisSample(g.startY, g.binH, g.gridH, by, iy)
        for (let ix = 0; ix < g.gridW; ix++, s++) {
          const [y, x] = toImage(g, yy, axisSample(g.startX, g.binW, g.gridW, bx, ix), rotated)
          const ty = axisTaps(y, h)
          const tx = axisTaps(x, w)
          if (ty === null || tx === null) {
            pos[4 * s] = -1
            continue
          }
          const [y0, y1, hy, ly] = ty
          const [x0, x1, hx, lx] = tx
          pos.set([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1], 4 * s)
          weight.set([f(hy * hx), f(hy * lx), f(ly * hx), f(ly * lx)], 4 * s)
        }
      }
    }
  }
  return { table: { pos, weight, perBin }, batch: g.batch, count: g.count }
}

/** features: f32[N,C,H,W], rois: f32[K,5|6] → f32[K,C,ph,pw] */
export const roiAlignCpu = ([x, rois]: readonly CpuArray[], p: RoiAlignParams): Float32Array => {
  const [n, c, h, w] = x!.shape as [number, number, number, number]
  const k = rois!.shape[0]!
  const bins = p.outputSize[0] * p.outputSize[1]
  const out = new Float32Array(k * c * bins)
  const data = x!.data
  for (let r = 0; r < k; r++) {
    const t = sampleTable(rois!, r, p, n, h, w)
    if (t === null) continue
    const { pos, weight, perBin } = t.table
    for (let ch = 0; ch < c; ch++) {
      const plane = (t.batch * c + ch) * h * w
      const o = (r * c + ch) * bins
      for (let b = 0; b < bins; b++) {
        let acc = 0
        for (let s = b * perBin; s < (b + 1) * perBin; s++) {
          const q = 4 * s
          if (pos[q]! < 0) continue
          const t0 = f(weight[q]! * data[plane + pos[q]!]!)
          const t1 = f(weight[q + 1]! * data[plane + pos[q + 1]!]!)
          const t2 = f(weight[q + 2]! * data[plane + pos[q + 2]!]!)
          const t3 = f(weight[q + 3]! * data[plane + pos[q + 3]!]!)
          acc = f(acc + f(f(f(t0 + t1) + t2) + t3))
        }
        out[o + b] = f(acc / t.count)
      }
    }
  }
  return out
}

/** ct: f32[K,C,ph,pw], rois: f32[K,5|6] → f32[N,C,H,W] (the transpose of roiAlignCpu). */
export const roiAlignBackwardCpu = ([ct, rois]: readonly CpuArray[], p: RoiAlignBackwardParams): Float32Array => {
  const [n, c, h, w] = p.featureShape
  const k = rois!.shape[0]!
  const bins = p.outputSize[0] * p.outputSize[1]
  const out = new Float32Array(n * c * h * w)
  const g = ct!.data
  for (let r = 0; r < k; r++) {
    const t = sampleTable(rois!, r, p, n, h, w)
    if (t === null) continue
    const { pos, weight, perBin } = t.table
    for (let ch = 0; ch < c; ch++) {
      const plane = (t.batch * c + ch) * h * w
      for (let b = 0; b < bins; b++) {
        const gb = g[(r * c + ch) * bins + b]!
        for (let s = b * perBin; s < (b + 1) * perBin; s++) {
          if (pos[4 * s]! < 0) continue
          for (let j = 0; j < 4; j++) {
            const at = plane + pos[4 * s + j]!
            out[at] = f(out[at]! + f(f(gb * weight[4 * s + j]!) / t.count))
          }
        }
      }
    }
  }
  return out
}
