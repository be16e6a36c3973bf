/**
 * detectron2 modeling/postprocessing.py `detector_postprocess`, data/transforms `ResizeShortestEdge.
 * get_output_shape` and layers FrozenBatchNorm2d folded into a conv. Vectors are worked out by hand in
 * the comments (detectron2 tests these only through whole-model runs).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { assertClose, expectTensor, randn, throwsFovea, uniform } from '../../util/check.js'

const instances = (): D.DetectionInstances => ({
  imageSize: [100, 200],
  boxes: F.tensor([[10, 20, 50, 80], [150, 90, 250, 120], [-5, -5, 0, 10], [30, 30, 30, 40]]),
  scores: F.tensor([0.9, 0.8, 0.7, 0.6]),
  classes: F.tensor([1, 2, 3, 4], { dtype: 'int32' }),
  masks: uniform([4, 1, 7, 7], 1),
  keypoints: F.tensor([[[10, 10, 0.5], [300, -4, 0.25]], [[0, 0, 1], [1, 2, 3]], [[4, 4, 4], [5, 5, 5]], [[6, 6, 6], [7, 7, 7]]]),
})

test('detectorPostprocess: scale by (outW/w, outH/h), clip, mark empty boxes invalid, paste masks, scale keypoints', async () => {
  // 100×200 → 50×400: sx = 2, sy = ½.
  const input = instances()
  const out = D.detectorPostprocess(input, 50, 400)
  assert.equal(out.imageSize, [50, 400])
  // Box 2 → [300, 45, 500, 60] clipped to [300, 45, 400, 50]; box 3 → [−10, −2.5, 0, 5] → zero width;
  // box 4 has zero width already.
  const clipped = [[20, 10, 100, 40], [300, 45, 400, 50], [0, 0, 0, 5], [60, 15, 60, 20]]
  await expectTensor(out.boxes, clipped, { rtol: 0, atol: 0 })
  await expectTensor(out.valid!, [1, 1, 0, 0], { rtol: 0, atol: 0 })
  await expectTensor(out.keypoints!, [[[20, 5, 0.5], [600, -2, 0.25]], [[0, 0, 1], [2, 1, 3]], [[8, 2, 4], [10, 2.5, 5]], [[12, 3, 6], [14, 3.5, 7]]], { rtol: 0, atol: 0 })
  assert.is(out.masks!.dtype, 'bool')
  assert.equal([...out.masks!.shape], [4, 50, 400])
  // Masks go into the clipped boxes, as detectron2 pastes with the boxes it has just clipped in place.
  const direct = D.pasteMasks(F.reshape(instances().masks!, [4, 7, 7]), F.tensor(clipped), [50, 400])
  assertClose(await F.toArray(out.masks!), await F.toArray(direct), { rtol: 0, atol: 0 })
  assert.ok(out.scores === input.scores && out.classes === input.classes, 'scores and classes pass through')
})

test('detectorPostprocess: an incoming valid mask is kept, threshold option, [N,M,M] masks, no masks or keypoints', async () => {
  const base = { ...instances(), valid: F.tensor([false, true, true, true]) }
  const out = D.detectorPostprocess(base, 100, 200, { maskThreshold: -1 })
  await expectTensor(out.valid!, [0, 1, 0, 0], { rtol: 0, atol: 0 })
  assert.is(out.masks!.dtype, 'float32')
  const flat = D.detectorPostprocess({ ...instances(), masks: F.reshape(instances().masks!, [4, 7, 7]) }, 100, 200)
  assert.equal([...flat.masks!.shape], [4, 100, 200])
  const bare = D.detectorPostprocess({ imageSize: [10, 10], boxes: F.tensor([[1, 1, 4, 4]]), scores: F.tensor([1]), classes: F.tensor([0], { dtype: 'int32' }) }, 20, 20)
  assert.ok(bare.masks === undefined && bare.keypoints === undefined)
  await expectTensor(bare.boxes, [[2, 2, 8, 8]], { rtol: 0, atol: 0 })
})

test('detectorPostprocess: zero instances', () => {
  const out = D.detectorPostprocess({
    imageSize: [10, 10], boxes: F.zeros([0, 4]), scores: F.zeros([0]), classes: F.zeros([0], 'int32'),
    masks: F.zeros([0, 1, 28, 28]), keypoints: F.zeros([0, 17, 3]),
  }, 30, 40)
  assert.equal([[...out.boxes.shape], [...out.valid!.shape], [...out.masks!.shape], [...out.keypoints!.shape]], [[0, 4], [0], [0, 30, 40], [0, 17, 3]])
})

test('detectorPostprocess: bad input', () => {
  throwsFovea(() => D.detectorPostprocess(instances(), 0, 10), 'detectorPostprocess', 'output size', '0×10')
  throwsFovea(() => D.detectorPostprocess({ ...instances(), boxes: F.zeros([4, 5]) }, 10, 10), 'detectorPostprocess', 'f32[4,5]')
  throwsFovea(() => D.detectorPostprocess({ ...instances(), masks: F.zeros([4, 2, 7, 7]) }, 10, 10), 'detectorPostprocess', 'masks', 'f32[4,2,7,7]')
  throwsFovea(() => D.detectorPostprocess({ ...instances(), keypoints: F.zeros([4, 17, 2]) }, 10, 10), 'detectorPostprocess', 'keypoints', 'f32[4,17,2]')
})

test('resizeShortestEdge: short side to the target, long side capped, int(x + 0.5)', () => {
  assert.equal(D.resizeShortestEdge(480, 640, 800, 1333), [800, 1067]) // 640·5/3 = 1066.67
  assert.equal(D.resizeShortestEdge(640, 480, 800, 1333), [1067, 800])
  // 1000×3000 → 800×2400, too long: ×1333/2400 → 444.33×1333.
  assert.equal(D.resizeShortestEdge(1000, 3000, 800, 1333), [444, 1333])
  assert.equal(D.resizeShortestEdge(500, 500, 600), [600, 600])
  assert.equal(D.resizeShortestEdge(2, 3, 3), [3, 5]) // 4.5 rounds half up
  assert.equal(D.resizeShortestEdge(427, 640, 640, 1000), [640, 959]) // 640·640/427 = 959.25
  throwsFovea(() => D.resizeShortestEdge(0, 5, 800), 'resizeShortestEdge', '0×5')
  throwsFovea(() => D.resizeShortestEdge(5, 5, -1), 'resizeShortestEdge', '-1')
})

test('foldFrozenBatchNorm: conv with the folded params equals FrozenBatchNorm(conv(x)), with and without a conv bias', async () => {
  const x = randn([2, 3, 6, 5], 1)
  const w = randn([4, 3, 3, 3], 2)
  const norm = { weight: randn([4], 3), bias: randn([4], 4), running_mean: randn([4], 5), running_var: uniform([4], 6, 0.5, 2) }
  const frozen = (y: Tensor) => {
    const c = (t: Tensor) => F.reshape(t, [1, 4, 1, 1])
    return F.add(F.mul(F.sub(y, c(norm.running_mean)), c(F.div(norm.weight, F.sqrt(F.add(norm.running_var, 1e-5))))), c(norm.bias))
  }
  for (const bias of [undefined, randn([4], 7)]) {
    const folded = D.foldFrozenBatchNorm({ weight: w, bias }, norm)
    const reference = frozen(bias === undefined ? F.conv2d(x, w, { padding: 1 }) : F.add(F.conv2d(x, w, { padding: 1 }), F.reshape(bias, [1, 4, 1, 1])))
    const direct = F.add(F.conv2d(x, folded.weight, { padding: 1 }), F.reshape(folded.bias, [1, 4, 1, 1]))
    assertClose(await F.toArray(direct), await F.toArray(reference), { rtol: 1e-5, atol: 1e-5 })
  }
  // By hand: γ 2, var 3 (eps 1): scale 1; mean 1, β 5, conv bias 4 → bias' = (4 − 1)·1 + 5 = 8.
  const one = D.foldFrozenBatchNorm({ weight: F.tensor([[3, -1]]), bias: F.tensor([4]) }, { weight: F.tensor([2]), bias: F.tensor([5]), running_mean: F.tensor([1]), running_var: F.tensor([3]) }, 1)
  await expectTensor(one.weight, [[3, -1]])
  await expectTensor(one.bias, [8])
  throwsFovea(() => D.foldFrozenBatchNorm({ weight: w }, { ...norm, running_var: F.ones([3]) }), 'foldFrozenBatchNorm', 'norm.running_var', 'f32[3]', 'f32[4,3,3,3]')
})

test.run()
