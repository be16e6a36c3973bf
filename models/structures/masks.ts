/**
 * Mask-derived geometry: tight boxes around bit masks and polygon areas (detectron2 `BitMasks` and
 * `PolygonMasks` helpers), as tensor ops with static shapes.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { zeros } from '../../ops/creation.js'
import { abs, cast, mul, sub, where } from '../../ops/elementwise/index.js'
import { any, argmax, sum } from '../../ops/reduce/index.js'
import { flip } from '../../ops/shape/flip.js'
import { stackLast, unbindLast } from '../../ops/detection/columns.js'
import { concat, slice } from '../../ops/shape/slice.js'

/** First true position along the last axis (0 when none) and one past the last true position. */
const firstAndEnd = (flags: Tensor): [Tensor, Tensor] => {
  const n = flags.shape[flags.shape.length - 1]!
  const asInt = cast(flags, 'int32')
  const first = argmax(asInt, -1)
  const end = sub(n, argmax(flip(asInt, -1), -1))
  return [cast(first, 'float32'), cast(end, 'float32')]
}

/**
 * Tight boxes around bit masks (detectron2 `BitMasks.get_bounding_boxes`): `(x0, y0, x1 + 1, y1 + 1)` over
 * the set pixels, so a single pixel (i, j) gives the box [j, i, j + 1, i + 1]; an empty mask gives
 * (0, 0, 0, 0). masks: bool[N, H, W] → f32[N, 4]
 */
export const bitMasksToBoxes = (masks: Tensor): Tensor => {
  if (masks.shape.length !== 3 || masks.dtype !== 'bool') fail('bitMasksToBoxes', `masks must be bool[N, H, W], got ${describeAval(masks)}`)
  const [n, h, w] = masks.shape as [number, number, number]
  if (h === 0 || w === 0) return zeros([n, 4])
  const columns = any(masks, 1)
  const rows = any(masks, 2)
  const [x0, x1] = firstAndEnd(columns)
  const [y0, y1] = firstAndEnd(rows)
  const nonempty = any(columns, -1)
  return where(stackLast([nonempty, nonempty, nonempty, nonempty]), stackLast([x0, y0, x1, y1]), 0)
}

/**
 * Area of closed polygons by the shoelace formula, `0.5·|Σ x_i·y_{i-1} − y_i·x_{i-1}|` (detectron2
 * `polygon_area`). A polygon with fewer real vertices than K may repeat its last vertex: repeated
 * vertices add nothing. polygons: f32[..., K, 2] (x, y per vertex) → f32[...]
 */
export const polygonArea = (polygons: Tensor): Tensor => {
  if (polygons.shape.length < 2 || polygons.shape[polygons.shape.length - 1] !== 2 || polygons.dtype !== 'float32') {
    fail('polygonArea', `polygons must be f32[..., K, 2] vertex lists, got ${describeAval(polygons)}`)
  }
  const k = polygons.shape[polygons.shape.length - 2]!
  if (k === 0) return sum(polygons, [-2, -1])
  const [x, y] = unbindLast(polygons)
  const lead = x!.shape.slice(0, -1)
  const origin = lead.map(() => 0)
  const previous = (t: Tensor) => concat([slice(t, [...origin, k - 1]), slice(t, [...origin, 0], [...lead, k - 1])], -1)
  const twice = sum(sub(mul(x!, previous(y!)), mul(y!, previous(x!))), -1)
  return mul(abs(twice), 0.5)
}
