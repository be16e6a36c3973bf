/**
 * Box codings. Reconstruction tests follow detectron2 tests/modeling/test_box2box_transform.py; the
 * other vectors are computed by hand in the comments.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { assertClose, checkGrads, expectTensor, rng, throwsFovea } from '../../util/check.js'

/** detectron2.utils.testing.random_boxes(n, 100): x0, y0, w, h uniform in [0, 50) clamped to >= 1. */
const randomBoxes = (n: number, seed: number) => {
  const r = rng(seed)
  return F.tensor(Array.from({ length: n }, () => {
    const [x, y, w, h] = [0, 0, 0, 0].map(() => Math.max(1, r() * 50))
    return [x!, y!, x! + w!, y! + h!]
  }))
}

const randomRotated = (n: number, seed: number) => {
  // d2 random_rotated_boxes([10, 10, 20, 20, -30], 5, 60.0, N)
  const r = rng(seed)
  return F.tensor(Array.from({ length: n }, () => [10 + 5 * r(), 10 + 5 * r(), 20 + 5 * r(), 20 + 5 * r(), -30 + 60 * r()]))
}

test('box2boxTransform: hand-computed deltas with weights', async () => {
  const t = D.box2boxTransform({ weights: [1, 1, 1, 1] })
  // src: w 10, h 20, centre (5, 10). target 1: shifted by (2, 4); target 2: w 20, h 10, centre (10, 5).
  const src = F.tensor([[0, 0, 10, 20], [0, 0, 10, 20]])
  const target = F.tensor([[2, 4, 12, 24], [0, 0, 20, 10]])
  await expectTensor(t.getDeltas(src, target), [[0.2, 0.2, 0, 0], [0.5, -0.25, Math.log(2), Math.log(0.5)]])
  const weighted = D.box2boxTransform({ weights: [10, 10, 5, 5] })
  await expectTensor(weighted.getDeltas(src, target), [[2, 2, 0, 0], [5, -2.5, 5 * Math.log(2), 5 * Math.log(0.5)]], { rtol: 1e-5 })
})

test('d2 test_reconstruction: applyDeltas(getDeltas(src, dst), src) == dst', async () => {
  const t = D.box2boxTransform({ weights: [5, 5, 10, 10] })
  const [src, dst] = [randomBoxes(10, 1), randomBoxes(10, 2)]
  // torch.allclose defaults (rtol 1e-5, atol 1e-8), relaxed to 1e-5 absolute for float32 coordinates near 100.
  await expectTensor(t.applyDeltas(t.getDeltas(src, dst), src), await F.toArray(dst), { rtol: 1e-5, atol: 1e-5 })
})

test('applyDeltas: class-specific (N, K·4) deltas decode each class against the same box', async () => {
  const t = D.box2boxTransform({ weights: [1, 1, 1, 1] })
  const boxes = F.tensor([[0, 0, 10, 20]])
  const deltas = F.tensor([[0, 0, 0, 0, 0.1, -0.1, 0, 0, 0, 0, Math.log(2), Math.log(0.5)]])
  await expectTensor(t.applyDeltas(deltas, boxes), [[0, 0, 10, 20, 1, -2, 11, 18, -5, 5, 15, 15]], { atol: 1e-5 }, [1, 12])
  // Leading dims are free: a (B, R, K·4) batch against (B, R, 4) boxes.
  const batched = t.applyDeltas(F.reshape(deltas, [1, 1, 12]), F.reshape(boxes, [1, 1, 4]))
  assert.equal([...batched.shape], [1, 1, 12])
})

test('dw and dh are clamped above at scaleClamp = log(1000/16), never below', async () => {
  const t = D.box2boxTransform({ weights: [1, 1, 1, 1] })
  const boxes = F.tensor([[0, 0, 16, 16]])
  const big = t.applyDeltas(F.tensor([[0, 0, 100, D.DEFAULT_SCALE_CLAMP]]), boxes)
  // Both sides clamp to 16·exp(log(62.5)) = 1000 around the centre (8, 8).
  await expectTensor(big, [[-492, -492, 508, 508]], { rtol: 1e-5 })
  const small = t.applyDeltas(F.tensor([[0, 0, -3, -3]]), boxes)
  const side = 16 * Math.exp(-3)
  await expectTensor(small, [[8 - side / 2, 8 - side / 2, 8 + side / 2, 8 + side / 2]], { rtol: 1e-5 })
  const custom = D.box2boxTransform({ weights: [1, 1, 2, 2], scaleClamp: 1 })
  // dw / ww = 4 / 2 = 2 → clamped to 1: width 16e.
  await expectTensor(custom.applyDeltas(F.tensor([[0, 0, 4, 0]]), boxes), [[8 - 8 * Math.E, 0, 8 + 8 * Math.E, 16]], { rtol: 1e-5 })
})

