/**
 * FPN level assignment and the multi-level ROI pooler (detectron2 modeling/poolers.py:
 * assign_boxes_to_levels and ROIPooler.forward).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import { assignFpnLevels, roiPooler } from '../../../ops/detection/poolers.js'
import { roiAlign, roiAlignRotated } from '../../../ops/detection/roi-align.js'
import { expectTensor, randn, rng, throwsFovea } from '../../util/check.js'

const square = (s: number, x = 10, y = 20): number[] => [x, y, x + s, y + s]

test('assignFpnLevels: boxes of exactly 112, 224 and 448 pixels land on levels 3, 4, 5 (offsets from P2)', async () => {
  const sizes = [112, 224, 448, 111.99, 223.99, 447.99, 56, 55.99, 5000, 0, 1]
  const levels = assignFpnLevels(F.tensor(sizes.map((s) => square(s))), 2, 5)
  assert.is(levels.dtype, 'int32')
  await expectTensor(levels, [1, 2, 3, 0, 1, 2, 0, 0, 3, 0, 0])
  // A 224-pixel box of another aspect ratio, and the canonical options.
  await expectTensor(assignFpnLevels(F.tensor([[0, 0, 448, 112], [0, 0, 32, 32]]), 2, 5), [2, 0])
  await expectTensor(assignFpnLevels(F.tensor([square(64), square(128)]), 2, 5, 128, 3), [0, 1])
  await expectTensor(assignFpnLevels(F.tensor([square(224)]), 4, 4), [0])
})

test('assignFpnLevels matches floor(4 + log2(sqrt(area)/224 + eps)) clamped, on random boxes; rotated boxes use w*h', async () => {
  const r = rng(3)
  const boxes = Array.from({ length: 200 }, () => {
    const w = 2 + 900 * r() ** 2
    const h = 2 + 900 * r() ** 2
    return [5, 7, 5 + w, 7 + h]
  })
  const expected = boxes.map(([x1, y1, x2, y2]) => {
    const level = Math.floor(4 + Math.log2(Math.sqrt((x2! - x1!) * (y2! - y1!)) / 224 + 2.220446049250313e-16))
    return Math.min(Math.max(level, 2), 5) - 2
  })
  await expectTensor(assignFpnLevels(F.tensor(boxes), 2, 5), expected)
  const rotated = boxes.map(([x1, y1, x2, y2], i) => [(x1! + x2!) / 2, (y1! + y2!) / 2, x2! - x1!, y2! - y1!, i * 7])
  await expectTensor(assignFpnLevels(F.tensor(rotated), 2, 5), expected)
})

const scales = [1 / 4, 1 / 8, 1 / 16, 1 / 32]
const features = (c = 3) => [[2, c, 40, 64], [2, c, 20, 32], [2, c, 10, 16], [2, c, 5, 8]].map((s, i) => randn(s, 10 + i))
const imageBoxes = () => [
  F.tensor([square(112, 3, 4), square(30, 100, 50), [10, 10, 250, 150], square(224, 0, 0), [40, 60, 41, 62]]),
  F.tensor([square(448, 0, 0), [100, 20, 180, 90], square(60, 200, 100)]),
]

test('roiPooler (ROIAlignV2): each box pooled from its own level, in image order', async () => {
  const pooler = roiPooler({ outputSize: [3, 2], scales, samplingRatio: 0, type: 'ROIAlignV2' })
  const fs = features()
  const boxes = imageBoxes()
  const out = pooler(fs, boxes)
  assert.equal([...out.shape], [8, 3, 3, 2])
  const levels = await F.toArray(assignFpnLevels(F.concat(boxes, 0), 2, 5))
  const flat = [...(await F.toArray(boxes[0]!)), ...(await F.toArray(boxes[1]!))]
  const expected: number[] = []
  for (let k = 0; k < 8; k++) {
    const l = levels[k]!
    const roi = F.tensor([[k < 5 ? 0 : 1, ...flat.slice(4 * k, 4 * k + 4)]])
    expected.push(...(await F.toArray(roiAlign(fs[l]!, roi, { outputSize: [3, 2], spatialScale: scales[l]! }))))
  }
  await expectTensor(out, expected)
  assert.equal([...levels], [1, 0, 1, 2, 0, 3, 0, 0])
})

test('roiPooler: one level pools directly; ROIAlign (legacy) and ROIAlignRotated types', async () => {
  const x = randn([2, 3, 20, 32], 20)
  const boxes = imageBoxes()
  const rois = F.concat(boxes.map((b, i) => F.concat([F.full([b.shape[0]!, 1], i), b], 1)), 0)
  const one = roiPooler({ outputSize: 2, scales: [1 / 8], samplingRatio: 2, type: 'ROIAlign' })([x], boxes)
  await expectTensor(one, await F.toArray(roiAlign(x, rois, { outputSize: 2, spatialScale: 1 / 8, samplingRatio: 2, aligned: false })))
  const rboxes = [F.tensor([[50, 40, 112, 112, 30], [20, 30, 10, 12, -10]]), F.tensor([[100, 60, 450, 450, 90]])]
  const rpool = roiPooler({ outputSize: 2, scales: [1 / 8, 1 / 16], samplingRatio: 0, type: 'ROIAlignRotated' })
  const fs = [randn([2, 3, 20, 32], 21), randn([2, 3, 10, 16], 22)]
  const out = await F.toArray(rpool(fs, rboxes))
  // Levels (min 3, max 4): 112 → 3, ~11 → 3, 450 → 4.
  const expect = [
    ...(await F.toArray(roiAlignRotated(fs[0]!, F.tensor([[0, 50, 40, 112, 112, 30], [0, 20, 30, 10, 12, -10]]), { outputSize: 2, spatialScale: 1 / 8 }))),
    ...(await F.toArray(roiAlignRotated(fs[1]!, F.tensor([[1, 100, 60, 450, 450, 90]]), { outputSize: 2, spatialScale: 1 / 16 }))),
  ]
  await expectTensor(F.tensor(Array.from(out)), expect)
})

test('roiPooler under jit and grad: gradients reach only the levels a box uses; empty images', async () => {
  const pooler = roiPooler({ outputSize: 2, scales, samplingRatio: 0, type: 'ROIAlignV2' })
  const boxes = [F.tensor([square(30, 5, 5), square(60, 100, 20)]), F.zeros([0, 4])]
  const loss = (fs: Tensor[], bs: Tensor[]): Tensor => F.sum(F.square(pooler(fs, bs)))
  const fs = features(2)
  const eager = F.grad(loss)(fs, boxes) as Tensor[]
  const jitted = F.jit((a: Tensor[], b: Tensor[]) => F.grad(loss)(a, b))(fs, boxes) as Tensor[]
  for (let l = 0; l < 4; l++) await expectTensor(jitted[l]!, await F.toArray(eager[l]!), { rtol: 1e-6, atol: 1e-7 })
  const mass = await Promise.all(eager.map(async (g) => (await F.toArray(F.sum(F.abs(g))))[0]!))
  assert.ok(mass[0]! > 0, 'both boxes are below 112 pixels: level P2')
  assert.equal(mass.slice(1), [0, 0, 0])
  assert.equal([...pooler(fs, [F.zeros([0, 4]), F.zeros([0, 4])]).shape], [0, 2, 2, 2])
  assert.equal([...pooler(fs.map((f) => F.slice(f, [0, 0, 0, 0], [0, ...f.shape.slice(1)])), []).shape], [0, 2, 2, 2])
})

test('bad input: not a pyramid, unknown type, wrong counts, boxes of the wrong width', () => {
  throwsFovea(() => roiPooler({ outputSize: 7, scales: [1 / 4, 1 / 16], samplingRatio: 0, type: 'ROIAlignV2' }), 'roiPooler', 'pyramid')
  throwsFovea(() => roiPooler({ outputSize: 7, scales: [1 / 3], samplingRatio: 0, type: 'ROIAlignV2' }), 'roiPooler', 'powers of 2')
  throwsFovea(() => roiPooler({ outputSize: 7, scales: [1 / 4], samplingRatio: 0, type: 'ROIPool' as 'ROIAlign' }), 'roiPooler', 'ROIPool', 'ROIAlignV2')
  const pooler = roiPooler({ outputSize: 2, scales, samplingRatio: 0, type: 'ROIAlignV2' })
  throwsFovea(() => pooler(features().slice(0, 3), imageBoxes()), 'roiPooler', 'expected 4 feature maps')
  throwsFovea(() => pooler(features(), imageBoxes().slice(0, 1)), 'roiPooler', '1 box lists', 'f32[2,3,40,64]')
  throwsFovea(() => pooler(features(), [F.tensor([[0, 1, 1, 5, 5]]), F.zeros([0, 4])]), 'roiPooler', 'f32[N, 4]', 'f32[1,5]')
  throwsFovea(() => assignFpnLevels(F.tensor([1, 2, 3, 4]), 2, 5), 'assignFpnLevels', 'f32[4]')
  throwsFovea(() => assignFpnLevels(F.tensor([square(10)]), 5, 2), 'assignFpnLevels', 'minLevel')
})

test.run()
