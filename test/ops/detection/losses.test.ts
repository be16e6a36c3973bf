/**
 * Detection losses. Published vectors: fvcore tests/test_giou_loss.py, test_smooth_l1_loss.py,
 * test_focal_loss.py; detectron2 tests/layers/test_losses.py (DIoU, CIoU); mmdetection's
 * `weighted_loss` docstring example. Random cases: test/fixtures/detection_numpy.py (float64 NumPy).
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../../util/check.js'

const fx = JSON.parse(readFileSync(new URL('../../fixtures/detection_numpy.json', import.meta.url), 'utf8')).losses
const t = (x: F.NestedArray) => F.tensor(x)
const logit = (ps: number[]) => t(ps.map((p) => Math.log(p / (1 - p))))
// np.allclose defaults, which the published tests use.
const NP = { rtol: 1e-5, atol: 1e-8 }

test('fvcore test_giou_loss vectors and reductions', async () => {
  const box = t([-1, -1, 1, 1])
  const [box2, box3, box4] = [t([0, 0, 1, 1]), t([0, 1, 1, 2]), t([1, 1, 2, 2])]
  await expectTensor(D.giouLoss(box, box), [0], NP)
  await expectTensor(D.giouLoss(box, box2), [0.75], NP)
  await expectTensor(D.giouLoss(box2, box3), [1], NP)
  await expectTensor(D.giouLoss(box2, box4), [1.5], NP)
  const [b1, b2] = [F.stack([box2, box2]), F.stack([box3, box4])]
  await expectTensor(D.giouLoss(b1, b2, { reduction: 'sum' }), [2.5], NP)
  await expectTensor(D.giouLoss(b1, b2, { reduction: 'mean' }), [1.25], NP)
})

test('d2 test_diou_loss and test_ciou_loss vectors', async () => {
  const box = t([-1, -1, 1, 1])
  const box2 = t([0, -1, 1, 1])
  const [box3, box4] = [t([0, 0, 1, 1]), t([1, 1, 2, 2])]
  await expectTensor(D.diouLoss(box, box), [0], NP)
  await expectTensor(D.diouLoss(box, box2), [0.53125], NP)
  await expectTensor(D.diouLoss(box3, box4), [1.25], NP)
  const [b1, b2] = [F.stack([box, box3]), F.stack([box2, box4])]
  await expectTensor(D.diouLoss(b1, b2, { reduction: 'sum' }), [1.78125], NP)
  await expectTensor(D.diouLoss(b1, b2, { reduction: 'mean' }), [0.890625], NP)
  await expectTensor(D.ciouLoss(box, box), [0], NP)
  await expectTensor(D.ciouLoss(box, box2), [0.5345], NP)
  await expectTensor(D.ciouLoss(box3, box4), [1.25], NP)
  await expectTensor(D.ciouLoss(b1, b2, { reduction: 'sum' }), [1.7845], NP)
  await expectTensor(D.ciouLoss(b1, b2, { reduction: 'mean' }), [0.89225], NP)
})

test('IoU losses match float64 NumPy on random pairs (identical pair included)', async () => {
  const [p, g] = [t(fx.pred), t(fx.gt)]
  await expectTensor(D.giouLoss(p, g), fx.giou, { rtol: 1e-5, atol: 1e-6 })
  await expectTensor(D.diouLoss(p, g), fx.diou, { rtol: 1e-5, atol: 1e-6 })
  await expectTensor(D.ciouLoss(p, g), fx.ciou, { rtol: 1e-5, atol: 1e-6 })
})

test('IoU losses on zero-area and empty inputs: finite, and an empty mean is 0 with a gradient', async () => {
  const degenerate = t([[2, 2, 2, 2], [0, 0, 0, 3]])
  for (const loss of [D.giouLoss, D.diouLoss]) {
    const v = await F.toArray(loss(degenerate, degenerate))
    assert.ok([...v].every(Number.isFinite), `finite: ${v}`)
  }
  // fvcore test_empty_inputs
  const empty = F.zeros([0, 4])
  await expectTensor(D.giouLoss(empty, empty, { reduction: 'mean' }), [0])
  assert.equal([...D.giouLoss(empty, empty).shape], [0])
  const g = F.grad((x: Tensor) => D.giouLoss(x, empty, { reduction: 'mean' }))(empty)
  assert.equal([...g.shape], [0, 4])
})

/** Host float64 DIoU and v for one pair, to differentiate CIoU with α held fixed. */
const diouHost = (p: number[], q: number[], eps = 1e-7) => {
  const [x1, y1, x2, y2] = p as [number, number, number, number]
  const [a1, b1, a2, b2] = q as [number, number, number, number]
  const [w, h] = [Math.min(x2, a2) - Math.max(x1, a1), Math.min(y2, b2) - Math.max(y1, b1)]
  const inter = w > 0 && h > 0 ? w * h : 0
  const union = (x2 - x1) * (y2 - y1) + (a2 - a1) * (b2 - b1) - inter + eps
  const iou = inter / union
  const diag = (Math.max(x2, a2) - Math.min(x1, a1)) ** 2 + (Math.max(y2, b2) - Math.min(y1, b1)) ** 2 + eps
  const dist = ((x1 + x2 - a1 - a2) / 2) ** 2 + ((y1 + y2 - b1 - b2) / 2) ** 2
  const v = (4 / Math.PI ** 2) * (Math.atan((a2 - a1) / (b2 - b1)) - Math.atan((x2 - x1) / (y2 - y1))) ** 2
  return { diou: 1 - iou + dist / diag, v, iou }
}

