/**
 * The heatmapsToKeypoints primitive: per roi, bicubic upsampling of every keypoint's heatmap to the roi's
 * own (data-dependent) size, its argmax and its score, without materialising the upsampled maps.
 *
 * PyTorch's bicubic resize (align_corners=False) reads source position s = (o + ½)·(in/out) − ½, splits
 * it into i = ⌊s⌋ and t = s − i, and mixes the four inputs i − 1 … i + 2 (indices clamped to the edge)
 * with Keys' cubic convolution weights for A = −0.75; it interpolates along x in each of the four rows,
 * then along y. The kernel does the same in the same order, in float32 (`Math.fround`) as PyTorch's
 * float kernels and the WGSL lowering do, so that the argmax lands on the same cell.
 */
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import type { Tensor } from '../../core/tensor.js'
import { batchFirst, reshape } from '../shape/basic.js'
import { decodeHeatmapsGpu } from './keypoints-wgsl.js'

const f = Math.fround
const A = -0.75

/** Keys' cubic weights of the taps at distances t + 1, t, 1 − t, 2 − t (PyTorch's order of operations). */
const cubicWeights = (t: number, out: Float64Array, at: number): void => {
  const near = (x: number) => f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x) + 1)
  const far = (x: number) => f(f(f(f(f(f(A * x) - 5 * A) * x) + 8 * A) * x) - 4 * A)
  out[at] = far(f(t + 1))
  out[at + 1] = near(t)
  out[at + 2] = near(f(1 - t))
  out[at + 3] = far(f(2 - t))
}

/** The four clamped source indices and weights of every output index of one axis (in → out cells). */
const axisTaps = (inSize: number, outSize: number): { index: Int32Array; weight: Float64Array } => {
  const index = new Int32Array(outSize * 4)
  const weight = new Float64Array(outSize * 4)
  const scale = f(inSize / outSize)
  for (let o = 0; o < outSize; o++) {
    const s = f(f(scale * f(o + 0.5)) - 0.5)
    const i = Math.floor(s)
    cubicWeights(f(s - i), weight, 4 * o)
    for (let j = 0; j < 4; j++) index[4 * o + j] = Math.min(Math.max(i - 1 + j, 0), inSize - 1)
  }
  return { index, weight }
}

/** One roi's x, y, size correction and output size along an axis, as detectron2 computes them in float32. */
const roiAxis = (lo: number, hi: number): { lo: number; correction: number; cells: number } => {
  const extent = Math.max(f(hi - lo), 1)
  const cells = Math.ceil(extent)
  return { lo, correction: f(extent / cells), cells: Number.isFinite(cells) ? cells : 0 }
}

const decodeKernel = (maps: Float32Array, rois: Float32Array, [r, k, h, w]: readonly number[]): Float32Array => {
  const out = new Float32Array(r * k * 4)
  for (let ri = 0; ri < r; ri++) {
    const ax = roiAxis(rois[4 * ri]!, rois[4 * ri + 2]!)
    const ay = roiAxis(rois[4 * ri + 1]!, rois[4 * ri + 3]!)
    const tx = axisTaps(w, ax.cells)
    const ty = axisTaps(h, ay.cells)
    const rowsAlongX = new Float64Array(h * ax.cells)
    for (let ki = 0; ki < k; ki++) {
      const plane = (ri * k + ki) * h * w
      for (let a = 0; a < h; a++) {
        for (let j = 0; j < ax.cells; j++) {
          let v = 0
          for (let t = 0; t < 4; t++) v = f(v + f(tx.weight[4 * j + t]! * maps[plane + a * w + tx.index[4 * j + t]!]!))
          rowsAlongX[a * ax.cells + j] = v
        }
      }
      let best = -Infinity
      let bestAt = -1
      for (let i = 0; i < ay.cells; i++) {
        const [w0, w1, w2, w3] = [ty.weight[4 * i]!, ty.weight[4 * i + 1]!, ty.weight[4 * i + 2]!, ty.weight[4 * i + 3]!]
        const [r0, r1, r2, r3] = [0, 1, 2, 3].map((t) => ty.index[4 * i + t]! * ax.cells)
        for (let j = 0; j < ax.cells; j++) {
          const v = f(f(f(f(w0 * rowsAlongX[r0! + j]!) + f(w1 * rowsAlongX[r1! + j]!)) + f(w2 * rowsAlongX[r2! + j]!)) + f(w3 * rowsAlongX[r3! + j]!))
          if (bestAt < 0 || v > best) { best = v; bestAt = i * ax.cells + j }
        }
      }
      let total = 0
      for (let q = 0; q < h * w; q++) total += Math.exp(maps[plane + q]! - best)
      const o = (ri * k + ki) * 4
      if (bestAt < 0) { out.fill(NaN, o, o + 4); continue }
      const xi = bestAt % ax.cells
      const yi = (bestAt - xi) / ax.cells
      out[o] = f(f(f(xi + 0.5) * ax.correction) + ax.lo)
      out[o + 1] = f(f(f(yi + 0.5) * ay.correction) + ay.lo)
      out[o + 2] = best
      out[o + 3] = 1 / total
    }
  }
  return out
}

export const decodeHeatmapsRule: Rule<Record<string, never>> = {
  name: 'heatmapsToKeypoints',
  abstractEval: ([maps]) => [{ shape: [maps!.shape[0]!, maps!.shape[1]!, 4], dtype: 'float32' }],
  cpu: ([maps, rois]) => [decodeKernel(maps!.data as Float32Array, rois!.data as Float32Array, maps!.shape)],
  // detectron2 detaches maps and rois: decoding is inference-only, with zero derivative.
  jvp: () => [null],
  vjp: () => [null, null],
  vmap: ([maps, rois], [dm, dr], _, n) => {
    const fold = (t: Tensor, d: number | null) => {
      const b = batchFirst(t, d, n)
      return reshape(b, [n * b.shape[1]!, ...b.shape.slice(2)])
    }
    const y = bind1(decodeHeatmapsRule, [fold(maps!, dm!), fold(rois!, dr!)], {})
    return [[reshape(y, [n, y.shape[0]! / n, ...y.shape.slice(1)])], [0]]
  },
  webgpu: (ctx, [maps, rois], _, [o]) => [decodeHeatmapsGpu(ctx, maps!, rois!, o!)],
}

/** maps f32[R,K,H,W], rois f32[R,4] → f32[R,K,4] (checked by `heatmapsToKeypoints`). */
export const decodeHeatmaps = (maps: Tensor, rois: Tensor): Tensor => bind1(decodeHeatmapsRule, [maps, rois], {})
