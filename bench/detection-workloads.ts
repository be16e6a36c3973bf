/**
 * The detection workloads of `bench/detection.ts`, as functions from host data to a timed run:
 *   NMS  — 10,000 clustered boxes (detector-like: jittered copies around ~400 objects), uniform scores,
 *          IoU 0.5, every survivor kept; fovea `nms` and tfjs `tf.image.nonMaxSuppression`.
 *   ROI  — 1,000 boxes × 256 channels pooled to 7×7 from four FPN levels (P2–P5 of an 800×1344 input,
 *          ROIAlignV2, sampling ratio 0) through `roiPooler`.
 *   RPN  — the proposal step for one 800×1333 image (padded to 800×1344): anchors on P2–P6 (strides
 *          4–64, sizes 32–512, 3 aspect ratios), top 1000 objectness logits per level, R-CNN decoding,
 *          clipping to the image, per-level NMS at 0.7, 1000 kept (detectron2 `find_top_rpn_proposals`,
 *          without its removal of empty boxes, which would need a data-dependent size).
 * Each run returns host arrays (the readback is inside the timed interval) for the agreement check.
 */
import * as F from '../index.js'
import type { Tensor } from '../index.js'
import { uniformHost } from './harness.js'

export const IMAGE = { height: 800, width: 1333, paddedWidth: 1344 } as const

/** Deterministic clustered boxes: jittered copies of object boxes, as a detector emits before NMS. */
export const clusteredHostBoxes = (n: number, objects: number, seed: number): { boxes: Float32Array; scores: Float32Array } => {
  const u = uniformHost(seed, objects * 4 + n * 5, 0, 1)
  let k = 0
  const next = () => u[k++]!
  const objs = Array.from({ length: objects }, () => {
    const [w, h] = [16 + next() * 300, 16 + next() * 300]
    return [next() * (IMAGE.width - w), next() * (IMAGE.height - h), w, h] as const
  })
  const boxes = new Float32Array(n * 4)
  for (let i = 0; i < n; i++) {
    const [x, y, w, h] = objs[Math.floor(next() * objects)]!
    const j = () => (next() - 0.5) * 0.25
    boxes.set([x + j() * w, y + j() * h, x + w + j() * w, y + h + j() * h], i * 4)
  }
  return { boxes, scores: uniformHost(seed + 1, n, 0, 1) }
}

/** fovea NMS: kept indices and count, read back. */
export const foveaNms = (boxes: Tensor, scores: Tensor, threshold: number) => async (): Promise<Int32Array> => {
  const r = F.nms(boxes, scores, threshold)
  const count = await F.item(r.count)
  return (await F.toArray(r.indices) as Int32Array).slice(0, count)
}

/** FPN features P2–P5 for the padded image, 256 channels, and 1,000 boxes spread over the levels. */
export const roiInputs = (seed: number): { features: { data: Float32Array; shape: number[] }[]; boxes: Float32Array } => {
  const features = [4, 8, 16, 32].map((s, l) => {
    const shape = [1, 256, IMAGE.height / s, IMAGE.paddedWidth / s]
    return { data: uniformHost(seed + l, shape.reduce((a, b) => a * b, 1), -1, 1), shape }
  })
  const u = uniformHost(seed + 9, 4000, 0, 1)
  const boxes = new Float32Array(4000)
  for (let i = 0; i < 1000; i++) {
    // Sides log-uniform in [16, 640] px: canonical level 4 at 224 px puts them on all four levels.
    const [w, h] = [16 * 40 ** u[4 * i]!, 16 * 40 ** u[4 * i + 1]!]
    const [x, y] = [u[4 * i + 2]! * (IMAGE.width - Math.min(w, IMAGE.width - 1)), u[4 * i + 3]! * (IMAGE.height - Math.min(h, IMAGE.height - 1))]
    boxes.set([x, y, Math.min(x + w, IMAGE.width), Math.min(y + h, IMAGE.height)], 4 * i)
  }
  return { features, boxes }
}

export const RPN_STRIDES = [4, 8, 16, 32, 64] as const
export const rpnGrids = RPN_STRIDES.map((s) => [Math.ceil(IMAGE.height / s), Math.ceil(IMAGE.paddedWidth / s)] as [number, number])

/** Objectness logits f32[H·W·A] and deltas f32[H·W·A, 4] per level (A = 3), as an RPN head would give. */
export const rpnInputs = (seed: number): { logits: Float32Array[]; deltas: Float32Array[] } => {
  const counts = rpnGrids.map(([h, w]) => h * w * 3)
  return {
    logits: counts.map((c, l) => uniformHost(seed + l, c, -4, 4)),
    deltas: counts.map((c, l) => uniformHost(seed + 10 + l, c * 4, -0.3, 0.3)),
  }
}

const PRE_NMS_TOPK = 1000
const POST_NMS_TOPK = 1000

/**
 * The proposal step on the current backend: anchors, per-level top-k, decoding, clipping, batched NMS.
 * Returns the kept proposals f32[1000, 4] (rows past the count are box 0's, as gathered) and the count.
 */
export const rpnProposals = (logits: readonly Tensor[], deltas: readonly Tensor[]): { boxes: Tensor; scores: Tensor; count: Tensor } => {
  const generator = F.defaultAnchorGenerator({ sizes: [[32], [64], [128], [256], [512]], aspectRatios: [0.5, 1, 2], strides: [...RPN_STRIDES], offset: 0 })
  const anchors = generator.anchors(rpnGrids)
  const coding = F.box2boxTransform({ weights: [1, 1, 1, 1] })
  const perLevel = logits.map((logit, l) => {
    const k = Math.min(PRE_NMS_TOPK, logit.shape[0]!)
    const top = F.topk(logit, k)
    const boxes = coding.applyDeltas(F.take(deltas[l]!, top.indices, 0), F.take(anchors[l]!, top.indices, 0))
    return { boxes, scores: top.values, level: F.full([k], l, 'int32') }
  })
  const boxes = F.concat(perLevel.map((p) => p.boxes), 0)
  const limits = F.tensor([IMAGE.width, IMAGE.height, IMAGE.width, IMAGE.height])
  const clipped = F.minimum(F.maximum(boxes, 0), limits)
  const scores = F.concat(perLevel.map((p) => p.scores), 0)
  const kept = F.batchedNms(clipped, scores, F.concat(perLevel.map((p) => p.level), 0), 0.7, { maxOutput: POST_NMS_TOPK })
  const safe = F.maximum(kept.indices, 0)
  return { boxes: F.take(clipped, safe, 0), scores: F.take(scores, safe, 0), count: kept.count }
}
