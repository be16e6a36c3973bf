/**
 * The sampling half of deformable convolution (Dai et al. 2017, v2 Zhu et al. 2019) as two primitives
 * that close under differentiation:
 *
 *   S_d(x, offset)  = deformSample:          x f32[N,C,H,W] → columns f32[N,C,K,P]
 *   T_d(ct, offset) = deformSampleTranspose: columns f32[N,C,K,P] → f32[N,C,H,W]   (S_d's adjoint in x)
 *
 * with K = kh·kw kernel taps and P = Ho·Wo output positions. Tap k = (ki, kj) of output position
 * (oh, ow) samples x at y = oh·sh − ph + ki·dh + Δy, x = ow·sw − pw + kj·dw + Δx, bilinearly with zeros
 * outside the image (torchvision/detectron2 `bilinear_interpolate`: a point with y ≤ −1, y ≥ H, x ≤ −1
 * or x ≥ W reads 0, so the function is continuous). The offsets are f32[N, 2·dg·K, Ho, Wo] with channel
 * (g·K + k)·2 + 0 holding Δy and + 1 holding Δx; input channel c uses deformable group c / (C/dg).
 *
 * `derivative` d selects the sampling weights: 0 the bilinear value, 1 its ∂/∂y, 2 its ∂/∂x, 3 ∂²/∂y∂x.
 * Bilinear interpolation is linear along each axis between grid lines, so ∂²/∂y² = ∂²/∂x² = 0 (almost
 * everywhere) and the four modes are closed under ∂/∂offset: every jvp/vjp below is one of the two
 * primitives in another mode plus elementwise products and channel sums. Derivatives at the kinks
 * (integer coordinates) are one-sided from above, like torchvision's `get_coordinate_weight`.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { zeros } from '../creation.js'
import { add, mul } from '../elementwise/binary.js'
import { describeAll, expectDTypes } from '../operand.js'
import { sum } from '../reduce/sum.js'
import { batchFirst, reshape } from '../shape/basic.js'
import { concat, slice } from '../shape/slice.js'
import { deformSampleGpu, deformSampleTransposeGpu } from './deform-wgsl.js'

export type Pair = readonly [number, number]
/** 0: value, 1: ∂/∂y, 2: ∂/∂x, 3: ∂²/∂y∂x (bit 1 = differentiated in y, bit 2 = in x). */
export type Derivative = 0 | 1 | 2 | 3

export type DeformSampleParams = {
  readonly kernel: Pair
  readonly stride: Pair
  readonly padding: Pair
  readonly dilation: Pair
  readonly deformableGroups: number
  readonly derivative: Derivative
}
export type DeformTransposeParams = DeformSampleParams & { readonly inputSize: Pair }

/** Everything the kernels need, flattened (sizes of x, of the output grid, and the sampling params). */
export type SampleGeometry = {
  readonly n: number; readonly c: number; readonly h: number; readonly w: number
  readonly kh: number; readonly kw: number; readonly ho: number; readonly wo: number
  readonly sh: number; readonly sw: number; readonly ph: number; readonly pw: number
  readonly dh: number; readonly dw: number; readonly dg: number; readonly derivative: Derivative
}

const geometry = (x: readonly number[], offset: readonly number[], p: DeformSampleParams): SampleGeometry => ({
  n: x[0]!, c: x[1]!, h: x[2]!, w: x[3]!, kh: p.kernel[0], kw: p.kernel[1], ho: offset[2]!, wo: offset[3]!,
  sh: p.stride[0], sw: p.stride[1], ph: p.padding[0], pw: p.padding[1], dh: p.dilation[0], dw: p.dilation[1],
  dg: p.deformableGroups, derivative: p.derivative,
})

/** Shape checks shared by both primitives: `image` is x (or the transpose's output), `offset` the offsets. */
const checkOffsets = (op: string, image: readonly number[], offset: Aval, p: DeformSampleParams, described: () => string): void => {
  const [kh, kw] = p.kernel
  const dg = p.deformableGroups
  if (offset.shape.length !== 4) fail(op, `offset must be 4-D [N, 2·dg·kh·kw, Ho, Wo], got ${describeAval(offset)} (${described()})`)
  if (!Number.isInteger(dg) || dg < 1 || image[1]! % dg !== 0) fail(op, `deformableGroups=${dg} must be a positive integer dividing the ${image[1]} channels (${described()})`)
  if (offset.shape[0] !== image[0]) fail(op, `batch mismatch: ${image[0]} images but offset has ${offset.shape[0]} (${described()})`)
  if (offset.shape[1] !== 2 * dg * kh * kw) {
    fail(op, `offset must have 2·deformableGroups·kh·kw = 2·${dg}·${kh}·${kw} = ${2 * dg * kh * kw} channels, got ${describeAval(offset)} (${described()})`)
  }
}

