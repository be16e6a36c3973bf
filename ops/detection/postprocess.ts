/**
 * Inference-side bookkeeping: mapping detections from the network's input resolution back to the
 * image's (detectron2 `detector_postprocess`), the resize rule that chose that input resolution
 * (`ResizeShortestEdge.get_output_shape`), and folding a FrozenBatchNorm into the convolution before it.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { tensor } from '../creation.js'
import { add, greater, logicalAnd, mul, sub } from '../elementwise/binary.js'
import { rsqrt } from '../elementwise/unary.js'
import { clip } from '../elementwise/composite.js'
import { reshape } from '../shape/basic.js'
import { stackLast, unbindLast } from './columns.js'
import { pasteMasks } from './masks.js'

/**
 * Detections of one image as a plain record (detectron2 `Instances` with `pred_*` fields). With static
 * shapes, instances are never dropped: `valid` marks the live rows (all true when absent).
 */
export type DetectionInstances = {
  /** [height, width] of the image the coordinates refer to. */
  readonly imageSize: readonly [number, number]
  /** f32[N,4] XYXY. */
  readonly boxes: Tensor
  /** f32[N]. */
  readonly scores: Tensor
  /** i32[N]. */
  readonly classes: Tensor
  /** Soft ROI masks f32[N,1,M,M] or f32[N,M,M] before postprocessing; pasted bool[N,H,W] after. */
  readonly masks?: Tensor
  /** f32[N,K,3] (x, y, score). */
  readonly keypoints?: Tensor
  /** bool[N]. */
  readonly valid?: Tensor
}

export type DetectorPostprocessOptions = { readonly maskThreshold?: number }

const checkSize = (op: string, h: number, w: number): void => {
  if (![h, w].every((d) => Number.isInteger(d) && d > 0)) fail(op, `output size must be positive integers, got ${h}×${w}`)
}

/**
 * Rescales detections from `instances.imageSize` (what the network saw) to outH×outW (detectron2
 * `detector_postprocess`): boxes are scaled by (outW/w, outH/h) and clipped to the output image;
 * `valid` becomes false for boxes left with zero width or height (detectron2 drops those rows); soft
 * ROI masks are pasted into the clipped boxes at `maskThreshold` (default 0.5) → bool[N,outH,outW];
 * keypoint x, y are scaled, not clipped. The result's `imageSize` is [outH, outW].
 */
export const detectorPostprocess = (instances: DetectionInstances, outH: number, outW: number, options: DetectorPostprocessOptions = {}): DetectionInstances => {
  const op = 'detectorPostprocess'
  checkSize(op, outH, outW)
  const [h, w] = instances.imageSize
  checkSize(op, h, w)
  const { boxes, masks, keypoints } = instances
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 4 || boxes.dtype !== 'float32') fail(op, `boxes must be f32[N, 4], got ${describeAval(boxes)}`)
  const n = boxes.shape[0]!
  const sx = outW / w
  const sy = outH / h
  const [x1, y1, x2, y2] = unbindLast(boxes) as [Tensor, Tensor, Tensor, Tensor]
  const fitX = (v: Tensor) => clip(mul(v, sx), 0, outW)
  const fitY = (v: Tensor) => clip(mul(v, sy), 0, outH)
  const clipped = stackLast([fitX(x1), fitY(y1), fitX(x2), fitY(y2)])
  const [cx1, cy1, cx2, cy2] = unbindLast(clipped) as [Tensor, Tensor, Tensor, Tensor]
  const nonempty = logicalAnd(greater(sub(cx2, cx1), 0), greater(sub(cy2, cy1), 0))
  const valid = instances.valid === undefined ? nonempty : logicalAnd(instances.valid, nonempty)
  const pasted = masks === undefined ? undefined : pasteMasks(roiMasks(op, masks, n), clipped, [outH, outW], options.maskThreshold ?? 0.5)
  const scaled = keypoints === undefined ? undefined : scaleKeypoints(op, keypoints, sx, sy)
  return {
    ...instances, imageSize: [outH, outW], boxes: clipped, valid,
    ...(pasted === undefined ? {} : { masks: pasted }),
    ...(scaled === undefined ? {} : { keypoints: scaled }),
  }
}