test('box2boxTransform gradients (getDeltas in both boxes, applyDeltas in deltas and boxes)', async () => {
  const t = D.box2boxTransform({ weights: [10, 10, 5, 5] })
  const [src, dst] = [randomBoxes(4, 3), randomBoxes(4, 4)]
  await checkGrads((a, b) => t.getDeltas(a, b), [src, dst], { eps: 1e-2 })
  const deltas = F.mul(F.sub(F.tensor(Array.from({ length: 4 * 8 }, (_, i) => Math.sin(i))), 0), 0.5)
  await checkGrads((d, b) => t.applyDeltas(d, b), [F.reshape(deltas, [4, 8]), src], { eps: 1e-3, secondOrder: true })
})

test('d2 TestBox2BoxTransformRotated.test_reconstruction, angles compared modulo 360', async () => {
  const t = D.box2boxTransformRotated({ weights: [5, 5, 10, 10, 1] })
  const [src, dst] = [randomRotated(10, 5), randomRotated(10, 6)]
  const out = await F.toArray(t.applyDeltas(t.getDeltas(src, dst), src))
  const want = await F.toArray(dst)
  for (let i = 0; i < 10; i++) {
    assertClose(out.slice(i * 5, i * 5 + 4), want.slice(i * 5, i * 5 + 4), { rtol: 1e-5, atol: 1e-5 })
    const diff = ((((want[i * 5 + 4]! - out[i * 5 + 4]!) + 180) % 360) + 360) % 360 - 180
    assert.ok(Math.abs(diff) < 1e-4, `angle ${i}: ${out[i * 5 + 4]} vs ${want[i * 5 + 4]}`)
  }
})

test('rotated coding: angle delta in radians of the wrapped difference; output angles in [-180, 180)', async () => {
  const t = D.box2boxTransformRotated({ weights: [1, 1, 1, 1, 2] })
  // 170° → -170°: the difference -340° wraps to +20°, times wa = 2, in radians.
  const d = await F.toArray(t.getDeltas(F.tensor([[0, 0, 2, 2, 170]]), F.tensor([[0, 0, 2, 2, -170]])))
  assertClose([d[4]!], [(2 * 20 * Math.PI) / 180], { rtol: 1e-5 })
  const decoded = await F.toArray(t.applyDeltas(F.tensor([[0, 0, 0, 0, (2 * 30 * Math.PI) / 180]]), F.tensor([[0, 0, 2, 2, 170]])))
  assertClose([decoded[4]!], [-160], { rtol: 1e-5 })
  const t1 = D.box2boxTransformRotated({ weights: [1, 1, 1, 1, 1] })
  await checkGrads((a, b) => t1.getDeltas(a, b), [randomRotated(3, 7), randomRotated(3, 8)], { eps: 1e-3 })
  await checkGrads((dl) => t1.applyDeltas(dl, randomRotated(3, 9)), [F.mul(F.tensor(Array.from({ length: 15 }, (_, i) => Math.cos(i))), 0.2)].map((x) => F.reshape(x, [3, 5])), { eps: 1e-3 })
})