test('IoU-loss gradients: GIoU and DIoU by finite differences; CIoU with α held constant (detectron2 no_grad)', async () => {
  const p = t([[0, 0, 2, 3], [1, 1, 4, 3.5], [0, 0, 1, 1]])
  const g = t([[0.5, 0.2, 2.5, 2.8], [1.2, 0.4, 3, 4], [2, 2, 3, 4]])
  await checkGrads((a, b) => D.giouLoss(a, b), [p, g], { eps: 1e-3 })
  await checkGrads((a, b) => D.diouLoss(a, b), [p, g], { eps: 1e-3 })
  const pred = [[0, 0, 2, 3], [1, 1, 4, 3.5]]
  const gt = [[0.5, 0.2, 2.5, 2.8], [1.2, 0.4, 3, 4]]
  const grads = await F.toArray(F.grad((x: Tensor) => D.ciouLoss(x, t(gt), { reduction: 'sum' }))(t(pred)))
  for (let i = 0; i < 2; i++) {
    const base = diouHost(pred[i]!, gt[i]!)
    const alpha = base.v / (1 - base.iou + base.v + 1e-7)
    for (let k = 0; k < 4; k++) {
      const moved = (d: number) => { const q = [...pred[i]!]; q[k] += d; const r = diouHost(q, gt[i]!); return r.diou + alpha * r.v }
      const numeric = (moved(1e-6) - moved(-1e-6)) / 2e-6
      assertClose([grads[i * 4 + k]!], [numeric], { rtol: 1e-3, atol: 1e-4 }, `d ciou / d pred[${i}][${k}]`)
    }
  }
})

test('fvcore test_smooth_l1_loss, beta below 1e-5 is L1, empty mean is 0, gradients', async () => {
  const inputs = t([1, 2, 3])
  const targets = t([1.1, 2, 4.5])
  await expectTensor(D.smoothL1Loss(inputs, targets, { beta: 0.5 }), [(0.5 * 0.1 ** 2) / 0.5, 0, 1.5 - 0.5 * 0.5], { rtol: 1e-5, atol: 1e-7 })
  await expectTensor(D.smoothL1Loss(inputs, targets, { beta: 0.05 }), [0.1 - 0.5 * 0.05, 0, 1.5 - 0.5 * 0.05], { rtol: 1e-5, atol: 1e-7 })
  await expectTensor(D.smoothL1Loss(inputs, targets, { beta: 0 }), [0.1, 0, 1.5], { rtol: 1e-5, atol: 1e-7 })
  await expectTensor(D.smoothL1Loss(inputs, targets, { beta: 0.5, reduction: 'sum', lossWeight: 2 }), [2 * (0.01 + 1.25)], { rtol: 1e-5 })
  const empty = F.zeros([0, 10])
  await expectTensor(D.smoothL1Loss(empty, empty, { beta: 0.5, reduction: 'mean' }), [0])
  assert.equal([...F.grad((x: Tensor) => D.smoothL1Loss(x, empty, { beta: 0.5, reduction: 'mean' }))(empty).shape], [0, 10])
  // Away from the kinks |x| = beta and x = 0.
  await checkGrads((a) => D.smoothL1Loss(a, t([0, 0, 0, 0]), { beta: 0.5 }), [t([0.2, -0.3, 1.4, -2])], { eps: 1e-3, secondOrder: true })
  await checkGrads((a) => D.smoothL1Loss(a, t([0, 0]), { beta: 0 }), [t([0.7, -1.2])], { eps: 1e-3 })
})

