/**
 * Anchor generators (detectron2 `DefaultAnchorGenerator`, `RotatedAnchorGenerator`): per feature level,
 * a small set of cell anchors centred at 0, shifted to every grid location. A generator is a record of
 * its settings and cell anchors plus a function from grid sizes to anchors, so a model states its
 * anchor count per location before any data flows.
 */
import { fail } from '../../core/errors.js'
import type { Tensor } from '../../core/tensor.js'
import { tensor } from '../creation.js'
import { add } from '../elementwise/binary.js'
import { reshape } from '../shape/basic.js'

/** One value list for every level (`[32, 64]`, or `[[32, 64]]`), or one list per level. */
export type PerLevel = readonly number[] | readonly (readonly number[])[]

export type AnchorGeneratorOptions = {
  /** Anchor sizes (square roots of anchor areas) in input-image pixels. */
  readonly sizes: PerLevel
  /** Aspect ratios height / width. */
  readonly aspectRatios: PerLevel
  /** Stride of each feature level; its length is the number of levels. */
  readonly strides: readonly number[]
  /** Position of the first anchor centre in strides from the image corner, in [0, 1); default 0.5. */
  readonly offset?: number
}

export type RotatedAnchorGeneratorOptions = AnchorGeneratorOptions & {
  /** Angles in degrees, counter-clockwise. */
  readonly angles: PerLevel
}

export type AnchorGenerator = {
  readonly kind: 'anchorGenerator'
  /** 4 for XYXY anchors, 5 for rotated (cx, cy, w, h, angle). */
  readonly boxDim: 4 | 5
  readonly strides: readonly number[]
  readonly offset: number
  /** Cell anchors of each level: f32[A_l, boxDim], centred at the origin. */
  readonly cellAnchors: () => Tensor[]
  /** A_l, the number of anchors per grid location on each level. */
  readonly numAnchors: readonly number[]
  /**
   * Anchors of each level for feature maps of size `[H_l, W_l]` (a feature map's last two dims):
   * f32[H_l·W_l·A_l, boxDim], all anchors of location 0, then location 1, ... in row-major order.
   */
  readonly anchors: (gridSizes: readonly (readonly [number, number])[]) => Tensor[]
}

const isList = (x: unknown): x is readonly unknown[] => Array.isArray(x)

/**
 * detectron2 `_broadcast_params`: a flat list, or a list holding one list, is used for every level;
 * otherwise there must be one list per level.
 */
export const broadcastAnchorParams = (op: string, params: PerLevel, numLevels: number, name: string): number[][] => {
  if (!isList(params) || params.length === 0) fail(op, `${name} must be a non-empty list, got ${JSON.stringify(params)}`)
  const lists: number[][] = !isList(params[0])
    ? Array.from({ length: numLevels }, () => [...(params as readonly number[])])
    : params.length === 1
      ? Array.from({ length: numLevels }, () => [...(params[0] as readonly number[])])
      : (params as readonly (readonly number[])[]).map((p) => [...p])
  if (lists.length !== numLevels) fail(op, `got ${name} for ${lists.length} levels but there are ${numLevels} feature levels (strides)`)
  for (const l of lists) {
    if (!isList(l) || l.length === 0 || !l.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      fail(op, `${name} must hold non-empty lists of finite numbers, got ${JSON.stringify(params)}`)
    }
  }
  return lists
}

/** Width and height of an anchor of `size` and `ratio` = h / w, keeping the area size²: w = sqrt(size² / ratio). */
const widthHeight = (size: number, ratio: number): [number, number] => {
  const w = Math.sqrt((size * size) / ratio)
  return [w, ratio * w]
}

/** detectron2 `generate_cell_anchors` rows: for each size, for each ratio, XYXY centred at 0. */
const cellRows = (sizes: readonly number[], aspectRatios: readonly number[]): number[][] =>
  sizes.flatMap((s) => aspectRatios.map((r) => {
    const [w, h] = widthHeight(s, r)
    return [-w / 2, -h / 2, w / 2, h / 2]
  }))

/** Rotated cell rows: for each size, ratio, angle, (0, 0, w, h, angle). */
const rotatedCellRows = (sizes: readonly number[], aspectRatios: readonly number[], angles: readonly number[]): number[][] =>
  sizes.flatMap((s) => aspectRatios.flatMap((r) => {
    const [w, h] = widthHeight(s, r)
    return angles.map((a) => [0, 0, w, h, a])
  }))

/** Rows of host numbers (computed in float64, as detectron2 does in Python) as one float32 tensor. */
const rowsTensor = (rows: readonly (readonly number[])[], width: number): Tensor =>
  tensor(Float32Array.from(rows.flat()), { shape: [rows.length, width] })

