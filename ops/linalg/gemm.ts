/**
 * Single-precision GEMM for the CPU backend: C[m,n] (+)= A[m,k] · B[k,n] over Float32Array.
 *
 * The scheme is the Goto/BLIS one, scaled to what a JS engine keeps in registers:
 * - The k axis is cut into blocks of KC and the m axis into blocks of MC, so that one packed block of A
 *   (MC×KC) stays in L2 while the whole packed slab of B (KC×NC) streams through it.
 * - Packing copies A into panels of MR rows and B into panels of NR columns, each stored k-major
 *   (`panel[p*MR + r]`), zero-padded at the edges. Packing reads the operands through arbitrary row and
 *   column strides, so a transposed or otherwise strided operand (im2col columns, weight matrices seen
 *   as their transpose) costs nothing extra: the copy happens anyway, and it is O(mk + kn), not O(mnk).
 * - The micro-kernel walks one A panel and one B panel together over k and accumulates its MR×NR tile of
 *   C in local variables (4×4 = 16 doubles, about what V8 can hold in x64's 16 float registers), so the
 *   innermost loop does 8 unit-stride loads and 16 multiply-adds and no stores. A 4×8 tile measured the
 *   same (~4.5 GFLOP/s single-threaded), so the smaller, more readable one stays. The packed buffers are
 *   Float64Array so the loads need no float→double conversion; the sums are in double precision and
 *   rounded to float32 once, when the tile is written back.
 */

/** A read-only strided view of a matrix: element (i, j) is `data[offset + i*rowStride + j*colStride]`. */
export type MatrixView = {
  readonly data: Float32Array
  readonly offset: number
  readonly rowStride: number
  readonly colStride: number
}

/** Where the product goes: row-major rows of `ldc` elements starting at `offset`. */
export type OutputView = { readonly data: Float32Array; readonly offset: number; readonly ld: number }

const MR = 4
const NR = 4
const KC = 256
const MC = 64
const NC = 2048

/** A row-major m×n matrix stored contiguously from `offset`. */
export const rowMajor = (data: Float32Array, offset: number, cols: number): MatrixView => ({ data, offset, rowStride: cols, colStride: 1 })

/** The transpose of a row-major matrix with `cols` columns, as a view (no copy). */
export const transposed = (data: Float32Array, offset: number, cols: number): MatrixView => ({ data, offset, rowStride: 1, colStride: cols })

// Packing buffers are reused across calls (JS is single-threaded and gemm never re-enters itself).
let packA = new Float64Array(MC * KC)
let packB = new Float64Array(KC * NC)

/** Copies A[i0:i0+mc, p0:p0+kc] into MR-row panels, k-major, zero-padding the last panel. */
const packPanelsOfA = (a: MatrixView, i0: number, mc: number, p0: number, kc: number, out: Float64Array): void => {
  const { data, rowStride, colStride } = a
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = Math.min(MR, mc - ir)
    const base = ir * kc
    for (let r = 0; r < MR; r++) {
      let src = a.offset + (i0 + ir + r) * rowStride + p0 * colStride
      let dst = base + r
      if (r < rows) {
        for (let p = 0; p < kc; p++, src += colStride, dst += MR) out[dst] = data[src]!
      } else {
        for (let p = 0; p < kc; p++, dst += MR) out[dst] = 0
      }
    }
  }
}

/** Copies B[p0:p0+kc, j0:j0+nc] into NR-column panels, k-major, zero-padding the last panel. */
const packPanelsOfB = (b: MatrixView, p0: number, kc: number, j0: number, nc: number, out: Float64Array): void => {
  const { data, rowStride, colStride } = b
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = Math.min(NR, nc - jr)
    const base = jr * kc
    if (cols === NR && colStride === 1) {
      for (let p = 0; p < kc; p++) {
        const src = b.offset + (p0 + p) * rowStride + j0 + jr
        const dst = base + p * NR
        out[dst] = data[src]!
        out[dst + 1] = data[src + 1]!
        out[dst + 2] = data[src + 2]!
        out[dst + 3] = data[src + 3]!
      }
      continue
    }
    for (let c = 0; c < NR; c++) {
      let src = b.offset + p0 * rowStride + (j0 + jr + c) * colStride
      let dst = base + c
      if (c < cols) {
        for (let p = 0; p < kc; p++, src += rowStride, dst += NR) out[dst] = data[src]!
      } else {
        for (let p = 0; p < kc; p++, dst += NR) out[dst] = 0
      }
    }
  }
}

/**
 * The 4×4 micro-kernel: tile += Ap[panel] · Bp[panel] over kc, then stores the valid rows×cols corner of
 * the tile into C (adding to what is there when `add`).
 */
const microKernel = (
  kc: number, ap: Float64Array, aBase: number, bp: Float64Array, bBase: number,
  c: Float32Array, cBase: number, ldc: number, rows: number, cols: number, add: boolean,
): void => {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0
  let ai = aBase
  let bi = bBase
  for (let p = 0; p < kc; p++, ai += 4, bi += 4) {
    const a0 = ap[ai]!, a1 = ap[ai + 1]!, a2 = ap[ai + 2]!, a3 = ap[ai + 3]!
    const b0 = bp[bi]!, b1 = bp[bi + 1]!, b2 = bp[bi + 2]!, b3 = bp[bi + 3]!
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3
  }
  if (rows === 4 && cols === 4) {
    let o = cBase
    if (add) {
      c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc
      c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += ldc
      c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += ldc
      c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33
    } else {
      c[o] = c00; c[o + 1] = c01; c[o + 2] = c02; c[o + 3] = c03; o += ldc
      c[o] = c10; c[o + 1] = c11; c[o + 2] = c12; c[o + 3] = c13; o += ldc
      c[o] = c20; c[o + 1] = c21; c[o + 2] = c22; c[o + 3] = c23; o += ldc
      c[o] = c30; c[o + 1] = c31; c[o + 2] = c32; c[o + 3] = c33
    }
    return
  }
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33]
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const o = cBase + r * ldc + q
      c[o] = (add ? c[o]! : 0) + tile[r * 4 + q]!
    }
  }
}

/**
 * C[m,n] = A[m,k] · B[k,n], or C += A·B when `accumulate`. A and B are strided views (see MatrixView);
 * C is row-major with leading dimension `c.ld`. With k = 0 the product is zero (C is cleared, or left
 * as it is when accumulating).
 */
export const gemm = (m: number, n: number, k: number, a: MatrixView, b: MatrixView, c: OutputView, accumulate = false): void => {
  if (m === 0 || n === 0) return
  if (k === 0) {
    if (!accumulate) for (let i = 0; i < m; i++) c.data.fill(0, c.offset + i * c.ld, c.offset + i * c.ld + n)
    return
  }
  const kcMax = Math.min(KC, k)
  const ncMax = Math.min(NC, roundUp(n, NR))
  if (packB.length < kcMax * ncMax) packB = new Float64Array(kcMax * ncMax)
  if (packA.length < MC * kcMax) packA = new Float64Array(MC * kcMax)
  const ap = packA
  const bp = packB
  const cd = c.data
  const ldc = c.ld
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0)
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0)
      const add = accumulate || p0 > 0
      packPanelsOfB(b, p0, kc, j0, nc, bp)
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0)
        packPanelsOfA(a, i0, mc, p0, kc, ap)
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr)
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = Math.min(MR, mc - ir)
            microKernel(kc, ap, ir * kc, bp, jr * kc, cd, c.offset + (i0 + ir) * ldc + j0 + jr, ldc, rows, cols, add)
          }
        }
      }
    }
  }
}

const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q
