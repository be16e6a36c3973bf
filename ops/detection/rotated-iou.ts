/**
 * Pairwise IoU of rotated boxes `f32[N,5]` (cx, cy, w, h, angle° CCW), written as tensor ops.
 *
 * The intersection of two rectangles is a convex polygon whose corners are among 24 candidates: the 16
 * edge-edge crossings and the 8 corners of one box lying inside the other (detectron2's
 * `box_iou_rotated_utils.h` collects the same candidates, with the same 1e-5 tolerances, so that a corner
 * is never missed). Every valid candidate lies on the polygon's boundary, so ordering them by angle
 * around their centroid gives the polygon in order — the role of detectron2's Graham scan — and the
 * shoelace formula gives its area. The ordering uses a pseudo-angle (monotone in the true angle, no
 * atan2) and a fixed-size sort over the 24 candidates, padded entries repeating the first corner so they
 * add no area: static shapes, one path for every backend.
 *
 * Both boxes are first shifted so that the midpoint of their centres is the origin, as detectron2 does,
 * which keeps float32 precision for boxes far from (0, 0).
 */
import type { Tensor } from '../../core/tensor.js'
import { zeros } from '../creation.js'
import { add, cast, div, greater, greaterEqual, less, logicalAnd, logicalOr, maximum, minimum, mul, sub, where } from '../elementwise/binary.js'
import { abs, cos, sin } from '../elementwise/unary.js'
import { takeAlongAxis } from '../gather/along-axis.js'
import { sum } from '../reduce/sum.js'
import { broadcastTo, reshape } from '../shape/basic.js'
import { concat, slice } from '../shape/slice.js'
import { argsort } from '../sort/sort.js'
import { expectBoxes } from './checks.js'
import { asColumn, asRow, unbindLast } from './columns.js'

const EPS = 1e-5
const DEG = Math.PI / 180

type Corners = { readonly x: Tensor; readonly y: Tensor }

/** Corners of each box as x, y of shape [..., 4], in detectron2's vertex order. */
const cornersOf = (cx: Tensor, cy: Tensor, w: Tensor, h: Tensor, angle: Tensor): Corners => {
  const theta = mul(angle, DEG)
  const c = mul(cos(theta), 0.5)
  const s = mul(sin(theta), 0.5)
  const x0 = add(add(cx, mul(s, h)), mul(c, w))
  const y0 = sub(add(cy, mul(c, h)), mul(s, w))
  const x1 = add(sub(cx, mul(s, h)), mul(c, w))
  const y1 = sub(sub(cy, mul(c, h)), mul(s, w))
  const x2 = sub(mul(cx, 2), x0)
  const y2 = sub(mul(cy, 2), y0)
  const x3 = sub(mul(cx, 2), x1)
  const y3 = sub(mul(cy, 2), y1)
  const last = (t: Tensor) => reshape(t, [...t.shape, 1])
  return { x: concat([x0, x1, x2, x3].map(last), -1), y: concat([y0, y1, y2, y3].map(last), -1) }
}

/** Rolls the last axis left by one: element i becomes element i+1 (cyclically). */
const rollNext = (t: Tensor): Tensor => {
  const lead = t.shape.slice(0, -1).map(() => 0)
  return concat([slice(t, [...lead, 1]), slice(t, [...lead, 0], [...t.shape.slice(0, -1), 1])], -1)
}

/** Adds an axis of length 1 at position `axis` from the end (-1: last, -2: before last). */
const expandAt = (t: Tensor, axis: -1 | -2): Tensor =>
  axis === -1 ? reshape(t, [...t.shape, 1]) : reshape(t, [...t.shape.slice(0, -1), 1, t.shape[t.shape.length - 1]!])

const cross = (ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor): Tensor => sub(mul(ax, by), mul(bx, ay))
const dot = (ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor): Tensor => add(mul(ax, bx), mul(ay, by))
const between = (v: Tensor, hi: Tensor | number): Tensor => logicalAnd(greater(v, -EPS), less(v, add(hi, EPS)))

/** The 16 edge-edge crossings of P's edge i with Q's edge j, flattened to [..., 16]. */
const edgeCrossings = (p: Corners, q: Corners) => {
  const [pvx, pvy] = [sub(rollNext(p.x), p.x), sub(rollNext(p.y), p.y)].map((t) => expandAt(t, -1))
  const [qvx, qvy] = [sub(rollNext(q.x), q.x), sub(rollNext(q.y), q.y)].map((t) => expandAt(t, -2))
  const [px, py] = [expandAt(p.x, -1), expandAt(p.y, -1)]
  const [dx, dy] = [sub(expandAt(q.x, -2), px), sub(expandAt(q.y, -2), py)]
  const det = cross(qvx!, qvy!, pvx!, pvy!)
  const solvable = greater(abs(det), 1e-14)
  const safeDet = where(solvable, det, 1)
  const t1 = div(cross(qvx!, qvy!, dx, dy), safeDet)
  const t2 = div(cross(pvx!, pvy!, dx, dy), safeDet)
  const valid = logicalAnd(solvable, logicalAnd(between(t1, 1), between(t2, 1)))
  const flat = (t: Tensor) => reshape(t, [...t.shape.slice(0, -2), 16])
  return { x: flat(add(px, mul(pvx!, t1))), y: flat(add(py, mul(pvy!, t1))), valid: flat(valid) }
}