/**
 * detectron2 `generate_cell_anchors`: for each size, for each aspect ratio, the XYXY box of area size²
 * and ratio h/w centred at 0. → f32[sizes·ratios, 4]
 */
export const generateCellAnchors = (sizes: readonly number[], aspectRatios: readonly number[]): Tensor =>
  rowsTensor(cellRows(sizes, aspectRatios), 4)

/** Rotated cell anchors: for each size, ratio, angle, the row (0, 0, w, h, angle). → f32[sizes·ratios·angles, 5] */
export const generateRotatedCellAnchors = (sizes: readonly number[], aspectRatios: readonly number[], angles: readonly number[]): Tensor =>
  rowsTensor(rotatedCellRows(sizes, aspectRatios, angles), 5)

/** Grid centres `offset·stride + i·stride` as rows of `boxDim` shifts: f32[H·W, 1, boxDim]. */
const gridShifts = (h: number, w: number, stride: number, offset: number, boxDim: 4 | 5): Tensor => {
  const out = new Float32Array(h * w * boxDim)
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const [x, y] = [offset * stride + j * stride, offset * stride + i * stride]
      const row = boxDim === 4 ? [x, y, x, y] : [x, y, 0, 0, 0]
      out.set(row, (i * w + j) * boxDim)
    }
  }
  return tensor(out, { shape: [h * w, 1, boxDim] })
}

const checkCommon = (op: string, options: AnchorGeneratorOptions): number => {
  const { strides, offset = 0.5 } = options
  if (!isList(strides) || strides.length === 0 || !strides.every((s) => typeof s === 'number' && s > 0 && Number.isFinite(s))) {
    fail(op, `strides must be a non-empty list of positive numbers, got ${JSON.stringify(strides)}`)
  }
  if (!(typeof offset === 'number' && offset >= 0 && offset < 1)) fail(op, `offset must be in [0, 1), got ${offset}`)
  return offset
}

// Cell anchors are kept as host numbers and become tensors at each call, on whatever backend is current
// then (a generator built before `setBackend` must not hold tensors of the old backend).
const makeGenerator = (op: string, boxDim: 4 | 5, strides: readonly number[], offset: number, cells: readonly number[][][]): AnchorGenerator => ({
  kind: 'anchorGenerator',
  boxDim,
  strides: [...strides],
  offset,
  cellAnchors: () => cells.map((rows) => rowsTensor(rows, boxDim)),
  numAnchors: cells.map((rows) => rows.length),
  anchors: (gridSizes) => {
    if (!isList(gridSizes) || gridSizes.length !== strides.length) {
      fail(op, `expected ${strides.length} grid sizes [H, W] (one per level), got ${JSON.stringify(gridSizes)}`)
    }
    return gridSizes.map((size, level) => {
      if (!isList(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(op, `grid size of level ${level} must be [H, W] of non-negative integers, got ${JSON.stringify(size)}`)
      }
      const [h, w] = size
      const rows = cells[level]!
      const shifted = add(gridShifts(h, w, strides[level]!, offset, boxDim), rowsTensor(rows, boxDim))
      return reshape(shifted, [h * w * rows.length, boxDim])
    })
  },
})

/**
 * detectron2 `DefaultAnchorGenerator` (Faster R-CNN anchors): `sizes` and `aspectRatios` broadcast over
 * levels by `broadcastAnchorParams`; level l has `sizes_l · ratios_l` anchors per location.
 */
export const defaultAnchorGenerator = (options: AnchorGeneratorOptions): AnchorGenerator => {
  const op = 'defaultAnchorGenerator'
  const offset = checkCommon(op, options)
  const n = options.strides.length
  const sizes = broadcastAnchorParams(op, options.sizes, n, 'sizes')
  const ratios = broadcastAnchorParams(op, options.aspectRatios, n, 'aspectRatios')
  return makeGenerator(op, 4, options.strides, offset, sizes.map((s, l) => cellRows(s, ratios[l]!)))
}

/**
 * detectron2 `RotatedAnchorGenerator` (RRPN anchors): like the default generator with a third list,
 * `angles`, innermost in the cell order (size, then ratio, then angle); anchors are (cx, cy, w, h, angle).
 */
export const rotatedAnchorGenerator = (options: RotatedAnchorGeneratorOptions): AnchorGenerator => {
  const op = 'rotatedAnchorGenerator'
  const offset = checkCommon(op, options)
  const n = options.strides.length
  const sizes = broadcastAnchorParams(op, options.sizes, n, 'sizes')
  const ratios = broadcastAnchorParams(op, options.aspectRatios, n, 'aspectRatios')
  const angles = broadcastAnchorParams(op, options.angles, n, 'angles')
  return makeGenerator(op, 5, options.strides, offset, sizes.map((s, l) => rotatedCellRows(s, ratios[l]!, angles[l]!)))
}