// ---- CPU kernels ------------------------------------------------------------------------------------

/**
 * The four corner taps of a bilinear sample at (y, x) in an h×w plane for derivative mode d: writes
 * plane offsets to `at` (−1 for a corner outside the plane) and weights to `wt`. Returns false when the
 * point is outside (−1, h)×(−1, w), where every mode reads 0.
 */
const corners = (y: number, x: number, h: number, w: number, d: Derivative, at: Int32Array, wt: Float64Array): boolean => {
  if (!(y > -1 && y < h && x > -1 && x < w)) return false
  const y0 = Math.floor(y)
  const x0 = Math.floor(x)
  const ly = y - y0
  const lx = x - x0
  const hy = 1 - ly
  const hx = 1 - lx
  if (d === 0) { wt[0] = hy * hx; wt[1] = hy * lx; wt[2] = ly * hx; wt[3] = ly * lx }
  else if (d === 1) { wt[0] = -hx; wt[1] = -lx; wt[2] = hx; wt[3] = lx }
  else if (d === 2) { wt[0] = -hy; wt[1] = hy; wt[2] = -ly; wt[3] = ly }
  else { wt[0] = 1; wt[1] = -1; wt[2] = -1; wt[3] = 1 }
  const top = y0 >= 0
  const bottom = y0 + 1 < h
  const left = x0 >= 0
  const right = x0 + 1 < w
  at[0] = top && left ? y0 * w + x0 : -1
  at[1] = top && right ? y0 * w + x0 + 1 : -1
  at[2] = bottom && left ? (y0 + 1) * w + x0 : -1
  at[3] = bottom && right ? (y0 + 1) * w + x0 + 1 : -1
  return true
}

/**
 * Visits every (image b, deformable group g, tap k, position p) whose sample point lies inside, with its
 * corner taps; the caller loops over the group's channels. Positions are computed once per group, not
 * once per channel.
 */
const forEachSample = (off: Float32Array, g: SampleGeometry, visit: (b: number, grp: number, k: number, p: number, at: Int32Array, wt: Float64Array) => void): void => {
  const { n, h, w, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw, dg, derivative } = g
  const kk = kh * kw
  const pp = ho * wo
  const at = new Int32Array(4)
  const wt = new Float64Array(4)
  for (let b = 0; b < n; b++) {
    for (let grp = 0; grp < dg; grp++) {
      for (let k = 0; k < kk; k++) {
        const ki = Math.floor(k / kw)
        const kj = k - ki * kw
        const base = ((b * dg + grp) * kk + k) * 2 * pp
        for (let p = 0; p < pp; p++) {
          const oh = Math.floor(p / wo)
          const ow = p - oh * wo
          // float32 like torchvision (and the GPU), so floor() picks the same cell near grid lines.
          const y = Math.fround(oh * sh - ph + ki * dh + off[base + p]!)
          const x = Math.fround(ow * sw - pw + kj * dw + off[base + pp + p]!)
          if (corners(y, x, h, w, derivative, at, wt)) visit(b, grp, k, p, at, wt)
        }
      }
    }
  }
}

/** S_d: columns[b, c, k, p] = Σ corners wt·x[b, c, corner]. */
export const deformSampleKernel = (x: Float32Array, off: Float32Array, g: SampleGeometry): Float32Array => {
  const kk = g.kh * g.kw
  const pp = g.ho * g.wo
  const hw = g.h * g.w
  const cg = g.c / g.dg
  const out = new Float32Array(g.n * g.c * kk * pp)
  forEachSample(off, g, (b, grp, k, p, at, wt) => {
    for (let ch = grp * cg; ch < (grp + 1) * cg; ch++) {
      const src = (b * g.c + ch) * hw
      let s = 0
      for (let t = 0; t < 4; t++) if (at[t]! >= 0) s += wt[t]! * x[src + at[t]!]!
      out[((b * g.c + ch) * kk + k) * pp + p] = s
    }
  })
  return out
}

/** T_d: image[b, c, corner] += wt·columns[b, c, k, p], summed in double precision. */
export const deformSampleTransposeKernel = (cols: Float32Array, off: Float32Array, g: SampleGeometry): Float32Array => {
  const kk = g.kh * g.kw
  const pp = g.ho * g.wo
  const hw = g.h * g.w
  const cg = g.c / g.dg
  const acc = new Float64Array(g.n * g.c * hw)
  forEachSample(off, g, (b, grp, k, p, at, wt) => {
    for (let ch = grp * cg; ch < (grp + 1) * cg; ch++) {
      const v = cols[((b * g.c + ch) * kk + k) * pp + p]!
      if (v === 0) continue
      const dst = (b * g.c + ch) * hw
      for (let t = 0; t < 4; t++) if (at[t]! >= 0) acc[dst + at[t]!] += wt[t]! * v
    }
  })
  return Float32Array.from(acc)
}

