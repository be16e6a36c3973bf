/**
 * Keypoint encodings of Mask R-CNN's keypoint head (detectron2 structures/keypoints.py): ground-truth
 * keypoints → one-hot heatmap labels for training, and predicted heatmaps → keypoints for inference.
 * Both use Heckbert's pixel convention ("What is the coordinate of a pixel?", 1990): discrete d = ⌊c⌋,
 * continuous c = d + ½.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { zeros } from '../creation.js'
import { add, cast, div, equal, greater, greaterEqual, less, logicalAnd, mul, sub, where } from '../elementwise/binary.js'
import { floor, isFinite } from '../elementwise/unary.js'
import { describeAll } from '../operand.js'
import { asColumn, unbindLast } from './columns.js'
import { decodeHeatmaps } from './keypoints-decode.js'

const all = (xs: readonly Tensor[]): Tensor => xs.reduce((a, b) => logicalAnd(a, b))

const expectKeypointsAndRois = (op: string, keypoints: Tensor, kWidth: number, rois: Tensor): void => {
  const shapes = () => describeAll([keypoints, rois])
  if (rois.shape.length !== 2 || rois.shape[1] !== 4 || rois.dtype !== 'float32') fail(op, `rois must be f32[N, 4] rows (x1, y1, x2, y2), got ${describeAval(rois)} (${shapes()})`)
  if (keypoints.dtype !== 'float32' || keypoints.shape[0] !== rois.shape[0]) {
    fail(op, `expected one float32 row per roi, got ${shapes()}`)
  }
  if (kWidth > 0 && (keypoints.shape.length !== 3 || keypoints.shape[2] !== kWidth)) {
    fail(op, `keypoints must be f32[N, K, ${kWidth}] rows (x, y, visibility), got ${describeAval(keypoints)} (${shapes()})`)
  }
}

/**
 * Ground-truth keypoints → heatmap labels (detectron2 `_keypoints_to_heatmap`). keypoints: f32[N,K,3]
 * (x, y, visibility), rois: f32[N,4] XYXY → `heatmaps` i32[N,K], the flat label y·size + x on a
 * size×size grid over the roi (0 where invalid), and `valid` bool[N,K] (detectron2 returns it as int64):
 * visible (v > 0) and inside the roi. The roi is the half-open [x1, x2) mapped onto cells ⌊(x − x1)·
 * size/(x2 − x1)⌋, except that a keypoint exactly on the far edge x = x2 (or y = y2) goes to the last cell.
 * A coordinate that is not finite (e.g. a zero-width roi) is invalid, as its int64 cast is in PyTorch.
 */
export const keypointsToHeatmap = (keypoints: Tensor, rois: Tensor, heatmapSize: number): { readonly heatmaps: Tensor; readonly valid: Tensor } => {
  const op = 'keypointsToHeatmap'
  expectKeypointsAndRois(op, keypoints, 3, rois)
  if (!Number.isInteger(heatmapSize) || heatmapSize < 1) fail(op, `heatmapSize must be a positive integer, got ${heatmapSize} (${describeAll([keypoints, rois])})`)
  const [n, k] = keypoints.shape as [number, number]
  if (n === 0 || k === 0) return { heatmaps: zeros([n, k], 'int32'), valid: zeros([n, k], 'bool') }
  const [x1, y1, x2, y2] = unbindLast(rois) as [Tensor, Tensor, Tensor, Tensor]
  const [x, y, visibility] = unbindLast(keypoints) as [Tensor, Tensor, Tensor]
  const cell = (v: Tensor, lo: Tensor, hi: Tensor): Tensor => {
    const scale = div(heatmapSize, sub(hi, lo))
    return where(equal(v, asColumn(hi)), heatmapSize - 1, floor(mul(sub(v, asColumn(lo)), asColumn(scale))))
  }
  const cx = cell(x, x1, x2)
  const cy = cell(y, y1, y2)
  const inside = (c: Tensor) => all([isFinite(c), greaterEqual(c, 0), less(c, heatmapSize)])
  const valid = all([inside(cx), inside(cy), greater(visibility, 0)])
  const label = add(mul(cast(where(valid, cy, 0), 'int32'), heatmapSize), cast(where(valid, cx, 0), 'int32'))
  return { heatmaps: label, valid }
}

/**
 * Predicted heatmaps → keypoints (detectron2 `heatmaps_to_keypoints`). maps: f32[R,K,Hm,Wm] logits,
 * rois: f32[R,4] → f32[R,K,4] rows (x, y, logit, score). Each roi's maps are resized bicubically
 * (PyTorch's `interpolate(mode='bicubic', align_corners=False)`, A = −0.75, clamped taps) to
 * ⌈h⌉×⌈w⌉ with h, w the roi's size clamped to ≥ 1; the argmax (first in row-major order) at cell
 * (yi, xi) gives x = x1 + (xi + ½)·w/⌈w⌉, y likewise, the logit is the upsampled value there, and the
 * score is exp(0) / Σ exp(maps − max) over the low-resolution map. The per-roi sizes depend on the
 * data, so this is a primitive whose output shape is static and whose loops read the rois. Like
 * detectron2 (which detaches both inputs) it has no gradient. Non-finite rois give NaN rows.
 */
export const heatmapsToKeypoints = (maps: Tensor, rois: Tensor): Tensor => {
  const op = 'heatmapsToKeypoints'
  expectKeypointsAndRois(op, maps, 0, rois)
  if (maps.shape.length !== 4) fail(op, `maps must be f32[R, K, H, W], got ${describeAval(maps)} (${describeAll([maps, rois])})`)
  const [r, k, h, w] = maps.shape as [number, number, number, number]
  if (r > 0 && k > 0 && (h === 0 || w === 0)) fail(op, `maps must have a non-empty H×W, got ${describeAval(maps)}`)
  return decodeHeatmaps(maps, rois)
}
