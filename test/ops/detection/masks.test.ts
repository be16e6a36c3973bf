/**
 * pasteMasks: detectron2 layers/mask_ops.py `paste_masks_in_image` (the aligned grid_sample paste; its
 * tests/layers/test_mask_ops.py checks it only against COCO data, so the vectors here are hand-computed
 * or from test/fixtures/detection_masks_numpy.py, a per-pixel NumPy transcription of grid_sample).
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { assertClose, checkGrads, expectTensor, throwsFovea, uniform } from '../../util/check.js'

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/detection_masks_numpy.json', import.meta.url), 'utf8')) as {
  paste: { masks: number[][][]; boxes: number[][]; size: [number, number]; pasted: number[][][] }
}

test('a 2×2 identity mask in a 4×4 box: bilinear weights (¾, ¼) per axis, by hand', async () => {
  // Row i samples mask row m = i/2 − ¼, so Wy = [[¾,0],[¾,¼],[¼,¾],[0,¾]] and pasted = Wy·I·Wyᵀ.
  const soft = D.pasteMasks(F.tensor([[[1, 0], [0, 1]]]), F.tensor([[0, 0, 4, 4]]), [4, 4], -1)
  const expected = [
    [0.5625, 0.5625, 0.1875, 0],
    [0.5625, 0.625, 0.375, 0.1875],
    [0.1875, 0.375, 0.625, 0.5625],
    [0, 0.1875, 0.5625, 0.5625],
  ]
  await expectTensor(soft, [expected], { rtol: 1e-6, atol: 0 }, [1, 4, 4])
  const hard = D.pasteMasks(F.tensor([[[1, 0], [0, 1]]]), F.tensor([[0, 0, 4, 4]]), [4, 4])
  assert.is(hard.dtype, 'bool')
  await expectTensor(hard, [[[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]], { rtol: 0, atol: 0 })
})

test('matches the NumPy grid_sample transcription (boxes partly outside, fractional, thin)', async () => {
  const { masks, boxes, size, pasted } = fixture.paste
  const soft = D.pasteMasks(F.tensor(masks), F.tensor(boxes), size, -1)
  await expectTensor(soft, pasted, { rtol: 1e-5, atol: 1e-6 }, [4, ...size])
  const flat = pasted.flat(2)
  assert.ok(flat.every((v) => Math.abs(v - 0.5) > 1e-5), 'no pixel sits on the threshold')
  await expectTensor(D.pasteMasks(F.tensor(masks), F.tensor(boxes), size), flat.map((v) => (v >= 0.5 ? 1 : 0)), { rtol: 0, atol: 0 })
})

test('bilinear bleed: a full mask lights a ¼ fringe one pixel outside a 4-pixel box of a 2×2 mask', async () => {
  const soft = await F.toArray(D.pasteMasks(F.ones([1, 2, 2]), F.tensor([[4, 4, 8, 8]]), [12, 12], -1))
  const at = (i: number, j: number) => soft[i * 12 + j]!
  assert.ok(Math.abs(at(3, 5) - 0.25) < 1e-6 && Math.abs(at(5, 3) - 0.25) < 1e-6 && Math.abs(at(3, 3) - 0.0625) < 1e-6)
  assert.is(at(2, 5), 0)
  assert.is(at(5, 5), 1)
  const hard = await F.toArray(D.pasteMasks(F.ones([1, 2, 2]), F.tensor([[4, 4, 8, 8]]), [12, 12]))
  assert.is(Array.from(hard).reduce((a, b) => a + b, 0), 16, 'the thresholded mask is exactly the box')
})

test('degenerate boxes paste as empty; empty inputs give correctly shaped outputs', async () => {
  const soft = D.pasteMasks(F.ones([2, 3, 3]), F.tensor([[2, 2, 2, 6], [1, 5, 4, 5]]), [8, 8], -1)
  await expectTensor(soft, new Array(128).fill(0), { rtol: 0, atol: 0 })
  for (const [n, h, w] of [[0, 5, 6], [2, 0, 4], [2, 4, 0]] as const) {
    const out = D.pasteMasks(F.zeros([n, 3, 3]), F.zeros([n, 4]), [h, w])
    assert.equal([...out.shape], [n, h, w])
    assert.is(out.dtype, 'bool')
  }
  assert.is(D.pasteMasks(F.zeros([0, 3, 3]), F.zeros([0, 4]), [2, 2], -1).dtype, 'float32')
})

test('soft paste is differentiable in masks and boxes', async () => {
  const masks = uniform([2, 3, 4], 1)
  // Box edges chosen so that no pixel centre's mask coordinate sits within 0.05 of a grid line.
  const boxes = F.tensor([[1.13, 0.71, 5.29, 6.07], [2.41, 1.87, 6.61, 4.93]])
  await checkGrads((m, b) => D.pasteMasks(m, b, [7, 8], -1), [masks, boxes], { eps: 1e-3, secondOrder: true })
})

test('vmap over images equals a loop', async () => {
  const masks = uniform([3, 2, 4, 4], 2)
  const boxes = F.tensor([[[0, 0, 5, 5], [1, 2, 6, 4]], [[2, 2, 3, 6], [0.5, 0, 6, 6]], [[-1, -1, 3, 3], [3, 3, 9, 9]]])
  const mapped = F.vmap((m: Tensor, b: Tensor) => D.pasteMasks(m, b, [6, 6], -1))(masks, boxes) as Tensor
  const loop = F.stack([0, 1, 2].map((i) => D.pasteMasks(
    F.reshape(F.slice(masks, [i, 0, 0, 0], [i + 1, 2, 4, 4]), [2, 4, 4]), F.reshape(F.slice(boxes, [i, 0, 0], [i + 1, 2, 4]), [2, 4]), [6, 6], -1)))
  assertClose(await F.toArray(mapped), await F.toArray(loop), { rtol: 1e-6, atol: 1e-7 })
})

test('bad input names the op, shapes and dtypes', () => {
  throwsFovea(() => D.pasteMasks(F.ones([3, 3]), F.zeros([1, 4]), [4, 4]), 'pasteMasks', 'masks must be f32[N, Hm, Wm]', 'f32[3,3]')
  throwsFovea(() => D.pasteMasks(F.ones([1, 3, 3], 'int32'), F.zeros([1, 4]), [4, 4]), 'pasteMasks', 'i32[1,3,3]')
  throwsFovea(() => D.pasteMasks(F.ones([1, 3, 3]), F.zeros([1, 5]), [4, 4]), 'pasteMasks', 'boxes must be f32[N, 4]', 'f32[1,5]')
  throwsFovea(() => D.pasteMasks(F.ones([2, 3, 3]), F.zeros([1, 4]), [4, 4]), 'pasteMasks', 'one box per mask', 'f32[2,3,3], f32[1,4]')
  throwsFovea(() => D.pasteMasks(F.ones([1, 3, 3]), F.zeros([1, 4]), [4.5, 4]), 'pasteMasks', 'imageSize', '[4.5, 4]')
})

test.run()
