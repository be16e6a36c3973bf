import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

const i32 = (data: F.NestedArray) => F.tensor(data, { dtype: 'int32' })
const m23 = () => F.tensor([[1, 2, 3], [4, 5, 6]])

test('expandDims and squeeze add and remove unit axes', async () => {
  const x = m23()
  assert.equal([...F.expandDims(x, 0).shape], [1, 2, 3])
  assert.equal([...F.expandDims(x, -1).shape], [2, 3, 1])
  assert.equal([...F.expandDims(x, [0, 2]).shape], [1, 2, 1, 3])
  assert.equal([...F.squeeze(F.zeros([1, 2, 1, 3])).shape], [2, 3])
  assert.equal([...F.squeeze(F.zeros([1, 2, 1, 3]), -2).shape], [1, 2, 3])
  assert.equal([...F.squeeze(F.zeros([1, 0, 1]), [0, 2]).shape], [0])
  await expectTensor(F.squeeze(F.expandDims(x, 1)), [1, 2, 3, 4, 5, 6], {}, [2, 3])
  throwsFovea(() => F.squeeze(x, 1), 'squeeze', 'axis 1 of size 3', 'f32[2,3]')
  throwsFovea(() => F.expandDims(x, 3), 'expandDims', 'axis 3')
})

test('slice follows Python slicing: negative bounds, clipping, strides', async () => {
  const x = F.reshape(F.arange(20), [4, 5])
  // NumPy: np.arange(20).reshape(4,5)[1:-1, ::2] = [[5,7,9],[10,12,14]]
  await expectTensor(F.slice(x, [1, 0], [-1, 5], [1, 2]), [5, 7, 9, 10, 12, 14], {}, [2, 3])
  // x[-2:, 3:100] = [[13,14],[18,19]]
  await expectTensor(F.slice(x, [-2, 3], [4, 100]), [13, 14, 18, 19], {}, [2, 2])
  // Missing axes are taken whole; x[3:] is one row.
  await expectTensor(F.slice(x, [3]), [15, 16, 17, 18, 19], {}, [1, 5])
  // Empty ranges give zero-size dimensions, like x[3:1].
  assert.equal([...F.slice(x, [3], [1]).shape], [0, 5])
  assert.is(F.slice(x, [0, 0]), x)
  assert.is(F.slice(x, [1]).dtype, 'int32')
  await expectTensor(F.slice(F.tensor([true, false, true]), [1]), [0, 1])
  throwsFovea(() => F.slice(x, [0], [4], [-1]), 'slice', 'strides must be positive', 'i32[4,5]', 'flip')
  throwsFovea(() => F.slice(x, [0, 0, 0]), 'slice', 'begin has 3 entries', 'i32[4,5]')
})

test('pad pads with a constant and keeps the dtype', async () => {
  await expectTensor(F.pad(F.tensor([[1, 2]]), [[1, 0], [1, 2]], 9), [9, 9, 9, 9, 9, 9, 1, 2, 9, 9], {}, [2, 5])
  const p = F.pad(i32([1, 2]), [[2, 1]])
  assert.is(p.dtype, 'int32')
  await expectTensor(p, [0, 0, 1, 2, 0])
  await expectTensor(F.pad(F.tensor([true]), [[1, 1]], 1), [1, 1, 1])
  await expectTensor(F.pad(F.zeros([0, 2]), [[1, 0], [0, 0]], 3), [3, 3], {}, [1, 2])
  throwsFovea(() => F.pad(m23(), [[1, 1]]), 'pad', 'expected 2', 'f32[2,3]')
  throwsFovea(() => F.pad(m23(), [[1, 1], [-1, 0]]), 'pad', 'non-negative', 'f32[2,3]')
  throwsFovea(() => F.pad(i32([1]), [[1, 1]], 0.5), 'pad', '0.5', 'i32[1]')
})

test('split into equal sections or given sizes', async () => {
  const x = F.reshape(F.arange(12), [2, 6])
  const parts = F.split(x, 3, 1)
  assert.is(parts.length, 3)
  await expectTensor(parts[1]!, [2, 3, 8, 9], {}, [2, 2])
  const sized = F.split(x, [1, 0, 5], -1)
  assert.equal(sized.map((t) => [...t.shape]), [[2, 1], [2, 0], [2, 5]])
  await expectTensor(sized[2]!, [1, 2, 3, 4, 5, 7, 8, 9, 10, 11])
  throwsFovea(() => F.split(x, 4, 1), 'split', 'axis 1', 'i32[2,6]', '4 equal sections')
  throwsFovea(() => F.split(x, [1, 2], 1), 'split', 'summing to 6', 'i32[2,6]')
  throwsFovea(() => F.split(x, 2, 2), 'split', 'axis 2')
})