// ---- AD: everything is S or T in another mode, times offset tangents, summed over a group's channels ----

const sample = (x: Tensor, offset: Tensor, p: DeformSampleParams, derivative: Derivative): Tensor =>
  bind1(deformSampleRule, [x, offset], { ...baseParams(p), derivative })
const transposeSample = (cols: Tensor, offset: Tensor, p: DeformSampleParams, derivative: Derivative, inputSize: Pair): Tensor =>
  bind1(deformSampleTransposeRule, [cols, offset], { ...baseParams(p), derivative, inputSize })

const baseParams = (p: DeformSampleParams): Omit<DeformSampleParams, 'derivative'> =>
  ({ kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, deformableGroups: p.deformableGroups })

/** The two coordinate axes: the derivative bit of each and its slot in an offset pair (Δy, Δx). */
const AXES = [{ bit: 1, slot: 0 }, { bit: 2, slot: 1 }] as const

/** Columns [N,C,K,P] viewed per deformable group: [N, dg, C/dg, K, P]. */
const grouped = (cols: Tensor, dg: number): Tensor => {
  const [n, c, k, p] = cols.shape as [number, number, number, number]
  return reshape(cols, [n, dg, c / dg, k, p])
}

/** One offset component (slot 0: Δy, 1: Δx) as [N, dg, 1, K, P], broadcasting over a group's channels. */
const offsetComponent = (offset: Tensor, slot: 0 | 1, dg: number, kk: number): Tensor => {
  const [n, , ho, wo] = offset.shape as [number, number, number, number]
  const pairs = reshape(offset, [n, dg, kk, 2, ho * wo])
  return reshape(slice(pairs, [0, 0, 0, slot, 0], [n, dg, kk, slot + 1, ho * wo]), [n, dg, 1, kk, ho * wo])
}

/** Σ over a group's channels of grouped columns, back in the offset layout (null components are zero). */
const toOffsetLayout = (components: readonly (Tensor | null)[], offset: Tensor, dg: number, kk: number): Tensor | null => {
  if (components.every((t) => t === null)) return null
  const [n, , ho, wo] = offset.shape as [number, number, number, number]
  const pairs = components.map((t) => (t === null ? zeros([n, dg, kk, 1, ho * wo]) : reshape(sum(t, 2), [n, dg, kk, 1, ho * wo])))
  return reshape(concat(pairs, 3), offset.shape)
}

const plus = (terms: readonly (Tensor | null)[]): Tensor | null =>
  terms.reduce<Tensor | null>((a, b) => (a === null ? b : b === null ? a : add(a, b)), null)

/** The mode one more derivative along `bit` gives, or null when that derivative is identically zero. */
const further = (d: Derivative, bit: 1 | 2): Derivative | null => ((d & bit) !== 0 ? null : ((d | bit) as Derivative))

const kernelTaps = (p: DeformSampleParams): number => p.kernel[0] * p.kernel[1]

/** Batching folds the vmapped axis into N (both operands carry one image per row of N). */
const foldBatch = (t: Tensor, d: BatchDim, n: number): Tensor => {
  const b = batchFirst(t, d, n)
  return reshape(b, [n * b.shape[1]!, ...b.shape.slice(2)])
}
const unfoldBatch = (t: Tensor, n: number): Tensor => reshape(t, [n, t.shape[0]! / n, ...t.shape.slice(1)])

