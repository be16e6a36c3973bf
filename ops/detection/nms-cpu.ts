/**
 * The CPU reference of non-maximum suppression, the spec the WebGPU lowering is tested against.
 *
 * Axis-aligned IoU is computed exactly as float32 arithmetic would (every step rounded with
 * `Math.fround`; a float64 quotient rounded to float32 is the correctly rounded float32 quotient), so
 * that "IoU > threshold" has one answer on every backend even when the IoU sits on the threshold — the
 * WebGPU kernel reproduces the same decision bit for bit. Rotated IoU is computed in float64 (trigonometry
 * cannot be matched bit for bit across backends; see nms-wgsl.ts).
 */
import type { CpuArray } from '../../core/rule.js'

const f = Math.fround

/** Descending order with NaN before every number, ties by index: PyTorch's `sort(descending=True)`, stable. */
export const descendingOrder = (scores: ArrayLike<number>): Int32Array => {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i)
  const rank = (v: number): number => (v !== v ? Infinity : v)
  return order.sort((i, j) => {
    const [a, b] = [scores[i]!, scores[j]!]
    const [na, nb] = [a !== a, b !== b]
    if (na !== nb) return na ? -1 : 1
    return rank(b) - rank(a) || i - j
  })
}

/** Whether `iou(a, b) > t` for XYXY rows a, b of `box` (offsets ia, ib), in float32 arithmetic. */
const axisAlignedAbove = (box: ArrayLike<number>, area: Float32Array, ia: number, ib: number, t: number): boolean => {
  const w = f(Math.min(box[ia + 2]!, box[ib + 2]!) - Math.max(box[ia]!, box[ib]!))
  const h = f(Math.min(box[ia + 3]!, box[ib + 3]!) - Math.max(box[ia + 1]!, box[ib + 1]!))
  const inter = f(Math.max(w, 0) * Math.max(h, 0))
  // No overlap (zero-area boxes included) is IoU 0, never 0/0: detectron2's pairwise_iou rule.
  if (!(inter > 0)) return 0 > t
  const union = f(f(area[ia >> 2]! + area[ib >> 2]!) - inter)
  return f(inter / union) > t
}

const EPS = 1e-5
const DEG = Math.PI / 180

type Point = { x: number; y: number }

/** Corners of a rotated box (cx, cy, w, h, angle° CCW) shifted by -(mx, my), in detectron2's vertex order. */
const corners = (b: ArrayLike<number>, o: number, mx: number, my: number): Point[] => {
  const [cx, cy, w, h] = [b[o]! - mx, b[o + 1]! - my, b[o + 2]!, b[o + 3]!]
  const c = Math.cos(b[o + 4]! * DEG) * 0.5
  const s = Math.sin(b[o + 4]! * DEG) * 0.5
  const p0 = { x: cx + s * h + c * w, y: cy + c * h - s * w }
  const p1 = { x: cx - s * h + c * w, y: cy - c * h - s * w }
  return [p0, p1, { x: 2 * cx - p0.x, y: 2 * cy - p0.y }, { x: 2 * cx - p1.x, y: 2 * cy - p1.y }]
}

const cross = (a: Point, b: Point): number => a.x * b.y - b.x * a.y
const dot = (a: Point, b: Point): number => a.x * b.x + a.y * b.y
const minus = (a: Point, b: Point): Point => ({ x: a.x - b.x, y: a.y - b.y })

/** Corners of `p` inside rectangle `q` (projections on q's two edges within range, detectron2's tolerance). */
const inside = (p: readonly Point[], q: readonly Point[]): Point[] => {
  const ab = minus(q[1]!, q[0]!)
  const ad = minus(q[3]!, q[0]!)
  return p.filter((pt) => {
    const ap = minus(pt, q[0]!)
    const [u, v] = [dot(ap, ab), dot(ap, ad)]
    return u > -EPS && v > -EPS && u < dot(ab, ab) + EPS && v < dot(ad, ad) + EPS
  })
}

/** Edge-edge crossings of two rectangles. */
const crossings = (p: readonly Point[], q: readonly Point[]): Point[] => {
  const out: Point[] = []
  for (let i = 0; i < 4; i++) {
    const pv = minus(p[(i + 1) % 4]!, p[i]!)
    for (let j = 0; j < 4; j++) {
      const qv = minus(q[(j + 1) % 4]!, q[j]!)
      const det = cross(qv, pv)
      if (!(Math.abs(det) > 1e-14)) continue
      const d = minus(q[j]!, p[i]!)
      const t1 = cross(qv, d) / det
      const t2 = cross(pv, d) / det
      if (t1 > -EPS && t1 < 1 + EPS && t2 > -EPS && t2 < 1 + EPS) out.push({ x: p[i]!.x + pv.x * t1, y: p[i]!.y + pv.y * t1 })
    }
  }
  return out
}

