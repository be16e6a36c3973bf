/**
 * ImageList (detectron2 structures/image_list.py) and mask geometry (structures/masks.py).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import * as B from '../../../models/structures/index.js'
import { expectTensor, throwsFovea } from '../../util/check.js'

const image = (c: number, h: number, w: number, start: number) =>
  F.reshape(F.arange(start, start + c * h * w, 1, 'float32'), [c, h, w])

test('imageListFromTensors pads bottom/right to the largest size and keeps the original sizes', async () => {
  const list = B.imageListFromTensors([image(1, 2, 3, 0), image(1, 3, 1, 100)], 0, -1)
  assert.is(list.kind, 'imageList')
  assert.equal(list.imageSizes, [[2, 3], [3, 1]])
  await expectTensor(list.tensor, [
    [[[0, 1, 2], [3, 4, 5], [-1, -1, -1]]],
    [[[100, -1, -1], [101, -1, -1], [102, -1, -1]]],
  ], {}, [2, 1, 3, 3])
  await expectTensor(B.imageListImage(list, 1), [[[100], [101], [102]]], {}, [1, 3, 1])
  await expectTensor(B.imageListImage(list, 0), [[[0, 1, 2], [3, 4, 5]]], {}, [1, 2, 3])
})

test('sizeDivisibility rounds H and W up (FPN needs 32); padding constraints override it', () => {
  const list = B.imageListFromTensors([image(3, 33, 64, 0), image(3, 20, 65, 0)], 32)
  assert.equal([...list.tensor.shape], [2, 3, 64, 96])
  assert.equal([...B.imageListFromTensors([image(3, 30, 30, 0)], 32).tensor.shape], [1, 3, 32, 32])
  assert.equal([...B.imageListFromTensors([image(1, 5, 7, 0)], 0, 0, { squareSize: 9 }).tensor.shape], [1, 1, 9, 9])
  assert.equal([...B.imageListFromTensors([image(1, 5, 7, 0)], 32, 0, { sizeDivisibility: 4 }).tensor.shape], [1, 1, 8, 8])
  // (H, W) images without channels work too, as in detectron2.
  assert.equal([...B.imageListFromTensors([F.zeros([4, 5]), F.zeros([6, 2])]).tensor.shape], [2, 6, 5])
})

test('imageListFromTensors refuses mismatched leading dims, no images, and a bad index', () => {
  throwsFovea(() => B.imageListFromTensors([image(3, 2, 2, 0), image(1, 2, 2, 0)]), 'imageListFromTensors', 'f32[3,2,2], f32[1,2,2]')
  throwsFovea(() => B.imageListFromTensors([]), 'imageListFromTensors', 'at least one image')
  throwsFovea(() => B.imageListFromTensors([F.zeros([4])]), 'imageListFromTensors', 'f32[4]')
  throwsFovea(() => B.imageListImage(B.imageListFromTensors([image(1, 2, 2, 0)]), 1), 'imageListImage', 'index 1')
})

test('bitMasksToBoxes: tight boxes with the +1 on the far side; empty masks give zeros', async () => {
  const set = (data: Uint8Array, n: number, i: number, j: number) => { data[n * 20 + i * 5 + j] = 1 }
  const data = new Uint8Array(60)
  set(data, 0, 1, 2)
  set(data, 0, 3, 0)
  set(data, 1, 2, 4)
  const boxes = B.bitMasksToBoxes(F.tensor(data, { shape: [3, 4, 5], dtype: 'bool' }))
  await expectTensor(boxes, [[0, 1, 3, 4], [4, 2, 5, 3], [0, 0, 0, 0]], {}, [3, 4])
  assert.equal([...B.bitMasksToBoxes(F.zeros([2, 0, 3], 'bool')).shape], [2, 4])
  assert.equal([...B.bitMasksToBoxes(F.zeros([0, 4, 3], 'bool')).shape], [0, 4])
  throwsFovea(() => B.bitMasksToBoxes(F.zeros([3, 4, 5])), 'bitMasksToBoxes', 'bool[N, H, W]', 'f32[3,4,5]')
})

test('polygonArea: shoelace, orientation-free, repeated padding vertices add nothing', async () => {
  const square = [[0, 0], [2, 0], [2, 2], [0, 2]]
  const triangleCw = [[0, 0], [0, 3], [4, 0], [4, 0]]
  await expectTensor(B.polygonArea(F.tensor([square, triangleCw])), [4, 6])
  await expectTensor(B.polygonArea(F.zeros([2, 0, 2])), [0, 0])
  throwsFovea(() => B.polygonArea(F.zeros([4, 3])), 'polygonArea', 'f32[4,3]')
})

test.run()
