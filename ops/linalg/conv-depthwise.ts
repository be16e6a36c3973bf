/**
 * Direct kernels for depthwise convolutions (one input channel per group, as in MobileNet), where the
 * im2col + GEMM route would run GEMMs with a single row: each output channel is a sum over the kh·kw taps
 * of a shifted, strided copy of its input channel, computed row by row with unit-stride writes.
 */
import type { ConvGeometry } from './conv-kernels.js'

/** Depthwise: one input channel per group and fewer output channels per group than a GEMM tile has rows. */
export const isDepthwise = (g: ConvGeometry): boolean => g.c === g.groups && g.o / g.groups < 4

/**
 * Calls `row(o, tap, xRow, yRow, lo, hi)` for every (image, output channel, tap, output row) whose input
 * row exists: output elements yRow + ow for ow in [lo, hi) pair with input elements xRow + ow·strideW.
 */
const forEachRow = (g: ConvGeometry, row: (o: number, tap: number, xRow: number, yRow: number, lo: number, hi: number) => void): void => {
  const og = g.o / g.groups
  for (let n = 0; n < g.n; n++) {
    for (let o = 0; o < g.o; o++) {
      const xBase = (n * g.c + Math.floor(o / og)) * g.h * g.w
      const yBase = (n * g.o + o) * g.ho * g.wo
      for (let ki = 0; ki < g.kh; ki++) {
        for (let kj = 0; kj < g.kw; kj++) {
          const shift = kj * g.dilationW - g.padLeft
          const lo = Math.min(g.wo, Math.max(0, Math.ceil(-shift / g.strideW)))
          const hi = Math.max(lo, Math.min(g.wo, Math.floor((g.w - 1 - shift) / g.strideW) + 1))
          for (let oh = 0; oh < g.ho; oh++) {
            const ih = oh * g.strideH - g.padTop + ki * g.dilationH
            if (ih >= 0 && ih < g.h) row(o, ki * g.kw + kj, xBase + ih * g.w + shift, yBase + oh * g.wo, lo, hi)
          }
        }
      }
    }
  }
}

export const depthwiseConv = (x: Float32Array, wt: Float32Array, g: ConvGeometry): Float32Array => {
  const y = new Float32Array(g.n * g.o * g.ho * g.wo)
  const taps = g.kh * g.kw
  const s = g.strideW
  forEachRow(g, (o, tap, xRow, yRow, lo, hi) => {
    const wv = wt[o * taps + tap]!
    for (let ow = lo; ow < hi; ow++) y[yRow + ow] += wv * x[xRow + ow * s]!
  })
  return y
}

export const depthwiseInputGrad = (gy: Float32Array, wt: Float32Array, g: ConvGeometry): Float32Array => {
  const z = new Float32Array(g.n * g.c * g.h * g.w)
  const taps = g.kh * g.kw
  const s = g.strideW
  forEachRow(g, (o, tap, xRow, yRow, lo, hi) => {
    const wv = wt[o * taps + tap]!
    for (let ow = lo; ow < hi; ow++) z[xRow + ow * s] += wv * gy[yRow + ow]!
  })
  return z
}

export const depthwiseWeightGrad = (x: Float32Array, gy: Float32Array, g: ConvGeometry): Float32Array => {
  const taps = g.kh * g.kw
  const sums = new Float64Array(g.o * taps)
  const s = g.strideW
  forEachRow(g, (o, tap, xRow, yRow, lo, hi) => {
    let acc = 0
    for (let ow = lo; ow < hi; ow++) acc += gy[yRow + ow]! * x[xRow + ow * s]!
    sums[o * taps + tap] += acc
  })
  return Float32Array.from(sums)
}
