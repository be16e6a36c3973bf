/**
 * Box regression codings (detectron2 `box_regression.py`): how a head's deltas relate a reference box
 * (anchor or proposal) to a predicted box. Each coding is a record of two pure functions, `getDeltas`
 * (encode targets for the loss) and `applyDeltas` (decode predictions), that invert each other except
 * where `applyDeltas` clamps. Leading dims are free: boxes `[..., 4]` go with deltas `[..., K·4]`, K
 * class-specific boxes per reference box.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { add, div, maximum, minimum, mul, sub } from '../elementwise/binary.js'
import { exp, log, relu, sqrt } from '../elementwise/unary.js'
import { reshape } from '../shape/basic.js'
import { wrapDegrees } from './angles.js'
import { expectBoxes, expectSameShape } from './checks.js'
import { stackLast, unbindLast } from './columns.js'

/**
 * detectron2's default clamp for dw, dh: no predicted box grows more than 1000/16 times its reference
 * (a 16 px anchor becoming a 1000 px box), which keeps `exp` finite.
 */
export const DEFAULT_SCALE_CLAMP = Math.log(1000 / 16)

export type BoxCoding = {
  readonly kind: 'box2boxTransform' | 'box2boxTransformRotated' | 'box2boxTransformLinear'
  /** src, target: f32[..., D] → deltas f32[..., D] (D = 4, or 5 for rotated boxes). */
  readonly getDeltas: (src: Tensor, target: Tensor) => Tensor
  /** deltas: f32[..., K·D], boxes: f32[..., D] → f32[..., K·D]. */
  readonly applyDeltas: (deltas: Tensor, boxes: Tensor) => Tensor
}

const checkWeights = (op: string, weights: readonly number[], n: number): void => {
  if (!Array.isArray(weights) || weights.length !== n || !weights.every((w) => typeof w === 'number' && Number.isFinite(w) && w !== 0)) {
    fail(op, `weights must be ${n} finite non-zero numbers, got ${JSON.stringify(weights)}`)
  }
}

/** Splits deltas f32[..., K·D] into D tensors of shape [..., K], checking them against boxes f32[..., D]. */
const deltaColumns = (op: string, deltas: Tensor, boxes: Tensor, d: 4 | 5): Tensor[] => {
  expectBoxes(op, boxes, d, true)
  const r = deltas.shape.length
  const last = deltas.shape[r - 1]
  const lead = boxes.shape.slice(0, -1)
  if (deltas.dtype !== 'float32' || r !== boxes.shape.length || last === undefined || last % d !== 0 || lead.some((v, i) => v !== deltas.shape[i])) {
    fail(op, `deltas must be f32[..., K·${d}] with the boxes' leading dims, got deltas ${describeAval(deltas)} for boxes ${describeAval(boxes)}`)
  }
  return unbindLast(reshape(deltas, [...lead, last! / d, d]))
}

/** Appends a length-1 axis so a per-box value broadcasts over the K class-specific deltas. */
const perBox = (t: Tensor): Tensor => reshape(t, [...t.shape, 1])

/** Reassembles [..., K] columns into f32[..., K·D]. */
const joinColumns = (cols: readonly Tensor[]): Tensor => {
  const stacked = stackLast(cols)
  return reshape(stacked, [...stacked.shape.slice(0, -2), stacked.shape[stacked.shape.length - 2]! * cols.length])
}

/** Widths, heights and centres of XYXY boxes. */
const geometry = (boxes: Tensor) => {
  const [x1, y1, x2, y2] = unbindLast(boxes)
  const w = sub(x2!, x1!)
  const h = sub(y2!, y1!)
  return { w, h, cx: add(x1!, mul(w, 0.5)), cy: add(y1!, mul(h, 0.5)) }
}

export type Box2BoxOptions = { readonly weights: readonly [number, number, number, number]; readonly scaleClamp?: number }

