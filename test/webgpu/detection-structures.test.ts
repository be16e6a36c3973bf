/**
 * WebGPU parity for the detection numerics built from tensor ops: box IoU/IoA, rotated IoU, anchors, box
 * codings, the matcher, label subsampling and the losses (values and gradients).
 *
 * Tolerances: integer results (matches, labels, sampled indices) must be identical. Float results built
 * from +, −, ×, ÷, min and max match to the default rtol 1e-5. Where transcendental functions enter
 * (cos/sin in rotated boxes, exp/log in box codings and losses, the polynomial atan in CIoU) the GPU's
 * builtins differ from JavaScript's Math by a few ulps, so those checks allow atol 1e-5 on O(1) values
 * (1e-4 on pixel coordinates of a few hundred).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import * as B from '../../models/structures/index.js'
import * as D from '../../ops/detection/index.js'
import { randn, rejectsFovea, rng } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('detection-structures')

const TRANSCENDENTAL = { rtol: 1e-5, atol: 1e-5 }

/** Random XYXY boxes in [0, 60) with sides in [1, 20), a few degenerate and outside ones appended. */
const boxes = (n: number, seed: number): Tensor => {
  const r = rng(seed)
  const rows = Array.from({ length: n }, () => {
    const [x, y] = [r() * 60, r() * 60]
    return [x, y, x + 1 + r() * 19, y + 1 + r() * 19]
  })
  return F.tensor([...rows, [5, 5, 5, 9], [-30, -30, -10, -5], [0, 0, 0, 0]])
}

const rotated = (n: number, seed: number): Tensor => {
  const r = rng(seed)
  return F.tensor(Array.from({ length: n }, () => [r() * 30, r() * 30, 2 + r() * 15, 2 + r() * 15, r() * 360 - 180]))
}

