/**
 * ROIAlign (Mask R-CNN, He et al. 2017) with detectron2's semantics, axis-aligned (`roiAlign`, which is
 * torchvision's `roi_align`) and rotated (`roiAlignRotated`, detectron2's `ROIAlignRotated`).
 *
 * Each is a pair of primitives that closes under differentiation: the pooling map P (features → pooled)
 * is linear in the features for fixed rois, so
 *   jvp  P(x)·tx = P(tx)      vjp  Pᵀ ct = roiAlignBackward(ct)      vjp of the backward = P
 * and gradients of any order stay inside the pair. The rois get no derivative, as in detectron2 (whose
 * autograd function returns None for them): differentiating with respect to a roi gives zeros. Sampling
 * geometry and its edge cases are described in roi-geometry.ts.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { arange } from '../creation.js'
import { add, greater, less, logicalAnd, mul, where, maximum } from '../elementwise/binary.js'
import { floor } from '../elementwise/unary.js'
import { batchFirst, reshape } from '../shape/basic.js'
import { concat, slice } from '../shape/slice.js'
import { type RoiAlignBackwardParams, type RoiAlignParams, type RoiMode, roiColumns } from './roi-geometry.js'
import { roiAlignBackwardCpu, roiAlignCpu } from './roi-kernels.js'
import { roiAlignBackwardGpu, roiAlignGpu } from './roi-wgsl.js'

const rowLayout = (mode: RoiMode): string =>
  mode === 'rotated' ? '(batch index, cx, cy, w, h, angle°)' : '(batch index, x1, y1, x2, y2)'

/** Throws unless `rois` is f32[K, 5] (or [K, 6] rotated); names a missing batch column explicitly. */
const expectRois = (op: string, rois: Aval, mode: RoiMode, other: Aval): void => {
  const cols = roiColumns(mode)
  if (rois.dtype === 'float32' && rois.shape.length === 2 && rois.shape[1] === cols) return
  const hint = rois.shape.length === 2 && rois.shape[1] === cols - 1
    ? '; the batch-index column is missing (prepend each roi\'s image index, e.g. a column of zeros)' : ''
  fail(op, `rois must be f32[K,${cols}] rows ${rowLayout(mode)}, got ${describeAval(rois)} (with ${describeAval(other)})${hint}`)
}

const expectFeatures = (op: string, features: Aval, rois: Aval): void => {
  if (features.dtype !== 'float32' || features.shape.length !== 4) {
    fail(op, `features must be f32[N,C,H,W], got ${describeAval(features)} (rois ${describeAval(rois)})`)
  }
}

/**
 * Batching: a mapped axis folds into the roi count and, when the features are mapped too, into the image
 * axis N, with each roi's batch index shifted by b·N (invalid indices stay invalid). rois: [B,K,cols] → [B·K,cols]
 */
const foldRois = (rois: Tensor, b: number, n: number): Tensor => {
  const [, k, cols] = rois.shape as [number, number, number]
  const index = slice(rois, [0, 0, 0], [b, k, 1])
  const shift = mul(reshape(arange(0, b, 1, 'float32'), [b, 1, 1]), n)
  const valid = logicalAnd(greater(index, -1), less(index, n))
  const shifted = where(valid, add(floor(maximum(index, 0)), shift), -1)
  return reshape(concat([shifted, slice(rois, [0, 0, 1], [b, k, cols])], 2), [b * k, cols])
}

const vmapForward = (args: readonly Tensor[], dims: readonly BatchDim[], p: RoiAlignParams, b: number): [Tensor[], BatchDim[]] => {
  const [x, rois] = args as [Tensor, Tensor]
  const rb = batchFirst(rois, dims[1]!, b)
  const k = rb.shape[1]!
  let out: Tensor
  if (dims[0] === null) {
    // Only the rois are mapped: pool all B·K of them from the shared features.
    out = poolPrimitive(x, reshape(rb, [b * k, roiColumns(p.mode)]), p)
  } else {
    const xb = batchFirst(x, dims[0]!, b)
    const n = xb.shape[1]!
    out = poolPrimitive(reshape(xb, [b * n, ...xb.shape.slice(2)]), foldRois(rb, b, n), p)
  }
  return [[reshape(out, [b, k, ...out.shape.slice(1)])], [0]]
}

