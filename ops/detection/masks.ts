/**
 * Pasting ROI masks into the image (detectron2 `paste_masks_in_image` / `_do_paste_mask`, the "aligned"
 * paste that replaced Detectron1's integer-box resize).
 *
 * detectron2 builds, for every image pixel (i, j), the grid_sample coordinate of its centre inside the
 * box, g = (i + ½ − y0)/(y1 − y0)·2 − 1, and samples the mask bilinearly with align_corners=False and
 * zero padding, i.e. at mask row m = ((g + 1)·Hm − 1)/2: weight 1 − frac on row ⌊m⌋ and frac on ⌊m⌋ + 1
 * (rows outside the mask dropped), the same along x, and the product of the two axes' weights per corner.
 *
 * The forward is a primitive (CPU and WGSL): one pixel is four taps, and the rows and columns a box
 * cannot reach are skipped, so pasting 64 masks into an 800×800 image costs what the boxes cover. Its
 * derivatives come from the same function written as a composition: along each axis the sample is a
 * sparse [pixels, cells] weight matrix, so pasted[n] = Wy[n]·mask[n]·Wx[n]ᵀ, two batched matmuls that
 * differentiate in masks and boxes (only the float32 summation order differs from the primitive).
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { arange, zeros } from '../creation.js'
import { add, div, equal, mul, sub, where } from '../elementwise/binary.js'
import { floor } from '../elementwise/unary.js'
import { matmul } from '../linalg/matmul.js'
import { describeAll } from '../operand.js'
import { batchFirst, reshape, transpose } from '../shape/basic.js'
import { jvp, vjp } from '../transforms.js'
import { asColumn, unbindLast } from './columns.js'
import { pasteMasksGpu } from './masks-wgsl.js'

/** `threshold` null: the soft f32 paste; a number: bool, pasted ≥ threshold. */
export type PasteParams = { readonly height: number; readonly width: number; readonly threshold: number | null }

// ---- the composition that defines the derivatives ----------------------------------------------------

/**
 * The [N, size, maskSize] weights that sample a mask axis of `maskSize` cells at the centres of `size`
 * image pixels, for boxes spanning [lo, hi) on that axis. A degenerate box (hi = lo) gives infinite or
 * NaN coordinates, which match no cell: the mask pastes as empty, as grid_sample reads it.
 */
const axisWeights = (lo: Tensor, hi: Tensor, size: number, maskSize: number): Tensor => {
  const centres = reshape(add(arange(0, size, 1, 'float32'), 0.5), [1, size])
  const g = sub(mul(div(sub(centres, asColumn(lo)), asColumn(sub(hi, lo))), 2), 1)
  const m = reshape(div(sub(mul(add(g, 1), maskSize), 1), 2), [lo.shape[0]!, size, 1])
  const m0 = floor(m)
  const frac = sub(m, m0)
  const cells = reshape(arange(0, maskSize, 1, 'float32'), [1, 1, maskSize])
  return where(equal(cells, m0), sub(1, frac), where(equal(cells, add(m0, 1)), frac, 0))
}

const softPasteComposite = (height: number, width: number) => (masks: Tensor, boxes: Tensor): Tensor => {
  const [x0, y0, x1, y1] = unbindLast(boxes) as [Tensor, Tensor, Tensor, Tensor]
  const rows = axisWeights(y0, y1, height, masks.shape[1]!)
  const columns = axisWeights(x0, x1, width, masks.shape[2]!)
  return matmul(matmul(rows, masks), transpose(columns, [0, 2, 1]))
}

// ---- CPU kernel --------------------------------------------------------------------------------------

const f = Math.fround

/**
 * Per pixel along one axis: the first mask cell ⌊m⌋ and the weights of cells ⌊m⌋ and ⌊m⌋ + 1 (0 for a
 * cell outside the mask), in float32 in grid_sample's order of operations.
 */
const axisTaps = (lo: number, hi: number, size: number, cells: number): { first: Int32Array; w0: Float32Array; w1: Float32Array } => {
  const first = new Int32Array(size)
  const w0 = new Float32Array(size)
  const w1 = new Float32Array(size)
  const extent = f(hi - lo)
  for (let i = 0; i < size; i++) {
    const g = f(f(f(f(f(i + 0.5) - lo) / extent) * 2) - 1)
    const m = f(f(f(f(g + 1) * cells) - 1) / 2)
    const m0 = Math.floor(m)
    const frac = f(m - m0)
    const ok = Number.isFinite(m)
    first[i] = ok ? m0 : -2
    w0[i] = ok && m0 >= 0 && m0 < cells ? f(1 - frac) : 0
    w1[i] = ok && m0 + 1 >= 0 && m0 + 1 < cells ? frac : 0
  }
  return { first, w0, w1 }
}