if (run) {
  test('boxIou, boxIoa, matchedBoxIou, area, clip and nonempty (zero-area and outside boxes included)', async () => {
    await expectParity(() => {
      const [a, b] = [boxes(40, 1), boxes(70, 2)]
      return [B.boxIou(a, b), B.boxIoa(a, b), B.matchedBoxIou(a, F.slice(b, [0], [43])), B.boxArea(a),
        B.clipBoxes(a, [50, 40]), B.nonemptyBoxes(a, 2), B.boxIou(F.zeros([0, 4]), b)]
    })
  })

  test('mask geometry and image lists: bitMasksToBoxes, polygonArea, imageListFromTensors', async () => {
    await expectParity(() => {
      const masks = F.greater(randn([5, 17, 23], 30), 1.8)
      const polygons = F.mul(randn([4, 7, 2], 31), 10)
      const list = B.imageListFromTensors([randn([3, 10, 13], 32), randn([3, 21, 7], 33)], 8, -1)
      return [B.bitMasksToBoxes(masks), B.bitMasksToBoxes(F.zeros([2, 4, 4], 'bool')), B.polygonArea(polygons), list.tensor, B.imageListImage(list, 1)]
    })
  })

  test('box helpers: scale, centers, inside, intersection, mode conversion, rotated area and nonempty', async () => {
    await expectParity(() => [
      B.scaleBoxes(boxes(9, 20), 0.5, 2), B.boxCenters(boxes(9, 21)), B.insideBox(boxes(9, 22), [40, 60], 2),
      D.boxIntersection(boxes(7, 23), boxes(5, 24)),
      B.convertBoxMode(boxes(6, 25), 'XYXY_ABS', 'XYWH_ABS'), B.convertBoxMode(boxes(6, 26), 'XYWH_ABS', 'XYXY_ABS'),
      B.rotatedBoxArea(rotated(8, 27)), B.nonemptyRotatedBoxes(rotated(8, 28), 1),
    ])
  })

  test('foldFrozenBatchNorm and weighted losses (weights, avgFactor, lossWeight)', async () => {
    const norm = () => ({ weight: randn([6], 30), bias: randn([6], 31), running_mean: randn([6], 32), running_var: F.add(F.square(randn([6], 33)), 0.5) })
    await expectParity(() => {
      const folded = D.foldFrozenBatchNorm({ weight: randn([6, 3, 3, 3], 34), bias: randn([6], 35) }, norm())
      return [folded.weight, folded.bias, D.foldFrozenBatchNorm({ weight: randn([6, 4], 36) }, norm()).bias]
    }, TRANSCENDENTAL)
    const l1 = D.weightedLoss((p, t) => F.abs(F.sub(p, t)))
    await expectParity(() => [
      l1(randn([5, 4], 37), randn([5, 4], 38), { weight: F.abs(randn([5, 1], 39)), avgFactor: 3.5, lossWeight: 2 }),
      D.weightReduceLoss(F.abs(randn([5, 4], 40)), { reduction: 'sum', weight: F.abs(randn([5, 4], 41)) }),
      D.weightReduceLoss(F.abs(randn([5, 4], 42)), { reduction: 'none' }),
    ])
  })

  test('rotatedBoxIou on random pairs, identical and half-turned boxes, and the d2 precision cases', async () => {
    await expectParity(() => {
      const a = rotated(30, 3)
      const b = F.concat([rotated(25, 4), F.slice(a, [0], [3]), F.add(F.slice(a, [3], [5]), F.tensor([0, 0, 0, 0, 180]))])
      return B.rotatedBoxIou(a, b)
    }, TRANSCENDENTAL)
    await expectParity(() => B.rotatedBoxIou(
      F.tensor([[296.6620178222656, 458.73883056640625, 23.515729904174805, 47.677001953125, 0.08795166015625], [565, 565, 10, 10, 0], [160, 153, 230, 23, -37]]),
      F.tensor([[296.66201, 458.73882000000003, 23.51573, 47.67702, 0.087951], [565, 565, 10, 8.3, 0], [190, 127, 80, 21, -46]]),
    ), TRANSCENDENTAL)
  })

  test('rotated box helpers: normalize, clip, horizontal hull, scale', async () => {
    await expectParity(() => {
      const b = F.mul(rotated(20, 5), F.tensor([10, 10, 10, 10, 5]))
      return [B.normalizeRotatedAngles(b), B.clipRotatedBoxes(b, [200, 300], 30), B.rotatedToHorizontal(b), B.scaleRotatedBoxes(b, 2, 0.5)]
    }, { rtol: 1e-5, atol: 1e-4 })
  })

  test('anchors: several levels, default and rotated generators', async () => {
    await expectParity(() => [
      ...D.defaultAnchorGenerator({ sizes: [[32], [64], [128]], aspectRatios: [0.5, 1, 2], strides: [8, 16, 32] }).anchors([[25, 34], [13, 17], [7, 9]]),
      ...D.rotatedAnchorGenerator({ sizes: [32, 64], aspectRatios: [0.25, 1, 4], angles: [-60, 0, 60], strides: [4] }).anchors([[5, 6]]),
    ])
  })

  test('box codings: getDeltas and class-specific applyDeltas (with clamping), rotated, linear, centerness', async () => {
    await expectParity(() => {
      const t = D.box2boxTransform({ weights: [10, 10, 5, 5] })
      const [src, dst] = [F.slice(boxes(30, 6), [0], [30]), F.slice(boxes(30, 7), [0], [30])]
      const deltas = F.mul(randn([30, 12], 8), 3)
      return [t.getDeltas(src, dst), t.applyDeltas(deltas, src), t.applyDeltas(t.getDeltas(src, dst), src)]
    }, { rtol: 1e-5, atol: 1e-4 })
    await expectParity(() => {
      const t = D.box2boxTransformRotated({ weights: [5, 5, 10, 10, 1] })
      const [src, dst] = [rotated(20, 9), rotated(20, 10)]
      return [t.getDeltas(src, dst), t.applyDeltas(F.mul(randn([20, 10], 11), 0.5), src)]
    }, { rtol: 1e-5, atol: 1e-4 })
    await expectParity(() => {
      const t = D.box2boxTransformLinear()
      const anchors = D.defaultAnchorGenerator({ sizes: [8], aspectRatios: [1], strides: [8] }).anchors([[4, 4]])[0]!
      const gt = F.broadcastTo(F.tensor([[2, 3, 30, 29]]), [16, 4])
      return [t.getDeltas(anchors, gt), t.applyDeltas(randn([16, 4], 12), anchors), D.fcosCenternessTargets(anchors, gt)]
    }, TRANSCENDENTAL)
  })

  test('matcher: labels and matches identical, ties and thresholds included; empty ground truth', async () => {
    await expectParity(() => {
      const q = B.boxIou(boxes(6, 13), boxes(200, 14))
      const exact = F.tensor([[0.3, 0.7, 0.69999, 0.4, 0.4], [0.3, 0.1, 0.7, 0.2, 0.4]])
      const m = D.matcher({ thresholds: [0.3, 0.7], labels: [0, -1, 1], allowLowQualityMatches: true })
      const strict = D.matcher({ thresholds: [0.4, 0.5], labels: [0, -1, 1] })
      return [m(q), m(exact), strict(q), m(F.zeros([0, 7]))]
    })
  })

  test('subsampleLabels: identical samples from the same key', async () => {
    await expectParity(() => {
      const r = rng(15)
      const labels = F.tensor(Array.from({ length: 500 }, () => Math.floor(r() * 5) - 1), { dtype: 'int32' })
      return [D.subsampleLabels(F.random.key(3), labels, 256, 0.25, 0), D.subsampleLabels(F.random.key(4), labels, 64, 0.5, 3)]
    })
  })

  test('losses: values and gradients', async () => {
    const pred = () => F.slice(boxes(20, 16), [0], [20])
    const gt = () => F.slice(boxes(20, 17), [0], [20])
    await expectParity(() => [D.giouLoss(pred(), gt()), D.diouLoss(pred(), gt()), D.ciouLoss(pred(), gt()),
      D.smoothL1Loss(randn([8, 4], 18), randn([8, 4], 19), { beta: 0.1, reduction: 'mean' }),
      D.sigmoidFocalLoss(randn([6, 9], 20), F.cast(F.greater(randn([6, 9], 21), 0.5), 'float32'), { alpha: 0.25, reduction: 'sum' }),
      D.sigmoidCrossEntropy(randn([6, 9], 22), F.sigmoid(randn([6, 9], 23))),
      D.softmaxCrossEntropy(randn([7, 5], 24), F.tensor([0, 4, -100, 2, 1, 3, 3], { dtype: 'int32' }))], TRANSCENDENTAL)
    await expectParity(() => [
      F.grad((p: Tensor) => D.giouLoss(p, gt(), { reduction: 'sum' }))(pred()),
      F.grad((p: Tensor) => D.ciouLoss(p, gt(), { reduction: 'mean' }))(pred()),
      F.grad((x: Tensor) => D.sigmoidFocalLoss(x, F.sigmoid(randn([6, 9], 25)), { alpha: 0.25, reduction: 'sum' }))(randn([6, 9], 26)),
      F.grad((x: Tensor) => F.sum(F.square(D.box2boxTransform({ weights: [1, 1, 1, 1] }).applyDeltas(x, pred()))))(randn([20, 4], 27)),
    ], TRANSCENDENTAL)
  })

  test('validateBoxes reads WebGPU boxes back: a NaN produced on the GPU is caught at the boundary', async () => {
    await F.setBackend('webgpu')
    try {
      const boxes = F.mul(F.tensor([[0, 0, 4, 4], [1, 1, 3, 3]]), F.tensor([[1], [NaN]]))
      assert.is(boxes.kind === 'tensor' && boxes.backend, 'webgpu')
      await rejectsFovea(D.validateBoxes(boxes, { op: 'proposals' }), 'proposals', 'f32[2,4]', 'row 1 (NaN, NaN, NaN, NaN)', 'non-finite')
      await D.validateBoxes(F.slice(boxes, [0, 0], [1, 4]))
    } finally {
      await F.setBackend('cpu')
    }
  })
}

test.run()