test('flip reverses the named axes (all by default)', async () => {
  const x = m23()
  await expectTensor(F.flip(x, 1), [3, 2, 1, 6, 5, 4])
  await expectTensor(F.flip(x, -2), [4, 5, 6, 1, 2, 3])
  await expectTensor(F.flip(x), [6, 5, 4, 3, 2, 1])
  await expectTensor(F.flip(i32([[1, 2], [3, 4]]), [0, 1]), [4, 3, 2, 1])
  assert.equal([...F.flip(F.zeros([0, 3]), 0).shape], [0, 3])
  throwsFovea(() => F.flip(x, 2), 'flip', 'axis 2')
  throwsFovea(() => F.flip(x, [1, -1]), 'flip', 'duplicate')
})

test('flip under vmap matches a loop', async () => {
  const x = randn([3, 2, 4], 1)
  const mapped = F.vmap((a: Tensor) => F.flip(a, -1), 2)(x)
  const column = (j: number) => F.reshape(F.slice(x, [0, 0, j], [3, 2, j + 1]), [3, 2])
  const looped = F.stack([0, 1, 2, 3].map((j) => F.flip(column(j), 1)))
  assert.equal([...mapped.shape], [4, 3, 2])
  await expectTensor(mapped, await F.toArray(looped))
})

test('tile and repeat follow NumPy', async () => {
  const x = F.tensor([[1, 2], [3, 4]])
  // np.tile([[1,2],[3,4]], 2) = [[1,2,1,2],[3,4,3,4]]
  await expectTensor(F.tile(x, 2), [1, 2, 1, 2, 3, 4, 3, 4], {}, [2, 4])
  // np.tile([[1,2],[3,4]], (2,1)) stacks the matrix twice vertically.
  await expectTensor(F.tile(x, [2, 1]), [1, 2, 3, 4, 1, 2, 3, 4], {}, [4, 2])
  // np.tile([1,2], (2,1,2)).shape == (2,1,4)
  await expectTensor(F.tile(F.tensor([1, 2]), [2, 1, 2]), [1, 2, 1, 2, 1, 2, 1, 2], {}, [2, 1, 4])
  assert.equal([...F.tile(x, [0, 3]).shape], [0, 6])
  // np.repeat([[1,2],[3,4]], 2) = [1,1,2,2,3,3,4,4]
  await expectTensor(F.repeat(x, 2), [1, 1, 2, 2, 3, 3, 4, 4], {}, [8])
  // np.repeat(x, [1, 2], axis=0) = [[1,2],[3,4],[3,4]]
  await expectTensor(F.repeat(x, [1, 2], 0), [1, 2, 3, 4, 3, 4], {}, [3, 2])
  await expectTensor(F.repeat(x, 3, -1), [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], {}, [2, 6])
  await expectTensor(F.repeat(F.tensor([true, false]), [0, 2]), [0, 0])
  assert.is(F.repeat(i32([1, 2]), 2).dtype, 'int32')
  assert.equal([...F.repeat(x, 0, 1).shape], [2, 0])
  throwsFovea(() => F.tile(x, [-1]), 'tile', 'reps', 'f32[2,2]')
  throwsFovea(() => F.repeat(x, [1, 2, 3], 0), 'repeat', '3 repeats', 'axis 0 of size 2', 'f32[2,2]')
  throwsFovea(() => F.repeat(x, 1.5), 'repeat', 'non-negative integers')
})

test('concat and stack check their operands', async () => {
  await expectTensor(F.concat([m23(), F.tensor([[7, 8, 9]])]), [1, 2, 3, 4, 5, 6, 7, 8, 9], {}, [3, 3])
  await expectTensor(F.concat([F.zeros([2, 0]), m23()], 1), [1, 2, 3, 4, 5, 6], {}, [2, 3])
  throwsFovea(() => F.concat([m23(), F.zeros([2, 2])], 0), 'concat', 'f32[2,3], f32[2,2]')
  throwsFovea(() => F.concat([m23(), i32([[1, 2, 3]])], 0), 'concat', 'i32[1,3]')
  throwsFovea(() => F.stack([m23(), F.zeros([3, 2])]), 'stack', 'f32[2,3], f32[3,2]')
})

test('gradients: strided slice, pad, concat, flip', async () => {
  const x = randn([4, 5], 2)
  await checkGrads((a) => F.slice(a, [1, 0], [4, 5], [2, 3]), [x], { secondOrder: true })
  await checkGrads((a) => F.slice(a, [-3], [100]), [x])
  await checkGrads((a) => F.pad(a, [[1, 2], [0, 1]], 3), [x], { secondOrder: true })
  await checkGrads((a, b) => F.concat([a, b], 1), [x, randn([4, 2], 3)], { secondOrder: true })
  await checkGrads((a) => F.mul(F.flip(a, [0, 1]), a), [x], { secondOrder: true })
  await checkGrads((a) => F.split(a, [2, 3], 1)[1]!, [x])
})

test('gradients: tile and repeat', async () => {
  const x = randn([2, 3], 4)
  await checkGrads((a) => F.tile(a, [2, 1, 2]), [x], { secondOrder: true })
  await checkGrads((a) => F.repeat(a, 2, 1), [x], { secondOrder: true })
  await checkGrads((a) => F.repeat(a, [3, 0, 1], 1), [x], { secondOrder: true })
  await checkGrads((a) => F.repeat(a, 2), [x])
})

test.run()
