/**
 * NMS on the CPU reference. Hand vectors pin the rules of torchvision/detectron2 `nms`, `batched_nms`
 * and `nms_rotated` (IoU > threshold suppresses, equality keeps; visiting order by descending score);
 * random sets are checked against a brute-force greedy loop over the IoU matrix of `boxIou` /
 * `rotatedBoxIou` (independent compositions of tensor ops).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { rng, throwsFovea } from '../../util/check.js'
import { clusteredBoxes } from './nms-data.js'

const i32 = (xs: number[]) => F.tensor(xs, { dtype: 'int32' })

const expectNms = async (r: D.NmsResult, indices: number[], count: number): Promise<void> => {
  assert.is(r.indices.dtype, 'int32')
  assert.is(r.count.dtype, 'int32')
  assert.equal([...r.count.shape], [])
  assert.equal([...(await F.toArray(r.indices))], indices)
  assert.is(await F.item(r.count), count)
}

/** Greedy NMS from a full IoU matrix: the definition, written without the kernel. */
const bruteForce = async (iou: Tensor, scores: Tensor, threshold: number, classes?: Int32Array): Promise<number[]> => {
  const s = await F.toArray(scores)
  const m = await F.toArray(iou)
  const n = s.length
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b)
  const t = Math.fround(threshold)
  const kept: number[] = []
  for (const i of order) {
    if (!kept.some((k) => (classes === undefined || classes[k] === classes[i]) && m[k * n + i]! > t)) kept.push(i)
  }
  return kept
}

const padded = (xs: number[], capacity: number) => [...xs, ...new Array(capacity - xs.length).fill(-1)]

test('hand vector: IoU 0.5 at threshold 0.5 keeps, IoU 0.68 suppresses, disjoint boxes stay', async () => {
  const boxes = F.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 5], [20, 20, 30, 30], [0, 0, 2, 1], [0, 0, 1, 1]])
  const scores = F.tensor([0.9, 0.8, 0.95, 0.5, 0.3, 0.3])
  // 2 first (0.95); 0 vs 2: 50/100 = 0.5, kept; 1 vs 0: 81/119, suppressed; 4 vs 5: 1/2, kept; ties 4 before 5.
  await expectNms(D.nms(boxes, scores, 0.5), [2, 0, 3, 4, 5, -1], 5)
  // At 0.49, 0 goes (0.5 > 0.49) but 1 stays (36/114 against 2), and 5 goes (0.5 against 4).
  await expectNms(D.nms(boxes, scores, 0.49), [2, 1, 3, 4, -1, -1], 4)
})

test('the decision is on the float32-rounded IoU: exactly at a non-dyadic threshold keeps, one ulp above suppresses', async () => {
  // IoU 7/10 rounds to fround(0.7) itself; 2936013/4194304 rounds to the next float up; 2936014/4194306 to
  // the one below (found with NumPy float32). All coordinates are exact in float32.
  const pair = (big: number, small: number) => F.tensor([[0, 0, big, 1], [0, 0, small, 1]])
  const scores = F.tensor([1, 0.5])
  await expectNms(D.nms(pair(10, 7), scores, 0.7), [0, 1], 2)
  await expectNms(D.nms(pair(4194304, 2936013), scores, 0.7), [0, -1], 1)
  await expectNms(D.nms(pair(4194306, 2936014), scores, 0.7), [0, 1], 2)
  await expectNms(D.nms(pair(4194310, 2936017), scores, 0.7), [0, 1], 2)
})