/**
 * Area of the convex polygon through `pts` (any order, duplicates allowed): every point lies on the
 * boundary, so sorting by a pseudo-angle around the centroid orders them (the role of detectron2's
 * Graham scan) and the shoelace formula gives the area.
 */
const convexArea = (pts: readonly Point[]): number => {
  if (pts.length < 3) return 0
  const cx = pts.reduce((s, p) => s + p.x, 0) / pts.length
  const cy = pts.reduce((s, p) => s + p.y, 0) / pts.length
  const angle = (p: Point): number => {
    const [dx, dy] = [p.x - cx, p.y - cy]
    const l1 = Math.abs(dx) + Math.abs(dy)
    const r = l1 > 0 ? dx / l1 : 0
    return dy >= 0 ? 1 - r : 3 + r
  }
  const sorted = [...pts].sort((a, b) => angle(a) - angle(b))
  let twice = 0
  for (let k = 0; k < sorted.length; k++) twice += cross(minus(sorted[k]!, { x: cx, y: cy }), minus(sorted[(k + 1) % sorted.length]!, { x: cx, y: cy }))
  return Math.max(twice * 0.5, 0)
}

/**
 * IoU of rotated boxes a, b (rows at offsets ia, ib of `box`), detectron2 `single_box_iou_rotated`:
 * centres shifted to their midpoint (float precision far from the origin), boxes below 1e-14 area give 0.
 */
export const rotatedIouScalar = (box: ArrayLike<number>, ia: number, ib: number): number => {
  const areaA = box[ia + 2]! * box[ia + 3]!
  const areaB = box[ib + 2]! * box[ib + 3]!
  if (areaA < 1e-14 || areaB < 1e-14) return 0
  const mx = (box[ia]! + box[ib]!) / 2
  const my = (box[ia + 1]! + box[ib + 1]!) / 2
  const p = corners(box, ia, mx, my)
  const q = corners(box, ib, mx, my)
  const inter = Math.min(convexArea([...crossings(p, q), ...inside(p, q), ...inside(q, p)]), areaA, areaB)
  return inter / (areaA + areaB - inter)
}

/**
 * Greedy NMS: visit boxes by descending score; keep one unless a kept box of the same class overlaps it
 * with IoU > t (equality keeps, as torchvision/detectron2); stop once `capacity` are kept.
 * Returns [indices i32[capacity] padded with -1, count i32[]].
 */
export const nmsKernel = (boxes: CpuArray, scores: CpuArray, classes: CpuArray | undefined, threshold: number, capacity: number): [Int32Array, Int32Array] => {
  const n = scores.shape[0]!
  const width = boxes.shape[1]!
  const t = f(threshold)
  const order = descendingOrder(scores.data)
  // Rows in visiting order, so the inner loop reads memory forwards.
  const box = new Float64Array(n * width)
  const area = new Float32Array(n)
  const cls = new Int32Array(n)
  order.forEach((src, k) => {
    for (let c = 0; c < width; c++) box[k * width + c] = boxes.data[src * width + c]!
    if (width === 4) area[k] = f(f(box[k * 4 + 2]! - box[k * 4]!) * f(box[k * 4 + 3]! - box[k * 4 + 1]!))
    cls[k] = classes === undefined ? 0 : classes.data[src]!
  })
  const above = width === 4
    ? (a: number, b: number) => axisAlignedAbove(box, area, a * 4, b * 4, t)
    : (a: number, b: number) => rotatedIouScalar(box, a * 5, b * 5) > t
  const suppressed = new Uint8Array(n)
  const indices = new Int32Array(capacity).fill(-1)
  let count = 0
  for (let i = 0; i < n && count < capacity; i++) {
    if (suppressed[i] === 1) continue
    indices[count++] = order[i]!
    for (let j = i + 1; j < n; j++) if (suppressed[j] === 0 && cls[j] === cls[i] && above(i, j)) suppressed[j] = 1
  }
  return [indices, Int32Array.of(count)]
}
