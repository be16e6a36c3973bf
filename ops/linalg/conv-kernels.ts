/**
 * CPU kernels of the three convolution primitives, all as GEMMs per (image, group):
 *
 *   conv2d            y[Og, P]  = W[Og, K] · col(x)[K, P]
 *   conv2dInputGrad   col[K, P] = Wᵀ[K, Og] · g[Og, P], then col2im scatters col back onto the image
 *   conv2dWeightGrad  dW[Og, K] += g[Og, P] · col(x)ᵀ[P, K]   (summed over images)
 *
 * with K = (C/groups)·kh·kw rows ordered (c, ki, kj) like the OIHW weight, and P = Ho·Wo output
 * positions. The im2col matrix is built for a band of output rows at a time so that its size stays
 * bounded (large detection inputs would otherwise need gigabytes). A 1×1 kernel with stride 1 and no
 * padding needs no im2col at all: the image itself is the [C, H·W] matrix. Depthwise convolutions skip
 * the GEMM (see conv-depthwise.ts).
 */
import { depthwiseConv, depthwiseInputGrad, depthwiseWeightGrad, isDepthwise } from './conv-depthwise.js'
import { type MatrixView, gemm, rowMajor } from './gemm.js'

/** Everything a kernel needs to know about one convolution; spatial sizes are of x and of y. */
export type ConvGeometry = {
  readonly n: number
  readonly c: number
  readonly h: number
  readonly w: number
  readonly o: number
  readonly kh: number
  readonly kw: number
  readonly ho: number
  readonly wo: number
  readonly strideH: number
  readonly strideW: number
  readonly padTop: number
  readonly padLeft: number
  readonly dilationH: number
  readonly dilationW: number
  readonly groups: number
}

/** Floats allowed in one im2col band (16 MiB). */
const COL_BUDGET = 1 << 22

const isPointwise = (g: ConvGeometry): boolean =>
  g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && g.ho === g.h && g.wo === g.w

/** Output rows per im2col band: as many as fit the budget, at least one. */
const bandRows = (g: ConvGeometry): number => {
  const k = (g.c / g.groups) * g.kh * g.kw
  return Math.max(1, Math.min(g.ho, Math.floor(COL_BUDGET / Math.max(1, k * g.wo))))
}

/** The output columns [lo, hi) whose input column ow·s − pad + kj·d falls inside [0, w). */
const validColumns = (g: ConvGeometry, kj: number): [number, number] => {
  const shift = kj * g.dilationW - g.padLeft
  const lo = Math.min(g.wo, Math.max(0, Math.ceil(-shift / g.strideW)))
  const hi = Math.min(g.wo, Math.floor((g.w - 1 - shift) / g.strideW) + 1)
  return [lo, Math.max(lo, hi)]
}

/**
 * Fills col[K, (oh1-oh0)·Wo] with the input patches of output rows [oh0, oh1) for the channels starting
 * at element `xOff` of x (zeros where the patch reads padding).
 */
const im2col = (x: Float32Array, xOff: number, g: ConvGeometry, oh0: number, oh1: number, col: Float32Array): void => {
  const cg = g.c / g.groups
  const { h, w, wo, kh, kw, strideH, strideW, dilationH, padTop } = g
  const width = (oh1 - oh0) * wo
  let row = 0
  for (let c = 0; c < cg; c++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row += width) {
        const [lo, hi] = validColumns(g, kj)
        const shift = kj * g.dilationW - g.padLeft
        for (let oh = oh0; oh < oh1; oh++) {
          const dst = row + (oh - oh0) * wo
          const ih = oh * strideH - padTop + ki * dilationH
          if (ih < 0 || ih >= h) {
            col.fill(0, dst, dst + wo)
            continue
          }
          const src = xOff + (c * h + ih) * w + shift
          col.fill(0, dst, dst + lo)
          for (let ow = lo; ow < hi; ow++) col[dst + ow] = x[src + ow * strideW]!
          col.fill(0, dst + hi, dst + wo)
        }
      }
    }
  }
}

/** The transpose of im2col: adds every entry of col back onto the input position it was read from. */
const col2im = (col: Float32Array, g: ConvGeometry, oh0: number, oh1: number, z: Float32Array, zOff: number): void => {
  const cg = g.c / g.groups
  const { h, w, wo, kh, kw, strideH, strideW, dilationH, padTop } = g
  const width = (oh1 - oh0) * wo
  let row = 0
  for (let c = 0; c < cg; c++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row += width) {
        const [lo, hi] = validColumns(g, kj)
        const shift = kj * g.dilationW - g.padLeft
        for (let oh = oh0; oh < oh1; oh++) {
          const ih = oh * strideH - padTop + ki * dilationH
          if (ih < 0 || ih >= h) continue
          const src = row + (oh - oh0) * wo
          const dst = zOff + (c * h + ih) * w + shift
          for (let ow = lo; ow < hi; ow++) z[dst + ow * strideW] += col[src + ow]!
        }
      }
    }
  }
}