test('linear (FCOS) coding: d2 reconstruction, hand-computed deltas, relu on decode', async () => {
  const t = D.box2boxTransformLinear()
  const src = randomBoxes(10, 10)
  // d2 uses one big target box [0, 0, 101, 101] that contains every source centre.
  const dst = F.tensor(Array.from({ length: 10 }, () => [0, 0, 101, 101]))
  await expectTensor(t.applyDeltas(t.getDeltas(src, dst), src), await F.toArray(dst), { atol: 1e-3 })
  // src [0, 0, 4, 2]: centre (2, 1), stride (4, 2). target [1, 0, 10, 6]: l 1, t 1, r 8, b 5.
  await expectTensor(t.getDeltas(F.tensor([[0, 0, 4, 2]]), F.tensor([[1, 0, 10, 6]])), [[0.25, 0.5, 2, 2.5]])
  const raw = D.box2boxTransformLinear({ normalizeBySize: false })
  await expectTensor(raw.getDeltas(F.tensor([[0, 0, 4, 2]]), F.tensor([[1, 0, 10, 6]])), [[1, 1, 8, 5]])
  // A negative distance decodes as 0 (relu): the box never inverts.
  await expectTensor(raw.applyDeltas(F.tensor([[-3, 1, 2, -1]]), F.tensor([[0, 0, 4, 2]])), [[2, 0, 4, 1]])
  await checkGrads((d, b) => t.applyDeltas(d, b), [F.tensor([[0.5, 1.5, 2, 0.7]]), F.tensor([[0, 0, 4, 2]])], { eps: 1e-3 })
})

test('fcosCenternessTargets: 1 at the centre, sqrt(min/max · min/max) elsewhere, batched over images', async () => {
  const anchors = F.tensor([[1, 1, 3, 3], [4, 1, 6, 3]])
  // Anchor centres (2, 2) and (5, 2); box [0, 0, 10, 4]: l/r = 2/8 and 5/5, t/b = 2/2.
  const gt = F.tensor([[[0, 0, 10, 4], [0, 0, 10, 4]], [[0, 0, 4, 4], [3, 1, 7, 3]]])
  await expectTensor(D.fcosCenternessTargets(anchors, gt), [[0.5, 1], [1, 1]], {}, [2, 2])
  throwsFovea(() => D.fcosCenternessTargets(anchors, F.zeros([3, 4])), 'fcosCenternessTargets', 'R = 2', 'f32[3,4]')
})

test('0 boxes decode and encode to correctly shaped empty tensors', () => {
  const t = D.box2boxTransform({ weights: [1, 1, 1, 1] })
  assert.equal([...t.applyDeltas(F.zeros([0, 8]), F.zeros([0, 4])).shape], [0, 8])
  assert.equal([...t.getDeltas(F.zeros([0, 4]), F.zeros([0, 4])).shape], [0, 4])
  const r = D.box2boxTransformRotated({ weights: [1, 1, 1, 1, 1] })
  assert.equal([...r.applyDeltas(F.zeros([0, 5]), F.zeros([0, 5])).shape], [0, 5])
  assert.equal([...D.fcosCenternessTargets(F.zeros([0, 4]), F.zeros([2, 0, 4])).shape], [2, 0])
})

test('box codings refuse bad shapes and weights', () => {
  const t = D.box2boxTransform({ weights: [1, 1, 1, 1] })
  throwsFovea(() => t.applyDeltas(F.zeros([3, 6]), F.zeros([3, 4])), 'applyDeltas', 'K·4', 'f32[3,6]', 'f32[3,4]')
  throwsFovea(() => t.applyDeltas(F.zeros([2, 8]), F.zeros([3, 4])), 'applyDeltas', 'f32[2,8]', 'f32[3,4]')
  throwsFovea(() => t.getDeltas(F.zeros([3, 4]), F.zeros([2, 4])), 'getDeltas', 'f32[3,4]', 'f32[2,4]')
  throwsFovea(() => t.getDeltas(F.zeros([3, 5]), F.zeros([3, 5])), 'getDeltas', 'src boxes', 'f32[3,5]')
  throwsFovea(() => D.box2boxTransform({ weights: [1, 1, 1] as unknown as [number, number, number, number] }), 'box2boxTransform', '4 finite non-zero numbers')
  throwsFovea(() => D.box2boxTransformRotated({ weights: [1, 1, 1, 1, 0] }), 'box2boxTransformRotated', 'weights')
  throwsFovea(() => D.box2boxTransformRotated({ weights: [1, 1, 1, 1, 1] }).applyDeltas(F.zeros([2, 4]), F.zeros([2, 5])), 'applyDeltas', 'K·5')
})

test.run()