/**
 * The R-CNN coding (detectron2 `Box2BoxTransform`): dx = wx·(x' − x)/w, dy = wy·(y' − y)/h,
 * dw = ww·log(w'/w), dh = wh·log(h'/h) between centres and sizes. `applyDeltas` clamps dw/wx and dh/wh
 * from above at `scaleClamp` before `exp`. Source boxes must have positive sizes (detectron2 asserts
 * it; here a zero width gives Inf/NaN deltas).
 */
export const box2boxTransform = (options: Box2BoxOptions): BoxCoding => {
  const { weights, scaleClamp = DEFAULT_SCALE_CLAMP } = options
  checkWeights('box2boxTransform', weights, 4)
  const [wx, wy, ww, wh] = weights
  return {
    kind: 'box2boxTransform',
    getDeltas: (src, target) => {
      expectBoxes('getDeltas', src, 4, true, 'src boxes')
      expectBoxes('getDeltas', target, 4, true, 'target boxes')
      expectSameShape('getDeltas', src, target, 'src and target boxes')
      const s = geometry(src)
      const t = geometry(target)
      return stackLast([
        mul(div(sub(t.cx, s.cx), s.w), wx),
        mul(div(sub(t.cy, s.cy), s.h), wy),
        mul(log(div(t.w, s.w)), ww),
        mul(log(div(t.h, s.h)), wh),
      ])
    },
    applyDeltas: (deltas, boxes) => {
      const [dx, dy, dw, dh] = deltaColumns('applyDeltas', deltas, boxes, 4)
      const g = geometry(boxes)
      const [w, h, cx, cy] = [g.w, g.h, g.cx, g.cy].map(perBox)
      const predCx = add(mul(div(dx!, wx), w!), cx!)
      const predCy = add(mul(div(dy!, wy), h!), cy!)
      const predW = mul(exp(minimum(div(dw!, ww), scaleClamp)), w!)
      const predH = mul(exp(minimum(div(dh!, wh), scaleClamp)), h!)
      const [halfW, halfH] = [mul(predW, 0.5), mul(predH, 0.5)]
      return joinColumns([sub(predCx, halfW), sub(predCy, halfH), add(predCx, halfW), add(predCy, halfH)])
    },
  }
}

export type Box2BoxRotatedOptions = { readonly weights: readonly [number, number, number, number, number]; readonly scaleClamp?: number }

/**
 * The rotated R-CNN coding (detectron2 `Box2BoxTransformRotated`) on (cx, cy, w, h, angle°) boxes: the
 * first four deltas as in `box2boxTransform`, and da = wa·(angle' − angle) in *radians* after wrapping
 * the difference into [-180°, 180°). `applyDeltas` returns angles wrapped into [-180, 180).
 */
export const box2boxTransformRotated = (options: Box2BoxRotatedOptions): BoxCoding => {
  const { weights, scaleClamp = DEFAULT_SCALE_CLAMP } = options
  checkWeights('box2boxTransformRotated', weights, 5)
  const [wx, wy, ww, wh, wa] = weights
  const radians = Math.PI / 180
  return {
    kind: 'box2boxTransformRotated',
    getDeltas: (src, target) => {
      expectBoxes('getDeltas', src, 5, true, 'src boxes')
      expectBoxes('getDeltas', target, 5, true, 'target boxes')
      expectSameShape('getDeltas', src, target, 'src and target boxes')
      const [sx, sy, sw, sh, sa] = unbindLast(src)
      const [tx, ty, tw, th, ta] = unbindLast(target)
      return stackLast([
        mul(div(sub(tx!, sx!), sw!), wx),
        mul(div(sub(ty!, sy!), sh!), wy),
        mul(log(div(tw!, sw!)), ww),
        mul(log(div(th!, sh!)), wh),
        mul(wrapDegrees(sub(ta!, sa!)), wa * radians),
      ])
    },
    applyDeltas: (deltas, boxes) => {
      const [dx, dy, dw, dh, da] = deltaColumns('applyDeltas', deltas, boxes, 5)
      const [cx, cy, w, h, a] = unbindLast(boxes).map(perBox)
      return joinColumns([
        add(mul(div(dx!, wx), w!), cx!),
        add(mul(div(dy!, wy), h!), cy!),
        mul(exp(minimum(div(dw!, ww), scaleClamp)), w!),
        mul(exp(minimum(div(dh!, wh), scaleClamp)), h!),
        wrapDegrees(add(mul(da!, 1 / (wa * radians)), a!)),
      ])
    },
  }
}