/** Calls `band(oh0, oh1)` for consecutive bands of output rows. */
const forEachBand = (g: ConvGeometry, band: (oh0: number, oh1: number) => void): void => {
  const rows = bandRows(g)
  for (let oh0 = 0; oh0 < g.ho; oh0 += rows) band(oh0, Math.min(g.ho, oh0 + rows))
}

/** y[N,O,Ho,Wo] = conv2d(x[N,C,H,W], w[O,C/G,kh,kw]). */
export const conv2dKernel = (x: Float32Array, wt: Float32Array, g: ConvGeometry): Float32Array => {
  if (isDepthwise(g)) return depthwiseConv(x, wt, g)
  const cg = g.c / g.groups
  const og = g.o / g.groups
  const k = cg * g.kh * g.kw
  const p = g.ho * g.wo
  const y = new Float32Array(g.n * g.o * p)
  const pointwise = isPointwise(g)
  const col = pointwise ? new Float32Array(0) : new Float32Array(k * bandRows(g) * g.wo)
  for (let n = 0; n < g.n; n++) {
    for (let gi = 0; gi < g.groups; gi++) {
      const xOff = (n * g.c + gi * cg) * g.h * g.w
      const yOff = (n * g.o + gi * og) * p
      const weights = rowMajor(wt, gi * og * k, k)
      if (pointwise) {
        gemm(og, p, k, weights, rowMajor(x, xOff, p), { data: y, offset: yOff, ld: p })
        continue
      }
      forEachBand(g, (oh0, oh1) => {
        const width = (oh1 - oh0) * g.wo
        im2col(x, xOff, g, oh0, oh1, col)
        gemm(og, width, k, weights, rowMajor(col, 0, width), { data: y, offset: yOff + oh0 * g.wo, ld: p })
      })
    }
  }
  return y
}

/** z[N,C,H,W] = conv2dInputGrad(gy[N,O,Ho,Wo], w[O,C/G,kh,kw]): the adjoint of conv2d in x. */
export const conv2dInputGradKernel = (gy: Float32Array, wt: Float32Array, g: ConvGeometry): Float32Array => {
  if (isDepthwise(g)) return depthwiseInputGrad(gy, wt, g)
  const cg = g.c / g.groups
  const og = g.o / g.groups
  const k = cg * g.kh * g.kw
  const p = g.ho * g.wo
  const z = new Float32Array(g.n * g.c * g.h * g.w)
  const pointwise = isPointwise(g)
  const col = pointwise ? new Float32Array(0) : new Float32Array(k * bandRows(g) * g.wo)
  for (let n = 0; n < g.n; n++) {
    for (let gi = 0; gi < g.groups; gi++) {
      const zOff = (n * g.c + gi * cg) * g.h * g.w
      const gOff = (n * g.o + gi * og) * p
      // Wᵀ as a view: element (i, q) of the [K, Og] matrix is w[q·K + i].
      const weightsT: MatrixView = { data: wt, offset: gi * og * k, rowStride: 1, colStride: k }
      if (pointwise) {
        gemm(k, p, og, weightsT, rowMajor(gy, gOff, p), { data: z, offset: zOff, ld: p })
        continue
      }
      forEachBand(g, (oh0, oh1) => {
        const width = (oh1 - oh0) * g.wo
        const grads: MatrixView = { data: gy, offset: gOff + oh0 * g.wo, rowStride: p, colStride: 1 }
        gemm(k, width, og, weightsT, grads, { data: col, offset: 0, ld: width })
        col2im(col, g, oh0, oh1, z, zOff)
      })
    }
  }
  return z
}

/** dw[O,C/G,kh,kw] = conv2dWeightGrad(x[N,C,H,W], gy[N,O,Ho,Wo]): the adjoint of conv2d in w. */
export const conv2dWeightGradKernel = (x: Float32Array, gy: Float32Array, g: ConvGeometry): Float32Array => {
  if (isDepthwise(g)) return depthwiseWeightGrad(x, gy, g)
  const cg = g.c / g.groups
  const og = g.o / g.groups
  const k = cg * g.kh * g.kw
  const p = g.ho * g.wo
  const dw = new Float32Array(g.o * k)
  const pointwise = isPointwise(g)
  const col = pointwise ? new Float32Array(0) : new Float32Array(k * bandRows(g) * g.wo)
  for (let n = 0; n < g.n; n++) {
    for (let gi = 0; gi < g.groups; gi++) {
      const xOff = (n * g.c + gi * cg) * g.h * g.w
      const gOff = (n * g.o + gi * og) * p
      const out = { data: dw, offset: gi * og * k, ld: k }
      if (pointwise) {
        // xᵀ as a view: element (q, i) of the [P, K] matrix is x[i·P + q].
        gemm(og, k, p, rowMajor(gy, gOff, p), { data: x, offset: xOff, rowStride: 1, colStride: p }, out, true)
        continue
      }
      forEachBand(g, (oh0, oh1) => {
        const width = (oh1 - oh0) * g.wo
        im2col(x, xOff, g, oh0, oh1, col)
        const grads: MatrixView = { data: gy, offset: gOff + oh0 * g.wo, rowStride: p, colStride: 1 }
        gemm(og, k, width, grads, { data: col, offset: 0, rowStride: 1, colStride: width }, out, true)
      })
    }
  }
  return dw
}