test('fvcore test_focal_loss: gamma 0 is BCE, the ratio CE / FL = 1 / (1 − p_t)^gamma, alpha 1 / 0 drop a class', async () => {
  const inputs = logit([0.95, 0.9, 0.98, 0.99])
  const ones = t([1, 1, 1, 1])
  const fl0 = await F.item(D.sigmoidFocalLoss(inputs, ones, { gamma: 0, alpha: -1, reduction: 'mean' }))
  const ce = await F.item(D.sigmoidCrossEntropy(inputs, ones))
  assertClose([fl0], [ce], { rtol: 1e-6 })
  const hard = logit([0.05, 0.12, 0.09, 0.17])
  const ratio = await F.toArray(F.div(D.sigmoidCrossEntropy(hard, ones, { reduction: 'none' }), D.sigmoidFocalLoss(hard, ones, { gamma: 2 })))
  assertClose(ratio, [0.05, 0.12, 0.09, 0.17].map((p) => 1 / (1 - p) ** 2), { rtol: 1e-4 })
  const easy = logit([0.95, 0.9, 0.6, 0.3])
  const weighted = await F.toArray(F.div(D.sigmoidCrossEntropy(easy, ones, { reduction: 'none' }), D.sigmoidFocalLoss(easy, ones, { gamma: 2, alpha: 0.5 })))
  assertClose(weighted, [0.95, 0.9, 0.6, 0.3].map((p) => 2 / (1 - p) ** 2), { rtol: 1e-3 })
  const mixed = logit([0.05, 0.12, 0.89, 0.79])
  const labels = t([1, 1, 0, 0])
  const a1 = await F.toArray(D.sigmoidFocalLoss(mixed, labels, { gamma: 2, alpha: 1 }))
  assert.ok(a1[2] === 0 && a1[3] === 0 && a1[0]! > 0, `alpha = 1 zeroes negatives: ${a1}`)
  const a0 = await F.toArray(D.sigmoidFocalLoss(mixed, labels, { gamma: 2, alpha: 0 }))
  assert.ok(a0[0] === 0 && a0[1] === 0 && a0[2]! > 0, `alpha = 0 zeroes positives: ${a0}`)
  const sum0 = await F.item(D.sigmoidFocalLoss(mixed, labels, { gamma: 0, reduction: 'sum' }))
  assertClose([sum0], [await F.item(D.sigmoidCrossEntropy(mixed, labels, { reduction: 'sum' }))], { rtol: 1e-6 })
})

test('focal loss and BCE match float64 NumPy; gradients (gamma 2, 1.5, 0; saturated logits stay finite)', async () => {
  const [x, y] = [t(fx.logits), t(fx.targets)]
  await expectTensor(D.sigmoidCrossEntropy(x, y, { reduction: 'none' }), fx.bce, { rtol: 1e-5, atol: 1e-6 })
  await expectTensor(D.sigmoidFocalLoss(x, y), fx.focal, { rtol: 1e-4, atol: 1e-6 })
  await expectTensor(D.sigmoidFocalLoss(x, y, { alpha: 0.25 }), fx.focal_alpha, { rtol: 1e-4, atol: 1e-6 })
  await expectTensor(D.sigmoidFocalLoss(x, y, { gamma: 1.5 }), fx.focal_gamma15, { rtol: 1e-4, atol: 1e-6 })
  const logits = randn([3, 4], 3)
  const soft = F.sigmoid(randn([3, 4], 4))
  await checkGrads((a) => D.sigmoidFocalLoss(a, soft, { alpha: 0.25 }), [logits], { eps: 1e-3, secondOrder: true })
  await checkGrads((a) => D.sigmoidFocalLoss(a, soft, { gamma: 1.5 }), [logits], { eps: 1e-3 })
  await checkGrads((a) => D.sigmoidFocalLoss(a, soft, { gamma: 0 }), [logits], { eps: 1e-3 })
  await checkGrads((a) => D.sigmoidCrossEntropy(a, soft), [logits], { eps: 1e-3, secondOrder: true })
  const saturated = F.grad((a: Tensor) => D.sigmoidFocalLoss(a, t([1, 0]), { gamma: 0, reduction: 'sum' }))(t([200, -200]))
  assert.ok([...(await F.toArray(saturated))].every(Number.isFinite), 'finite gradient at saturated logits')
})