const pasteKernel = (masks: Float32Array, boxes: Float32Array, [n, hm, wm]: readonly number[], p: PasteParams): Float32Array | Uint8Array => {
  const { height: h, width: w, threshold } = p
  const out = threshold === null ? new Float32Array(n * h * w) : new Uint8Array(n * h * w)
  for (let b = 0; b < n; b++) {
    const ty = axisTaps(boxes[4 * b + 1]!, boxes[4 * b + 3]!, h, hm)
    const tx = axisTaps(boxes[4 * b]!, boxes[4 * b + 2]!, w, wm)
    const plane = b * hm * wm
    // Columns with a non-zero tap form one run (the box's footprint): find it once per mask.
    let jLo = 0
    while (jLo < w && tx.w0[jLo] === 0 && tx.w1[jLo] === 0) jLo++
    let jHi = w
    while (jHi > jLo && tx.w0[jHi - 1] === 0 && tx.w1[jHi - 1] === 0) jHi--
    for (let i = 0; i < h; i++) {
      const [wy0, wy1] = [ty.w0[i]!, ty.w1[i]!]
      if (wy0 === 0 && wy1 === 0) continue
      const r0 = plane + ty.first[i]! * wm
      const r1 = r0 + wm
      const row = (b * h + i) * w
      for (let j = jLo; j < jHi; j++) {
        const [wx0, wx1] = [tx.w0[j]!, tx.w1[j]!]
        const c = tx.first[j]!
        // grid_sample: nw·v_nw + ne·v_ne + sw·v_sw + se·v_se, absent corners reading 0.
        let v = 0
        if (wy0 !== 0 && wx0 !== 0) v = f(v + f(masks[r0 + c]! * f(wx0 * wy0)))
        if (wy0 !== 0 && wx1 !== 0) v = f(v + f(masks[r0 + c + 1]! * f(wx1 * wy0)))
        if (wy1 !== 0 && wx0 !== 0) v = f(v + f(masks[r1 + c]! * f(wx0 * wy1)))
        if (wy1 !== 0 && wx1 !== 0) v = f(v + f(masks[r1 + c + 1]! * f(wx1 * wy1)))
        out[row + j] = threshold === null ? v : v >= threshold ? 1 : 0
      }
    }
  }
  return out
}

export const pasteMasksRule: Rule<PasteParams> = {
  name: 'pasteMasks',
  abstractEval: ([masks, boxes], p) => {
    checkOperands(masks!, boxes!)
    return [{ shape: [masks!.shape[0]!, p.height, p.width], dtype: p.threshold === null ? 'float32' : 'bool' }]
  },
  cpu: ([masks, boxes], p) => [pasteKernel(masks!.data as Float32Array, boxes!.data as Float32Array, masks!.shape, p)],
  // A thresholded paste is piecewise constant; the soft one differentiates through its composition.
  jvp: ([masks, boxes], [tm, tb], p) => {
    if (p.threshold !== null) return [null]
    const tangents = [tm ?? zeros(masks!.shape), tb ?? zeros(boxes!.shape)]
    return [jvp(softPasteComposite(p.height, p.width), [masks, boxes], tangents)[1] as Tensor]
  },
  vjp: ([ct], [masks, boxes], p) => {
    if (ct === null || p.threshold !== null) return [null, null]
    return vjp(softPasteComposite(p.height, p.width), masks!, boxes!)[1](ct) as Tensor[]
  },
  vmap: ([masks, boxes], [dm, db], p, n) => {
    const fold = (t: Tensor, d: number | null) => {
      const b = batchFirst(t, d, n)
      return reshape(b, [n * b.shape[1]!, ...b.shape.slice(2)])
    }
    const y = bind1(pasteMasksRule, [fold(masks!, dm!), fold(boxes!, db!)], p)
    return [[reshape(y, [n, y.shape[0]! / n, ...y.shape.slice(1)])], [0]]
  },
  webgpu: (ctx, [masks, boxes], p, [o]) => [pasteMasksGpu(ctx, masks!, boxes!, o!, p)],
}

const checkOperands = (masks: Aval, boxes: Aval): void => {
  const op = 'pasteMasks'
  if (masks.shape.length !== 3 || masks.dtype !== 'float32') fail(op, `masks must be f32[N, Hm, Wm], got ${describeAval(masks)} (boxes ${describeAval(boxes)})`)
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 4 || boxes.dtype !== 'float32') fail(op, `boxes must be f32[N, 4] rows (x1, y1, x2, y2), got ${describeAval(boxes)} (masks ${describeAval(masks)})`)
  if (boxes.shape[0] !== masks.shape[0]) fail(op, `one box per mask: got ${describeAll([masks, boxes])}`)
}

/**
 * Pastes each soft ROI mask into its box on an h×w image: masks f32[N,Hm,Wm] (values in [0, 1]),
 * boxes f32[N,4] XYXY in image pixels → bool[N,h,w] (pasted ≥ threshold), or the pasted f32[N,h,w]
 * probabilities when threshold < 0 (detectron2 returns them ×255 as uint8 there, for visualisation).
 * Follows detectron2's GPU path, which samples the whole image: bilinear bleed can light pixels up to
 * ½·(box size / mask size) outside the box, whereas its CPU path crops to ⌊x0⌋ − 1 … ⌈x1⌉ + 1 first.
 * Masks and boxes must be finite; a box with zero width or height pastes as empty. On WebGPU a bool
 * is stored in 4 bytes, so N·h·w must fit the adapter's storage-binding limit (32M pixels on lavapipe).
 */
export const pasteMasks = (masks: Tensor, boxes: Tensor, imageSize: readonly [number, number], threshold = 0.5): Tensor => {
  const op = 'pasteMasks'
  checkOperands(masks, boxes)
  const [h, w] = imageSize
  if (![h, w].every((d) => Number.isInteger(d) && d >= 0)) fail(op, `imageSize must be [height, width] non-negative integers, got [${imageSize.join(', ')}] (${describeAll([masks, boxes])})`)
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) fail(op, `threshold must be a number, got ${threshold}`)
  return bind1(pasteMasksRule, [masks, boxes], { height: h, width: w, threshold: threshold >= 0 ? threshold : null })
}