const vmapBackward = (args: readonly Tensor[], dims: readonly BatchDim[], p: RoiAlignBackwardParams, b: number): [Tensor[], BatchDim[]] => {
  const [ct, rois] = args as [Tensor, Tensor]
  const ctb = batchFirst(ct, dims[0]!, b)
  const [n, ...chw] = p.featureShape
  const out = backwardPrimitive(
    reshape(ctb, [b * ctb.shape[1]!, ...ctb.shape.slice(2)]),
    foldRois(batchFirst(rois, dims[1]!, b), b, n),
    { ...p, featureShape: [b * n, ...chw] as [number, number, number, number] },
  )
  return [[reshape(out, [b, ...p.featureShape])], [0]]
}

const forwardRule = (name: string): Rule<RoiAlignParams> => ({
  name,
  abstractEval: ([x, rois], p) => {
    expectFeatures(name, x!, rois!)
    expectRois(name, rois!, p.mode, x!)
    return [{ shape: [rois!.shape[0]!, x!.shape[1]!, ...p.outputSize], dtype: 'float32' }]
  },
  cpu: (inputs, p) => [roiAlignCpu(inputs, p)],
  jvp: ([, rois], [t], p) => [t === null ? null : poolPrimitive(t, rois!, p)],
  vjp: ([ct], [x, rois], p, _outs, wants) => [
    ct === null || !wants[0] ? null : backwardPrimitive(ct, rois!, { ...p, featureShape: x!.shape as [number, number, number, number] }),
    null,
  ],
  vmap: vmapForward,
  webgpu: (ctx, [x, rois], p, [o]) => [roiAlignGpu(ctx, x!, rois!, p, o!)],
})

const backwardRule = (name: string): Rule<RoiAlignBackwardParams> => ({
  name,
  abstractEval: ([ct, rois], p) => {
    const [, c] = p.featureShape
    expectRois(name, rois!, p.mode, ct!)
    const expected = [rois!.shape[0]!, c, ...p.outputSize]
    if (ct!.dtype !== 'float32' || ct!.shape.join() !== expected.join()) {
      fail(name, `cotangent must be f32[${expected.join(',')}] for rois ${describeAval(rois!)}, got ${describeAval(ct!)}`)
    }
    return [{ shape: p.featureShape, dtype: 'float32' }]
  },
  cpu: (inputs, p) => [roiAlignBackwardCpu(inputs, p)],
  jvp: ([, rois], [t], p) => [t === null ? null : backwardPrimitive(t, rois!, p)],
  vjp: ([ct], [, rois], p) => [ct === null ? null : poolPrimitive(ct, rois!, forwardParams(p)), null],
  vmap: vmapBackward,
  webgpu: (ctx, [ct, rois], p, [o]) => [roiAlignBackwardGpu(ctx, ct!, rois!, p, o!)],
})

export const roiAlignRule = forwardRule('roiAlign')
export const roiAlignBackwardRule = backwardRule('roiAlignBackward')
export const roiAlignRotatedRule = forwardRule('roiAlignRotated')
export const roiAlignRotatedBackwardRule = backwardRule('roiAlignRotatedBackward')

const forwardParams = ({ mode, outputSize, spatialScale, samplingRatio }: RoiAlignBackwardParams): RoiAlignParams =>
  ({ mode, outputSize, spatialScale, samplingRatio })

const poolPrimitive = (x: Tensor, rois: Tensor, p: RoiAlignParams): Tensor =>
  bind1(p.mode === 'rotated' ? roiAlignRotatedRule : roiAlignRule, [x, rois], p)

