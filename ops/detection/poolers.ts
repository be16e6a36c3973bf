/**
 * Multi-level ROI pooling (detectron2 `modeling/poolers.py`, FPN paper eqn. 1): each box is pooled from
 * the pyramid level that matches its size.
 *
 * Static shapes: detectron2 gathers each level's boxes with `nonzero` (a data-dependent size) and
 * scatters the results back. Here every level pools *all* R rois, with the batch index of the rois that
 * belong to other levels replaced by −1, which roiAlign defines as "pool nothing": such a roi costs one
 * thread that reads its row and writes 0, and receives no gradient. The per-level outputs are exact
 * zeros outside their own rois, so their sum is the pooled result, in the input order (boxes of image 0,
 * then image 1, ...), exactly as `ROIPooler.forward` returns it. Cost against detectron2: the same
 * sampling work (each roi is sampled on one level only), plus L − 1 extra launches and writes of the
 * R·C·ph·pw output and L − 1 adds (for 1,000 rois × 256 channels × 7×7 and 4 levels: 3 × 50 MB of extra
 * writes); in return nothing is read back, so it runs under jit, vmap and grad unchanged.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { full, zeros } from '../creation.js'
import { add, cast, div, equal, greaterEqual, mul, where } from '../elementwise/binary.js'
import { sqrt } from '../elementwise/unary.js'
import { reshape } from '../shape/basic.js'
import { concat, slice } from '../shape/slice.js'
import { boxArea } from './box-iou.js'
import { expectBoxes } from './checks.js'
import { roiAlign, roiAlignRotated } from './roi-align.js'

/** detectron2 adds Python's float epsilon (2^−52) before the log, so a zero-area box gets a finite level. */
const EPS = 2.220446049250313e-16

const expectLevel = (op: string, what: string, v: number): void => {
  if (!Number.isInteger(v)) fail(op, `${what} must be an integer, got ${v}`)
}

/**
 * The pyramid level of each box as an offset from `minLevel` (detectron2 `assign_boxes_to_levels`):
 * clamp(floor(canonicalLevel + log2(sqrt(area) / canonicalBoxSize + 2^−52)), minLevel, maxLevel) − minLevel.
 * Computed without a logarithm — level ≥ l exactly when sqrt(area)/canonicalBoxSize + ε ≥ 2^(l − canonicalLevel) —
 * so boxes of exactly 112, 224, 448 pixels land where the formula puts them, not one level below through
 * a rounded log2. Rotated boxes (f32[R,5]) use w·h. A NaN or negative area goes to level 0 (detectron2's
 * integer cast of NaN is undefined). boxes: f32[R,4] XYXY or f32[R,5] → i32[R]
 */
export const assignFpnLevels = (boxes: Tensor, minLevel: number, maxLevel: number, canonicalBoxSize = 224, canonicalLevel = 4): Tensor => {
  const op = 'assignFpnLevels'
  expectBoxes(op, boxes, boxes.shape[1] === 5 ? 5 : 4)
  for (const [what, v] of [['minLevel', minLevel], ['maxLevel', maxLevel], ['canonicalLevel', canonicalLevel]] as const) expectLevel(op, what, v)
  if (minLevel > maxLevel) fail(op, `minLevel ${minLevel} is above maxLevel ${maxLevel}`)
  if (!(canonicalBoxSize > 0)) fail(op, `canonicalBoxSize must be positive, got ${canonicalBoxSize}`)
  const r = boxes.shape[0]!
  const area = boxes.shape[1] === 5
    ? reshape(mul(slice(boxes, [0, 2], [r, 3]), slice(boxes, [0, 3], [r, 4])), [r])
    : boxArea(boxes)
  const relative = add(div(sqrt(area), canonicalBoxSize), EPS)
  let level: Tensor = zeros([r], 'int32')
  for (let l = minLevel + 1; l <= maxLevel; l++) {
    level = add(level, cast(greaterEqual(relative, 2 ** (l - canonicalLevel)), 'int32'))
  }
  return level
}

export type PoolerType = 'ROIAlignV2' | 'ROIAlign' | 'ROIAlignRotated'