export type Box2BoxLinearOptions = { readonly normalizeBySize?: boolean }

/**
 * The FCOS coding (detectron2 `Box2BoxTransformLinear`): distances (l, t, r, b) from the reference box's
 * centre to the target's four sides, divided by the reference's width/height when `normalizeBySize`
 * (default true). `applyDeltas` applies relu first so a decoded box is never inverted (FCOS paper
 * §2.1). The reference centre should lie inside the target box for the deltas to be non-negative.
 */
export const box2boxTransformLinear = (options: Box2BoxLinearOptions = {}): BoxCoding => {
  const { normalizeBySize = true } = options
  return {
    kind: 'box2boxTransformLinear',
    getDeltas: (src, target) => {
      expectBoxes('getDeltas', src, 4, true, 'src boxes')
      expectBoxes('getDeltas', target, 4, true, 'target boxes')
      expectSameShape('getDeltas', src, target, 'src and target boxes')
      const s = geometry(src)
      const [x1, y1, x2, y2] = unbindLast(target)
      const ltrb = [sub(s.cx, x1!), sub(s.cy, y1!), sub(x2!, s.cx), sub(y2!, s.cy)]
      return stackLast(normalizeBySize ? ltrb.map((d, i) => div(d, i % 2 === 0 ? s.w : s.h)) : ltrb)
    },
    applyDeltas: (deltas, boxes) => {
      const cols = deltaColumns('applyDeltas', relu(deltas), boxes, 4)
      const g = geometry(boxes)
      const [w, h, cx, cy] = [g.w, g.h, g.cx, g.cy].map(perBox)
      const [l, t, r, b] = normalizeBySize ? cols.map((d, i) => mul(d, i % 2 === 0 ? w! : h!)) : cols
      return joinColumns([sub(cx!, l!), sub(cy!, t!), add(cx!, r!), add(cy!, b!)])
    },
  }
}

/**
 * FCOS centerness targets (detectron2 `FCOS.compute_ctrness_targets`):
 * sqrt(min(l, r)/max(l, r) · min(t, b)/max(t, b)) from each anchor's centre to its matched box. Only
 * meaningful where the anchor centre lies inside the box (FCOS's positives, the only places the loss
 * reads it); elsewhere the value is whatever the formula gives, NaN included.
 * anchors: f32[R, 4], gtBoxes: f32[..., R, 4] (one matched box per anchor) → f32[..., R]
 */
export const fcosCenternessTargets = (anchors: Tensor, gtBoxes: Tensor): Tensor => {
  expectBoxes('fcosCenternessTargets', anchors, 4, false, 'anchors')
  expectBoxes('fcosCenternessTargets', gtBoxes, 4, true, 'gtBoxes')
  const r = anchors.shape[0]!
  if (gtBoxes.shape.length < 2 || gtBoxes.shape[gtBoxes.shape.length - 2] !== r) {
    fail('fcosCenternessTargets', `gtBoxes must be f32[..., R, 4] with R = ${r} (one box per anchor), got anchors ${describeAval(anchors)} and gtBoxes ${describeAval(gtBoxes)}`)
  }
  const { cx, cy } = geometry(anchors)
  const [x1, y1, x2, y2] = unbindLast(gtBoxes)
  const [l, t, rr, b] = [sub(cx, x1!), sub(cy, y1!), sub(x2!, cx), sub(y2!, cy)]
  const ratio = (p: Tensor, q: Tensor) => div(minimum(p, q), maximum(p, q))
  return sqrt(mul(ratio(l, rr), ratio(t, b)))
}