test('score ties keep index order; NaN scores come first (PyTorch descending sort)', async () => {
  const boxes = F.tensor([[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [10, 10, 11, 11]])
  await expectNms(D.nms(boxes, F.tensor([0.5, 0.5, 0.5, 0.5]), 0.5), [0, 1, 3, -1], 3)
  await expectNms(D.nms(boxes, F.tensor([0.5, 0.5, NaN, 0.9]), 0.5), [2, 3, 1, -1], 3)
})

test('zero-area boxes have IoU 0 with everything: never suppressed, never suppressing', async () => {
  const boxes = F.tensor([[5, 5, 5, 5], [5, 5, 5, 5], [0, 0, 10, 10], [3, 3, 3, 8], [7, 2, 2, 7]])
  await expectNms(D.nms(boxes, F.tensor([0.9, 0.8, 0.7, 0.6, 0.5]), 0.0), [0, 1, 2, 3, 4], 5)
  // A negative threshold suppresses everything after the first box (IoU 0 > t).
  await expectNms(D.nms(boxes, F.tensor([0.9, 0.8, 0.7, 0.6, 0.5]), -0.1), [0, -1, -1, -1, -1], 1)
})

test('0 boxes: empty or all -1 results, count 0, right shapes', async () => {
  await expectNms(D.nms(F.zeros([0, 4]), F.zeros([0]), 0.5), [], 0)
  await expectNms(D.nms(F.zeros([0, 4]), F.zeros([0]), 0.5, { maxOutput: 3 }), [-1, -1, -1], 0)
  await expectNms(D.batchedNms(F.zeros([0, 4]), F.zeros([0]), F.zeros([0], 'int32'), 0.5), [], 0)
  await expectNms(D.nmsRotated(F.zeros([0, 5]), F.zeros([0]), 0.5, { maxOutput: 2 }), [-1, -1], 0)
})

test('all suppressed but one; capacity below the survivors keeps the best; capacity 0', async () => {
  const same = F.tensor(Array.from({ length: 5 }, () => [2, 3, 7, 9]))
  await expectNms(D.nms(same, F.tensor([0.1, 0.7, 0.3, 0.9, 0.2]), 0.5), [3, -1, -1, -1, -1], 1)
  const apart = F.tensor(Array.from({ length: 5 }, (_, i) => [i * 10, 0, i * 10 + 5, 5]))
  const scores = F.tensor([0.1, 0.7, 0.3, 0.9, 0.2])
  await expectNms(D.nms(apart, scores, 0.5, { maxOutput: 2 }), [3, 1], 2)
  await expectNms(D.nms(apart, scores, 0.5, { maxOutput: 0 }), [], 0)
  await expectNms(D.nms(apart, scores, 0.5, { maxOutput: 7 }), [3, 1, 2, 4, 0, -1, -1], 5)
})

test('random clustered sets equal a brute-force greedy loop over boxIou', async () => {
  for (const [seed, n, threshold] of [[1, 50, 0.5], [2, 300, 0.3], [3, 300, 0.7], [4, 1000, 0.5]] as const) {
    const { boxes, scores } = clusteredBoxes(n, seed)
    const expected = await bruteForce(D.boxIou(boxes, boxes), scores, threshold)
    assert.ok(expected.length > 1 && expected.length < n, `seed ${seed}: a set with both outcomes (${expected.length} kept)`)
    await expectNms(D.nms(boxes, scores, threshold), padded(expected, n), expected.length)
    const cap = Math.max(1, expected.length >> 1)
    await expectNms(D.nms(boxes, scores, threshold, { maxOutput: cap }), expected.slice(0, cap), cap)
  }
})

test('batchedNms equals per-class nms merged by score (classes never suppress each other)', async () => {
  for (const seed of [5, 6, 7]) {
    const n = 400
    const { boxes, scores } = clusteredBoxes(n, seed, 8)
    const r = rng(seed + 100)
    const cls = Int32Array.from({ length: n }, () => Math.floor(r() * 4) - 1)
    const classes = F.tensor(cls, { dtype: 'int32' })
    const expected = await bruteForce(D.boxIou(boxes, boxes), scores, 0.5, cls)
    await expectNms(D.batchedNms(boxes, scores, classes, 0.5), padded(expected, n), expected.length)
    // The same through plain nms on each class's subset, merged by descending score.
    const s = await F.toArray(scores)
    const perClass: number[] = []
    for (const c of [-1, 0, 1, 2]) {
      const members = [...cls.keys()].filter((i) => cls[i] === c)
      const sub = D.nms(F.take(boxes, i32(members), 0), F.take(scores, i32(members), 0), 0.5)
      const k = await F.item(sub.count)
      perClass.push(...[...(await F.toArray(sub.indices))].slice(0, k).map((j) => members[j]!))
    }
    perClass.sort((a, b) => s[b]! - s[a]! || a - b)
    assert.equal(expected, perClass, `seed ${seed}`)
  }
})

test('nmsRotated, hand cases: identical, turned 90°, a cross (IoU 1/3), 45° squares (IoU √2/2), far apart', async () => {
  const scores = F.tensor([0.9, 0.8])
  const pair = (a: number[], b: number[], t: number) => D.nmsRotated(F.tensor([a, b]), scores, t)
  await expectNms(pair([5, 5, 4, 2, 30], [5, 5, 4, 2, 30], 0.99), [0, -1], 1)
  await expectNms(pair([5, 5, 3, 3, 0], [5, 5, 3, 3, 90], 0.99), [0, -1], 1)
  await expectNms(pair([0, 0, 2, 1, 0], [0, 0, 2, 1, 90], 0.33), [0, -1], 1)
  await expectNms(pair([0, 0, 2, 1, 0], [0, 0, 2, 1, 90], 0.34), [0, 1], 2)
  await expectNms(pair([1e4, 1e4, 1, 1, 0], [1e4, 1e4, 1, 1, 45], 0.70), [0, -1], 1)
  await expectNms(pair([1e4, 1e4, 1, 1, 0], [1e4, 1e4, 1, 1, 45], 0.71), [0, 1], 2)
  await expectNms(pair([0, 0, 2, 2, 10], [50, 0, 2, 2, 10], 0.0), [0, 1], 2)
  // A zero-width box overlaps nothing.
  await expectNms(pair([0, 0, 2, 2, 0], [0, 0, 0, 2, 0], 0), [0, 1], 2)
})

test('nmsRotated equals a brute-force loop over rotatedBoxIou; at angle 0 it agrees with nms', async () => {
  const r = rng(11)
  const n = 120
  const rows = Array.from({ length: n }, () => [r() * 60, r() * 60, 5 + r() * 20, 5 + r() * 20, r() * 360 - 180])
  const boxes = F.tensor(rows)
  const scores = F.tensor(Array.from({ length: n }, () => r()))
  const expected = await bruteForce(D.rotatedBoxIou(boxes, boxes), scores, 0.3)
  assert.ok(expected.length > 5 && expected.length < n - 5)
  await expectNms(D.nmsRotated(boxes, scores, 0.3), padded(expected, n), expected.length)
  const upright = rows.map(([cx, cy, w, h]) => [cx!, cy!, w!, h!, 0])
  const xyxy = upright.map(([cx, cy, w, h]) => [cx! - w! / 2, cy! - h! / 2, cx! + w! / 2, cy! + h! / 2])
  const a = await F.toArray(D.nmsRotated(F.tensor(upright), scores, 0.4).indices)
  const b = await F.toArray(D.nms(F.tensor(xyxy), scores, 0.4).indices)
  assert.equal([...a], [...b])
  const cls = Int32Array.from({ length: n }, (_, i) => i % 3)
  const perClass = await bruteForce(D.rotatedBoxIou(boxes, boxes), scores, 0.3, cls)
  await expectNms(D.batchedNmsRotated(boxes, scores, F.tensor(cls, { dtype: 'int32' }), 0.3), padded(perClass, n), perClass.length)
})

test('no gradient through the selection; gathering kept boxes differentiates; jit and vmap work', async () => {
  const { boxes, scores } = clusteredBoxes(40, 9)
  const r = D.nms(boxes, scores, 0.5)
  const kept = await F.item(r.count)
  const g = F.grad((b: Tensor) => F.sum(F.take(b, F.maximum(D.nms(b, scores, 0.5).indices, 0), 0)))(boxes)
  const rowSums = await F.toArray(F.sum(g, 1))
  const idx = await F.toArray(r.indices)
  const expected = new Float32Array(40)
  for (let k = 0; k < 40; k++) expected[idx[k]! < 0 ? 0 : idx[k]!] += 4
  assert.equal([...rowSums], [...expected])
  const [, back] = F.vjp((s: Tensor) => F.cast(D.nms(boxes, s, 0.5).indices, 'float32'), scores)
  assert.equal([...(await F.toArray(back(F.ones([40]))[0] as Tensor))], new Array(40).fill(0))
  const jitted = F.jit((b: Tensor, s: Tensor) => D.nms(b, s, 0.5, { maxOutput: 16 }))(boxes, scores)
  assert.equal([...(await F.toArray(jitted.indices))], [...idx.slice(0, 16)].map((v) => v))
  assert.is(await F.item(jitted.count), Math.min(16, kept))
  const two = F.vmap((b: Tensor, s: Tensor) => D.nms(b, s, 0.5).indices)(F.stack([boxes, boxes]), F.stack([scores, F.neg(scores)]))
  assert.equal([...two.shape], [2, 40])
  assert.equal([...(await F.toArray(F.slice(two, [0, 0], [1, 40])))], [...idx])
})

test('bad input names the op, shapes and dtypes', () => {
  const b = F.zeros([3, 4])
  const s = F.zeros([3])
  throwsFovea(() => D.nms(F.zeros([3, 5]), s, 0.5), 'nms', 'f32[3,5]')
  throwsFovea(() => D.nms(F.zeros([2, 3, 4]), s, 0.5), 'nms', 'f32[2,3,4]')
  throwsFovea(() => D.nms(F.zeros([3, 4], 'int32'), s, 0.5), 'nms', 'i32[3,4]')
  throwsFovea(() => D.nms(b, F.zeros([4]), 0.5), 'nms', 'scores', 'f32[4]', 'f32[3,4]')
  throwsFovea(() => D.nms(b, F.zeros([3, 1]), 0.5), 'nms', 'f32[3,1]')
  throwsFovea(() => D.nms(b, s, NaN), 'nms', 'iouThreshold')
  throwsFovea(() => D.nms(b, s, 0.5, { maxOutput: -1 }), 'nms', 'maxOutput', '-1')
  throwsFovea(() => D.nms(b, s, 0.5, { maxOutput: 1.5 }), 'nms', 'maxOutput')
  throwsFovea(() => D.batchedNms(b, s, F.zeros([3]), 0.5), 'batchedNms', 'classes', 'f32[3]')
  throwsFovea(() => D.batchedNms(b, s, F.zeros([2], 'int32'), 0.5), 'batchedNms', 'i32[2]')
  throwsFovea(() => D.nmsRotated(b, s, 0.5), 'nmsRotated', 'f32[3,4]')
})

test.run()