/** Which corners of P lie inside rectangle Q (projections onto Q's two edges within range). */
const cornersInside = (p: Corners, q: Corners): Tensor => {
  const corner = (t: Tensor, k: number) => slice(t, [...t.shape.slice(0, -1).map(() => 0), k], [...t.shape.slice(0, -1), k + 1])
  const [ax, ay] = [corner(q.x, 0), corner(q.y, 0)]
  const [abx, aby] = [sub(corner(q.x, 1), ax), sub(corner(q.y, 1), ay)]
  const [adx, ady] = [sub(corner(q.x, 3), ax), sub(corner(q.y, 3), ay)]
  const [apx, apy] = [sub(p.x, ax), sub(p.y, ay)]
  return logicalAnd(between(dot(apx, apy, abx, aby), dot(abx, aby, abx, aby)), between(dot(apx, apy, adx, ady), dot(adx, ady, adx, ady)))
}

/** Area of the convex polygon through the valid candidate points (any order), [..., K] → [...]. */
const convexArea = (x: Tensor, y: Tensor, valid: Tensor): Tensor => {
  const count = sum(cast(valid, 'float32'), -1, true)
  const cx = div(sum(where(valid, x, 0), -1, true), maximum(count, 1))
  const cy = div(sum(where(valid, y, 0), -1, true), maximum(count, 1))
  const [dx, dy] = [sub(x, cx), sub(y, cy)]
  // Pseudo-angle in [0, 4): 1 - cos-like ratio above the x axis, 3 + ratio below; monotone in atan2.
  const l1 = add(abs(dx), abs(dy))
  const r = div(dx, where(greater(l1, 0), l1, 1))
  const angle = where(greaterEqual(dy, 0), sub(1, r), add(r, 3))
  const order = argsort(where(valid, angle, 8), -1)
  const lead = x.shape.slice(0, -1)
  const firstOf = (t: Tensor) => slice(t, [...lead.map(() => 0), 0], [...lead, 1])
  const sv = takeAlongAxis(valid, order, -1)
  const sx0 = takeAlongAxis(dx, order, -1)
  const sy0 = takeAlongAxis(dy, order, -1)
  const sx = where(sv, sx0, firstOf(sx0))
  const sy = where(sv, sy0, firstOf(sy0))
  const twice = sum(cross(sx, sy, rollNext(sx), rollNext(sy)), -1)
  const enough = greater(reshape(count, lead), 2)
  return where(enough, maximum(mul(twice, 0.5), 0), 0)
}

/**
 * IoU of every pair of rotated boxes (detectron2 `pairwise_iou_rotated`). A box with area below 1e-14
 * gives 0 against everything; boxes whose intersection has fewer than 3 corner candidates give 0.
 * boxes1: f32[N,5], boxes2: f32[M,5] (cx, cy, w, h, angle in degrees CCW) → f32[N,M]
 */
export const rotatedBoxIou = (boxes1: Tensor, boxes2: Tensor): Tensor => {
  expectBoxes('rotatedBoxIou', boxes1, 5, false, 'boxes1')
  expectBoxes('rotatedBoxIou', boxes2, 5, false, 'boxes2')
  const [n, m] = [boxes1.shape[0]!, boxes2.shape[0]!]
  if (n === 0 || m === 0) return zeros([n, m])
  const [ax, ay, aw, ah, aa] = unbindLast(boxes1).map(asColumn)
  const [bx, by, bw, bh, ba] = unbindLast(boxes2).map(asRow)
  const midX = mul(add(ax!, bx!), 0.5)
  const midY = mul(add(ay!, by!), 0.5)
  const full = (t: Tensor) => broadcastTo(t, [n, m])
  const p = cornersOf(sub(ax!, midX), sub(ay!, midY), full(aw!), full(ah!), full(aa!))
  const q = cornersOf(sub(bx!, midX), sub(by!, midY), full(bw!), full(bh!), full(ba!))
  const crossings = edgeCrossings(p, q)
  const x = concat([crossings.x, p.x, q.x], -1)
  const y = concat([crossings.y, p.y, q.y], -1)
  const valid = concat([crossings.valid, cornersInside(p, q), cornersInside(q, p)], -1)
  const [areaA, areaB] = [mul(aw!, ah!), mul(bw!, bh!)]
  // Rounding can push the area of two near-identical boxes a few ulps past the smaller box; the true
  // intersection never exceeds it, so neither does ours (and IoU stays <= 1).
  const inter = minimum(convexArea(x, y, valid), minimum(areaA, areaB))
  const degenerate = logicalOr(less(areaA, 1e-14), less(areaB, 1e-14))
  const union = sub(add(areaA, areaB), inter)
  return where(degenerate, 0, div(inter, where(degenerate, 1, union)))
}