/**
 * The transpose of ROIAlign: scatters `ct` back through the bilinear sampling weights into features of
 * `p.featureShape`. ct: f32[K,C,ph,pw], rois: f32[K,5|6] → f32[N,C,H,W]
 */
export const backwardPrimitive = (ct: Tensor, rois: Tensor, p: RoiAlignBackwardParams): Tensor =>
  bind1(p.mode === 'rotated' ? roiAlignRotatedBackwardRule : roiAlignBackwardRule, [ct, rois], p)

export type RoiAlignOptions = {
  /** Pooled size [ph, pw] (a number means square). */
  readonly outputSize: number | readonly [number, number]
  /** Feature-map scale relative to the roi coordinates (1 / stride). */
  readonly spatialScale: number
  /** Samples per bin and axis; 0 (the default) = ceil(bin size), adaptive per roi. */
  readonly samplingRatio?: number
  /** Half-pixel shift (detectron2 ROIAlignV2, default true); false = legacy Detectron ROIAlign. */
  readonly aligned?: boolean
}

export type RoiAlignRotatedOptions = Omit<RoiAlignOptions, 'aligned'>

const parseParams = (op: string, o: RoiAlignRotatedOptions, mode: RoiMode): RoiAlignParams => {
  const size = typeof o.outputSize === 'number' ? [o.outputSize, o.outputSize] : o.outputSize
  if (size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0)) {
    fail(op, `outputSize must be a positive integer or a pair of them, got ${JSON.stringify(o.outputSize)}`)
  }
  if (!(typeof o.spatialScale === 'number' && Number.isFinite(o.spatialScale) && o.spatialScale > 0)) {
    fail(op, `spatialScale must be a positive finite number (1 / feature stride), got ${String(o.spatialScale)}`)
  }
  const samplingRatio = o.samplingRatio ?? 0
  if (!Number.isInteger(samplingRatio) || samplingRatio < 0) fail(op, `samplingRatio must be an integer ≥ 0, got ${samplingRatio}`)
  return { mode, outputSize: [size[0]!, size[1]!], spatialScale: Math.fround(o.spatialScale), samplingRatio }
}

/**
 * ROIAlign (torchvision `roi_align`, detectron2 `ROIAlign`): each roi is divided into ph×pw bins, each bin
 * averages bilinear samples on a samplingRatio² grid (0 = ceil(bin size) per axis). `aligned` shifts the
 * scaled roi by −0.5 pixel (ROIAlignV2); without it, rois are forced to at least 1×1 (legacy Detectron).
 * Samples with y < −1 or y > H (likewise x) read 0; others clamp to the map. Rois with a batch index outside
 * [0, N) pool 0. Differentiable in `features` only (rois get no gradient, as in detectron2).
 * features: f32[N,C,H,W], rois: f32[K,5] (batch index, x1, y1, x2, y2) → f32[K,C,ph,pw]
 */
export const roiAlign = (features: Tensor, rois: Tensor, options: RoiAlignOptions): Tensor => {
  expectFeatures('roiAlign', features, rois)
  expectRois('roiAlign', rois, 'aligned', features)
  return poolPrimitive(features, rois, parseParams('roiAlign', options, options.aligned === false ? 'legacy' : 'aligned'))
}

/**
 * Rotated ROIAlign (detectron2 `ROIAlignRotated`): like `roiAlign` (always aligned: the centre shifts by
 * −0.5 pixel; sizes are not forced), with the sampling grid rotated by `angle` degrees counter-clockwise
 * about the roi centre (detectron2's rotated-box convention). Differentiable in `features` only.
 * features: f32[N,C,H,W], rois: f32[K,6] (batch index, cx, cy, w, h, angle°) → f32[K,C,ph,pw]
 */
export const roiAlignRotated = (features: Tensor, rois: Tensor, options: RoiAlignRotatedOptions): Tensor => {
  expectFeatures('roiAlignRotated', features, rois)
  expectRois('roiAlignRotated', rois, 'rotated', features)
  return poolPrimitive(features, rois, parseParams('roiAlignRotated', options, 'rotated'))
}