export const deformSampleRule: Rule<DeformSampleParams> = {
  name: 'deformSample',
  abstractEval: ([x, offset], p) => {
    const described = () => describeAll([x!, offset!])
    expectDTypes('deformSample', [x!, offset!], ['float32'])
    if (x!.shape.length !== 4) fail('deformSample', `x must be 4-D [N,C,H,W], got ${describeAval(x!)} (${described()})`)
    checkOffsets('deformSample', x!.shape, offset!, p, described)
    return [{ shape: [x!.shape[0]!, x!.shape[1]!, kernelTaps(p), offset!.shape[2]! * offset!.shape[3]!], dtype: 'float32' }]
  },
  cpu: ([x, offset], p) => [deformSampleKernel(x!.data as Float32Array, offset!.data as Float32Array, geometry(x!.shape, offset!.shape, p))],
  jvp: ([x, offset], [tx, toff], p) => {
    const dg = p.deformableGroups
    const kk = kernelTaps(p)
    const viaOffset = toff === null ? [] : AXES.map(({ bit, slot }) => {
      const d = further(p.derivative, bit)
      if (d === null) return null
      const s = sample(x!, offset!, p, d)
      return reshape(mul(grouped(s, dg), offsetComponent(toff, slot, dg, kk)), s.shape)
    })
    return [plus([tx === null ? null : sample(tx, offset!, p, p.derivative), ...viaOffset])]
  },
  vjp: ([ct], [x, offset], p, _, [wantX, wantOffset]) => {
    if (ct === null) return [null, null]
    const dg = p.deformableGroups
    const dx = wantX ? transposeSample(ct, offset!, p, p.derivative, [x!.shape[2]!, x!.shape[3]!]) : null
    const dOffset = wantOffset
      ? toOffsetLayout(AXES.map(({ bit }) => {
        const d = further(p.derivative, bit)
        return d === null ? null : mul(grouped(ct, dg), grouped(sample(x!, offset!, p, d), dg))
      }), offset!, dg, kernelTaps(p))
      : null
    return [dx, dOffset]
  },
  vmap: ([x, offset], [dx, doff], p, n) => [[unfoldBatch(bind1(deformSampleRule, [foldBatch(x!, dx!, n), foldBatch(offset!, doff!, n)], p), n)], [0]],
  webgpu: (ctx, [x, offset], p, [o]) => [deformSampleGpu(ctx, x!, offset!, o!, geometry(x!.shape, offset!.shape, p))],
}

export const deformSampleTransposeRule: Rule<DeformTransposeParams> = {
  name: 'deformSampleTranspose',
  abstractEval: ([cols, offset], p) => {
    const described = () => `${describeAll([cols!, offset!])}, input size [${p.inputSize.join(',')}]`
    expectDTypes('deformSampleTranspose', [cols!, offset!], ['float32'])
    const image = [cols!.shape[0]!, cols!.shape[1]!, ...p.inputSize]
    checkOffsets('deformSampleTranspose', image, offset!, p, described)
    const want = [image[0]!, image[1]!, kernelTaps(p), offset!.shape[2]! * offset!.shape[3]!]
    if (cols!.shape.length !== 4 || want.some((d, i) => d !== cols!.shape[i])) {
      fail('deformSampleTranspose', `columns must be [${want.join(',')}] for these offsets, got ${describeAval(cols!)} (${described()})`)
    }
    return [{ shape: image, dtype: 'float32' }]
  },
  cpu: ([cols, offset], p, [o]) => [deformSampleTransposeKernel(cols!.data as Float32Array, offset!.data as Float32Array, geometry(o!.shape, offset!.shape, p))],
  jvp: ([cols, offset], [tc, toff], p) => {
    const dg = p.deformableGroups
    const kk = kernelTaps(p)
    const viaOffset = toff === null ? [] : AXES.map(({ bit, slot }) => {
      const d = further(p.derivative, bit)
      if (d === null) return null
      return transposeSample(reshape(mul(grouped(cols!, dg), offsetComponent(toff, slot, dg, kk)), cols!.shape), offset!, p, d, p.inputSize)
    })
    return [plus([tc === null ? null : transposeSample(tc, offset!, p, p.derivative, p.inputSize), ...viaOffset])]
  },
  vjp: ([g], [cols, offset], p, _, [wantCols, wantOffset]) => {
    if (g === null) return [null, null]
    const dg = p.deformableGroups
    const dCols = wantCols ? sample(g, offset!, p, p.derivative) : null
    const dOffset = wantOffset
      ? toOffsetLayout(AXES.map(({ bit }) => {
        const d = further(p.derivative, bit)
        return d === null ? null : mul(grouped(cols!, dg), grouped(sample(g, offset!, p, d), dg))
      }), offset!, dg, kernelTaps(p))
      : null
    return [dCols, dOffset]
  },
  vmap: ([cols, offset], [dc, doff], p, n) => [[unfoldBatch(bind1(deformSampleTransposeRule, [foldBatch(cols!, dc!, n), foldBatch(offset!, doff!, n)], p), n)], [0]],
  webgpu: (ctx, [cols, offset], p, [o]) => [deformSampleTransposeGpu(ctx, cols!, offset!, o!, geometry(o!.shape, offset!.shape, p))],
}

/**
 * Deformable im2col: x f32[N,C,H,W] sampled at the kernel taps of every output position displaced by
 * `offset` f32[N, 2·dg·kh·kw, Ho, Wo] → f32[N, C, kh·kw, Ho·Wo] (rows (c, ki, kj) like an OIHW weight).
 */
export const deformSample = (x: Tensor, offset: Tensor, p: Omit<DeformSampleParams, 'derivative'>): Tensor =>
  bind1(deformSampleRule, [x, offset], { ...p, derivative: 0 })