test('softmaxCrossEntropy: NumPy values, ignoreIndex, mean over kept labels, all ignored gives 0', async () => {
  const [logits, labels] = [t(fx.cls_logits), F.tensor(fx.cls_labels, { dtype: 'int32' })]
  await expectTensor(D.softmaxCrossEntropy(logits, labels, { reduction: 'none' }), fx.softmax_ce, { rtol: 1e-5, atol: 1e-6 })
  const kept = (fx.softmax_ce as number[]).filter((_, i) => fx.cls_labels[i] !== -100)
  await expectTensor(D.softmaxCrossEntropy(logits, labels), [kept.reduce((a, b) => a + b) / kept.length], { rtol: 1e-5 })
  await expectTensor(D.softmaxCrossEntropy(logits, labels, { reduction: 'sum' }), [kept.reduce((a, b) => a + b)], { rtol: 1e-5 })
  await expectTensor(D.softmaxCrossEntropy(logits, F.tensor([0, 0, 0, 0, 0, 0], { dtype: 'int32' }), { ignoreIndex: 0 }), [0])
  await expectTensor(D.softmaxCrossEntropy(F.zeros([0, 3]), F.zeros([0], 'int32')), [0])
  await checkGrads((a) => D.softmaxCrossEntropy(a, labels), [logits], { eps: 1e-3, secondOrder: true })
  throwsFovea(() => D.softmaxCrossEntropy(logits, F.zeros([6])), 'softmaxCrossEntropy', 'f32[6,4]', 'f32[6]')
  throwsFovea(() => D.softmaxCrossEntropy(logits, F.zeros([5], 'int32')), 'softmaxCrossEntropy', 'i32[5]')
})

test('weightedLoss follows the mmdetection weighted_loss docstring example; avgFactor rules', async () => {
  const l1 = D.weightedLoss((p, q) => F.abs(F.sub(p, q)))
  const [pred, target, weight] = [t([0, 2, 3]), t([1, 1, 1]), t([1, 0, 1])]
  await expectTensor(l1(pred, target), [4 / 3], { rtol: 1e-6 })
  await expectTensor(l1(pred, target, { weight }), [1], { rtol: 1e-6 })
  await expectTensor(l1(pred, target, { reduction: 'none' }), [1, 1, 2])
  await expectTensor(l1(pred, target, { weight, avgFactor: 2 }), [1.5], { rtol: 1e-6 })
  await expectTensor(l1(pred, target, { weight, avgFactor: t(2) }), [1.5], { rtol: 1e-6 })
  // avgFactor 0 (every label ignored) stays finite through the float32 epsilon.
  await expectTensor(l1(pred, pred, { avgFactor: 0 }), [0])
  await expectTensor(l1(pred, target, { reduction: 'none', avgFactor: 5 }), [1, 1, 2])
  await expectTensor(l1(pred, target, { lossWeight: 3, reduction: 'sum' }), [12])
  throwsFovea(() => l1(pred, target, { avgFactor: 2, reduction: 'sum' }), 'weightReduceLoss', 'avgFactor', "'sum'")
  throwsFovea(() => l1(pred, target, { reduction: 'avg' as 'mean' }), 'weightReduceLoss', "'none', 'mean' or 'sum'")
  await checkGrads((p) => D.weightReduceLoss(F.square(p), { weight: t([1, 0.5, 2]), avgFactor: 4 }), [t([0.3, -1, 2])], { eps: 1e-3 })
})

test('losses refuse mismatched shapes and dtypes', () => {
  throwsFovea(() => D.giouLoss(F.zeros([3, 4]), F.zeros([2, 4])), 'giouLoss', 'f32[3,4]', 'f32[2,4]')
  throwsFovea(() => D.ciouLoss(F.zeros([3, 5]), F.zeros([3, 5])), 'ciouLoss', 'boxes1', 'f32[3,5]')
  throwsFovea(() => D.smoothL1Loss(F.zeros([3]), F.zeros([3], 'int32'), { beta: 1 }), 'smoothL1Loss', 'target', 'i32[3]')
  throwsFovea(() => D.sigmoidFocalLoss(F.zeros([3]), F.zeros([4])), 'sigmoidFocalLoss', 'f32[3]', 'f32[4]')
  throwsFovea(() => D.sigmoidFocalLoss(F.zeros([3]), F.zeros([3]), { gamma: -1 }), 'sigmoidFocalLoss', 'gamma')
  throwsFovea(() => D.diouLoss(F.zeros([3, 4]), F.zeros([3, 4]), { reduction: 'max' as 'sum' }), 'diouLoss', 'reduction')
})

test.run()