/** f32[N,1,M,M] (the mask head's layout) or f32[N,M,M] → f32[N,M,M]. */
const roiMasks = (op: string, masks: Tensor, n: number): Tensor => {
  const s = masks.shape
  if (s.length === 4 && s[1] === 1 && s[0] === n) return reshape(masks, [n, s[2]!, s[3]!])
  if (s.length === 3 && s[0] === n) return masks
  return fail(op, `masks must be f32[N, 1, M, M] or f32[N, M, M] with N = ${n} boxes, got ${describeAval(masks)}`)
}

const scaleKeypoints = (op: string, keypoints: Tensor, sx: number, sy: number): Tensor => {
  const s = keypoints.shape
  if (s.length !== 3 || s[2] !== 3 || keypoints.dtype !== 'float32') fail(op, `keypoints must be f32[N, K, 3], got ${describeAval(keypoints)}`)
  return mul(keypoints, tensor([sx, sy, 1], { shape: [1, 1, 3] }))
}

/**
 * The image size detectron2's `ResizeShortestEdge` produces (`get_output_shape`): scale the short side
 * to `shortEdge`, then scale both down if the long side passes `maxSize`, and round half up with
 * `int(x + 0.5)`. Returns [newH, newW].
 */
export const resizeShortestEdge = (h: number, w: number, shortEdge: number, maxSize = Number.MAX_SAFE_INTEGER): [number, number] => {
  const op = 'resizeShortestEdge'
  if (![h, w].every((d) => Number.isFinite(d) && d > 0)) fail(op, `image size must be positive, got ${h}×${w}`)
  if (!(shortEdge > 0) || !(maxSize > 0)) fail(op, `shortEdge and maxSize must be positive, got ${shortEdge} and ${maxSize}`)
  const scale = shortEdge / Math.min(h, w)
  let [nh, nw] = h < w ? [shortEdge, scale * w] : [scale * h, shortEdge]
  const long = Math.max(nh, nw)
  if (long > maxSize) {
    const down = maxSize / long
    nh *= down
    nw *= down
  }
  return [Math.trunc(nh + 0.5), Math.trunc(nw + 0.5)]
}

/** A convolution's params (OIHW weight, optional bias f32[O]) and a FrozenBatchNorm's state, by checkpoint names. */
export type FoldableConv = { readonly weight: Tensor; readonly bias?: Tensor | null }
export type FrozenBatchNormState = { readonly weight: Tensor; readonly bias: Tensor; readonly running_mean: Tensor; readonly running_var: Tensor }

/**
 * Folds y = bn(conv(x)) into one convolution: with scale = γ/√(running_var + eps), weight' = weight·scale
 * per output channel and bias' = (bias − running_mean)·scale + β (bias = 0 when the conv has none, as in
 * detectron2's Conv2d-with-norm). weight: f32[O, ...] (any rank, output channels first) → the same;
 * the bias is always present afterwards, f32[O].
 */
export const foldFrozenBatchNorm = (conv: FoldableConv, norm: FrozenBatchNormState, eps = 1e-5): { readonly weight: Tensor; readonly bias: Tensor } => {
  const op = 'foldFrozenBatchNorm'
  const o = conv.weight.shape[0]
  const vectors = { 'norm.weight': norm.weight, 'norm.bias': norm.bias, 'norm.running_mean': norm.running_mean, 'norm.running_var': norm.running_var, ...(conv.bias ? { 'conv.bias': conv.bias } : {}) }
  if (conv.weight.shape.length < 1 || conv.weight.dtype !== 'float32') fail(op, `conv.weight must be f32[O, ...], got ${describeAval(conv.weight)}`)
  for (const [name, t] of Object.entries(vectors)) {
    if (t.shape.length !== 1 || t.shape[0] !== o || t.dtype !== 'float32') fail(op, `${name} must be f32[${o}] to match conv.weight ${describeAval(conv.weight)}, got ${describeAval(t)}`)
  }
  const scale = mul(norm.weight, rsqrt(add(norm.running_var, eps)))
  const perChannel = reshape(scale, [o!, ...conv.weight.shape.slice(1).map(() => 1)])
  const centred = conv.bias ? sub(conv.bias, norm.running_mean) : mul(norm.running_mean, -1)
  return { weight: mul(conv.weight, perChannel), bias: add(mul(centred, scale), norm.bias) }
}