export type RoiPoolerOptions = {
  /** Pooled size [ph, pw] (a number means square). */
  readonly outputSize: number | readonly [number, number]
  /** 1 / stride of each level, finest first; powers of 2 forming a contiguous pyramid (e.g. 1/4 … 1/32). */
  readonly scales: readonly number[]
  readonly samplingRatio: number
  /** ROIAlignV2 = aligned roiAlign; ROIAlign = legacy (unaligned); ROIAlignRotated takes f32[R,5] boxes. */
  readonly type: PoolerType
  readonly canonicalBoxSize?: number
  readonly canonicalLevel?: number
}

const TYPES: readonly PoolerType[] = ['ROIAlignV2', 'ROIAlign', 'ROIAlignRotated']

/**
 * detectron2 `ROIPooler`: returns `pool(features, boxesPerImage)` that pools every box of every image from
 * the FPN level chosen by `assignFpnLevels` (one level: no assignment), in the order of the boxes, image by
 * image. Differentiable in the features; boxes get no gradient (detectron2's ROIAlign gives them none).
 * features: L × f32[N,C,H_l,W_l]; boxesPerImage: N × f32[R_i,4] XYXY in image pixels (f32[R_i,5] rotated)
 * → f32[ΣR_i, C, ph, pw]
 */
export const roiPooler = (options: RoiPoolerOptions): ((features: readonly Tensor[], boxesPerImage: readonly Tensor[]) => Tensor) => {
  const op = 'roiPooler'
  const { scales, samplingRatio, type, canonicalBoxSize = 224, canonicalLevel = 4 } = options
  if (!TYPES.includes(type)) fail(op, `unknown pooler type ${JSON.stringify(type)}; known types: ${TYPES.join(', ')}`)
  if (scales.length === 0) fail(op, 'scales must name at least one level')
  const levels = scales.map((s) => -Math.log2(s))
  if (!levels.every((l) => Math.abs(l - Math.round(l)) < 1e-9)) fail(op, `feature map strides must be powers of 2, got scales ${scales.join(', ')}`)
  const minLevel = Math.round(levels[0]!)
  const maxLevel = Math.round(levels[levels.length - 1]!)
  if (minLevel < 0 || maxLevel - minLevel + 1 !== scales.length || levels.some((l, i) => Math.round(l) !== minLevel + i)) {
    fail(op, `scales ${scales.join(', ')} do not form a pyramid (1/2^l for consecutive l, finest first)`)
  }
  if (!(canonicalBoxSize > 0)) fail(op, `canonicalBoxSize must be positive, got ${canonicalBoxSize}`)
  const rotated = type === 'ROIAlignRotated'
  const width = rotated ? 5 : 4
  const size = typeof options.outputSize === 'number' ? [options.outputSize, options.outputSize] as const : options.outputSize
  const pool = (x: Tensor, rois: Tensor, spatialScale: number): Tensor =>
    rotated
      ? roiAlignRotated(x, rois, { outputSize: size, spatialScale, samplingRatio })
      : roiAlign(x, rois, { outputSize: size, spatialScale, samplingRatio, aligned: type === 'ROIAlignV2' })

  return (features, boxesPerImage) => {
    if (features.length !== scales.length) fail(op, `expected ${scales.length} feature maps (one per scale), got ${features.length}`)
    const first = features[0]!
    for (const f of features) {
      if (f.dtype !== 'float32' || f.shape.length !== 4 || f.shape[0] !== first.shape[0] || f.shape[1] !== first.shape[1]) {
        fail(op, `feature maps must be f32[N,C,H,W] with one N and C, got ${features.map(describeAval).join(', ')}`)
      }
    }
    const [n, c] = first.shape as [number, number]
    if (boxesPerImage.length !== n) fail(op, `got ${boxesPerImage.length} box lists for a batch of ${n} images (${describeAval(first)})`)
    boxesPerImage.forEach((b) => expectBoxes(op, b, width))
    if (n === 0) return zeros([0, c, size[0], size[1]])
    const rois = concat(boxesPerImage.map((b, i) => concat([full([b.shape[0]!, 1], i), b], 1)), 0)
    if (scales.length === 1) return pool(first, rois, scales[0]!)
    const r = rois.shape[0]!
    const level = reshape(assignFpnLevels(concat(boxesPerImage, 0), minLevel, maxLevel, canonicalBoxSize, canonicalLevel), [r, 1])
    const batch = slice(rois, [0, 0], [r, 1])
    const coords = slice(rois, [0, 1], [r, width + 1])
    return features
      .map((x, l) => pool(x, concat([where(equal(level, l), batch, -1), coords], 1), scales[l]!))
      .reduce((a, b) => add(a, b))
  }
}
