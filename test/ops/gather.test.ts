import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

const i32 = (data: F.NestedArray) => F.tensor(data, { dtype: 'int32' })
const m34 = () => F.reshape(F.arange(12, undefined, 1, 'float32'), [3, 4])

test('take follows NumPy take', async () => {
  const x = m34()
  // np.take(np.arange(12).reshape(3,4), [5, 0, 11]) indexes the flattened array.
  await expectTensor(F.take(x, i32([5, 0, 11])), [5, 0, 11], {}, [3])
  // np.take(x, [[2, 0]], axis=1) → shape (3, 1, 2)
  await expectTensor(F.take(x, i32([[2, 0]]), 1), [2, 0, 6, 4, 10, 8], {}, [3, 1, 2])
  // A scalar index drops the axis, repeated indices repeat rows.
  await expectTensor(F.take(x, i32(1), 0), [4, 5, 6, 7], {}, [4])
  await expectTensor(F.take(x, i32([2, 2]), -2), [8, 9, 10, 11, 8, 9, 10, 11], {}, [2, 4])
  const labels = F.take(i32([7, 8, 9]), i32([2, 0]))
  assert.is(labels.dtype, 'int32')
  await expectTensor(labels, [9, 7])
  await expectTensor(F.take(F.tensor([true, false]), i32([1, 1, 0])), [0, 0, 1])
  assert.equal([...F.take(x, F.zeros([0], 'int32'), 1).shape], [3, 0])
  assert.equal([...F.take(F.zeros([0, 2]), F.zeros([0], 'int32')).shape], [0])
})

test('take refuses bad indices with the op, index and axis size', () => {
  const x = m34()
  throwsFovea(() => F.take(x, i32([0, 4]), 1), 'take', 'index 4', 'axis 1 of size 4', 'f32[3,4]')
  throwsFovea(() => F.take(x, i32([-1]), 0), 'take', 'index -1', 'axis 0 of size 3')
  throwsFovea(() => F.take(F.zeros([0, 2]), i32([0])), 'take', 'index 0', 'size 0')
  throwsFovea(() => F.take(x, F.tensor([0, 1]), 0), 'take', 'int32', 'f32[3,4], f32[2]')
  throwsFovea(() => F.take(x, i32([0]), 2), 'take', 'axis 2', 'rank 2')
})

test('takeAlongAxis follows NumPy, broadcasting off the axis', async () => {
  const x = F.tensor([[10, 30, 20], [60, 40, 50]])
  // np.take_along_axis(x, np.argsort(x, 1), 1) == np.sort(x, 1)
  await expectTensor(F.takeAlongAxis(x, F.argsort(x, 1), 1), [10, 20, 30, 40, 50, 60])
  await expectTensor(F.takeAlongAxis(x, i32([[2], [0]]), 1), [20, 60], {}, [2, 1])
  // Indices of shape [2, 1] broadcast over the columns: out[i, j] = x[idx[i], j].
  await expectTensor(F.takeAlongAxis(x, i32([[1], [0]]), 0), [60, 40, 50, 10, 30, 20], {}, [2, 3])
  throwsFovea(() => F.takeAlongAxis(x, i32([1, 0]), 1), 'takeAlongAxis', 'rank', 'f32[2,3], i32[2]')
  throwsFovea(() => F.takeAlongAxis(x, i32([[0, 0], [0, 0], [0, 0]]), 1), 'takeAlongAxis', 'broadcast', 'f32[2,3], i32[3,2]')
  throwsFovea(() => F.takeAlongAxis(x, i32([[3], [0]]), 1), 'takeAlongAxis', 'index 3', 'axis 1 of size 3')
  throwsFovea(() => F.takeAlongAxis(x, i32([[0], [0]]), 2), 'takeAlongAxis', 'axis 2')
})

test('gather picks rows by (batch, index) pairs', async () => {
  // boxes: f32[2, 3, 4]; box b,n has coordinates 100b + 10n + [0..3].
  const boxes = F.tensor(Float32Array.from({ length: 24 }, (_, i) => 100 * Math.floor(i / 12) + 10 * Math.floor((i % 12) / 4) + (i % 4)), { shape: [2, 3, 4] })
  const picked = F.gather(boxes, i32([[1, 2], [0, 0], [1, 0]]))
  await expectTensor(picked, [120, 121, 122, 123, 0, 1, 2, 3, 100, 101, 102, 103], {}, [3, 4])
  // k equal to the rank picks scalars; k = 1 is take along axis 0; leading index dims are kept.
  await expectTensor(F.gather(boxes, i32([[0, 1, 3], [1, 2, 0]])), [13, 120], {}, [2])
  const rows = await F.toArray(boxes)
  await expectTensor(F.gather(boxes, i32([[[1]], [[0]]])), [...rows.slice(12), ...rows.slice(0, 12)], {}, [2, 1, 3, 4])
  assert.equal([...F.gather(boxes, F.zeros([0, 2], 'int32')).shape], [0, 4])
  throwsFovea(() => F.gather(boxes, i32([[2, 0]])), 'gather', 'index 2', 'axis 0 of size 2', 'f32[2,3,4]')
  throwsFovea(() => F.gather(boxes, i32([[0, 3]])), 'gather', 'index 3', 'axis 1 of size 3')
  throwsFovea(() => F.gather(boxes, i32([[0, 0, 0, 0]])), 'gather', 'i32[1,4]', 'f32[2,3,4]')
  throwsFovea(() => F.gather(boxes, F.tensor([[0, 0]])), 'gather', 'int32', 'f32[1,2]')
})

test('scatterAdd follows PyTorch scatter_add', async () => {
  // torch.zeros(3, 5).scatter_add(0, torch.tensor([[0, 1, 2, 0, 0]]), torch.ones(1, 5))
  const out = F.scatterAdd(F.zeros([3, 5]), i32([[0, 1, 2, 0, 0]]), F.ones([1, 5]), 0)
  await expectTensor(out, [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0], {}, [3, 5])
  // Repeated indices accumulate; indices smaller than x off the axis touch only their rows.
  const acc = F.scatterAdd(F.tensor([[1, 1, 1], [2, 2, 2]]), i32([[2, 2, 0]]), F.tensor([[5, 6, 7]]), 1)
  await expectTensor(acc, [8, 1, 12, 2, 2, 2])
  const ints = F.scatterAdd(i32([0, 0]), i32([1, 1, 1]), i32([1, 2, 3]), 0)
  assert.is(ints.dtype, 'int32')
  await expectTensor(ints, [0, 6])
  await expectTensor(F.scatterAdd(F.ones([2]), F.zeros([0], 'int32'), F.zeros([0]), 0), [1, 1])
  throwsFovea(() => F.scatterAdd(F.zeros([3]), i32([0, 1]), F.ones([3]), 0), 'scatterAdd', 'f32[3], i32[2], f32[3]')
  throwsFovea(() => F.scatterAdd(F.zeros([3]), i32([0]), i32([1]), 0), 'scatterAdd', 'f32[3], i32[1], i32[1]')
  throwsFovea(() => F.scatterAdd(F.zeros([3]), i32([3]), F.ones([1]), 0), 'scatterAdd', 'index 3', 'axis 0 of size 3')
  throwsFovea(() => F.scatterAdd(F.zeros([2, 2]), i32([[0, 0, 0]]), F.ones([1, 3]), 0), 'scatterAdd', 'i32[1,3]', 'f32[2,2]')
  throwsFovea(() => F.scatterAdd(F.tensor([true]), i32([0]), F.tensor([true]), 0), 'scatterAdd', 'bool[1]')
})

test('nonzero has a static capacity and a true count', async () => {
  const x = F.tensor([[0, 1.5, 0], [NaN, 0, -2]])
  const { indices, count } = F.nonzero(x, 4)
  assert.equal([...indices.shape], [4, 2])
  assert.is(indices.dtype, 'int32')
  await expectTensor(indices, [0, 1, 1, 0, 1, 2, -1, -1])
  assert.is(await F.item(count), 3)
  // Fewer rows than non-zeros: the first ones in row-major order, but the full count.
  const small = F.nonzero(F.tensor([true, true, false, true]), 2, 9)
  await expectTensor(small.indices, [0, 1], {}, [2, 1])
  assert.is(await F.item(small.count), 3)
  const none = F.nonzero(F.zeros([0, 3], 'int32'), 2)
  await expectTensor(none.indices, [-1, -1, -1, -1], {}, [2, 2])
  assert.is(await F.item(none.count), 0)
  throwsFovea(() => F.nonzero(x, -1), 'nonzero', 'capacity', 'f32[2,3]')
  // Static shapes make it mappable: one row of coordinates and one count per batch element.
  const mapped = F.vmap((t: Tensor) => F.nonzero(t, 2))(F.tensor([[0, 3, 4], [5, 0, 0]]))
  await expectTensor(mapped.indices, [1, 2, 0, -1], {}, [2, 2, 1])
  await expectTensor(mapped.count, [2, 1], {}, [2])
})

test('gradients: take, takeAlongAxis, gather (repeated indices accumulate)', async () => {
  const x = randn([3, 4], 1)
  await checkGrads((a) => F.take(a, i32([[2, 0], [2, 2]]), 1), [x], { secondOrder: true })
  await checkGrads((a) => F.mul(F.take(a, i32([5, 5, 11])), 2), [x])
  await checkGrads((a) => F.takeAlongAxis(a, i32([[3, 3, 0], [1, 2, 2], [0, 0, 0]]), 1), [x], { secondOrder: true })
  await checkGrads((a) => F.takeAlongAxis(a, i32([[0, 1, 2, 2]]), 0), [x])
  await checkGrads((a) => F.gather(a, i32([[1, 3], [1, 3], [0, 0]])), [x], { secondOrder: true })
  await checkGrads((a) => F.gather(F.reshape(a, [3, 2, 2]), i32([[2], [0]])), [x])
})

test('gradients: scatterAdd with respect to x and updates', async () => {
  const x = randn([3, 4], 2)
  const updates = randn([2, 4], 3)
  const indices = i32([[0, 2, 2, 1], [0, 0, 2, 1]])
  await checkGrads((a, u) => F.scatterAdd(F.mul(a, a), indices, u, 0), [x, updates], { secondOrder: true })
  await checkGrads((a, u) => F.mul(F.scatterAdd(a, i32([[1, 1], [0, 3]]), F.mul(u, u), 1), a), [x, randn([2, 2], 4)], { secondOrder: true })
})

test('take, gather and takeAlongAxis under vmap match a loop', async () => {
  const x = randn([2, 3, 4], 5)
  const idx = i32([[2, 0, 2], [1, 1, 0]])
  const loop = (f: (i: number) => Tensor) => F.stack([0, 1].map(f))
  const row = (t: Tensor, b: number) => F.reshape(F.slice(t, [b], [b + 1]), t.shape.slice(1))
  // x mapped, indices shared; indices mapped, x shared; both mapped.
  await expectTensor(F.vmap((a: Tensor) => F.take(a, idx, 1), [0])(x), await F.toArray(loop((b) => F.take(row(x, b), idx, 1))))
  await expectTensor(F.vmap((i: Tensor) => F.take(x, i, 2))(idx), await F.toArray(loop((b) => F.take(x, row(idx, b), 2))))
  const both = F.vmap((a: Tensor, i: Tensor) => F.take(a, i, 1))(x, idx)
  assert.equal([...both.shape], [2, 3, 3])
  await expectTensor(both, await F.toArray(loop((b) => F.take(row(x, b), row(idx, b), 1))))
  const pairs = i32([[[0, 1], [2, 3]], [[1, 0], [1, 1]]])
  await expectTensor(F.vmap((a: Tensor, i: Tensor) => F.gather(a, i))(x, pairs), await F.toArray(loop((b) => F.gather(row(x, b), row(pairs, b)))))
  const along = i32([[[0, 1, 2, 2]], [[2, 2, 2, 0]]])
  await expectTensor(F.vmap((a: Tensor, i: Tensor) => F.takeAlongAxis(a, i, 0))(x, along), await F.toArray(loop((b) => F.takeAlongAxis(row(x, b), row(along, b), 0))))
  // vmap still checks every index.
  throwsFovea(() => F.vmap((a: Tensor, i: Tensor) => F.take(a, i, 1))(x, i32([[0, 0, 0], [0, 4, 0]])), 'take', 'index 4', 'size 4')
})

test('scatterAdd and the transposes of take/gather under vmap match a loop', async () => {
  const x = randn([2, 3, 4], 6)
  const idx = i32([[2, 0], [1, 1]])
  const loop = (f: (i: number) => Tensor) => F.stack([0, 1].map(f))
  const row = (t: Tensor, b: number) => F.reshape(F.slice(t, [b], [b + 1]), t.shape.slice(1))
  const gradTake = (a: Tensor, i: Tensor) => F.grad((t: Tensor) => F.sum(F.square(F.take(t, i, 1))))(a)
  await expectTensor(F.vmap(gradTake)(x, idx), await F.toArray(loop((b) => gradTake(row(x, b), row(idx, b)))))
  const gradGather = (a: Tensor, i: Tensor) => F.grad((t: Tensor) => F.sum(F.square(F.gather(t, i))))(a)
  const pairs = i32([[[0, 1]], [[2, 2]]])
  await expectTensor(F.vmap(gradGather)(x, pairs), await F.toArray(loop((b) => gradGather(row(x, b), row(pairs, b)))))
  const along = i32([[[0, 1, 1, 1]], [[2, 2, 0, 0]]])
  const u = randn([2, 1, 4], 7)
  await expectTensor(F.vmap((a: Tensor, i: Tensor, v: Tensor) => F.scatterAdd(a, i, v, 0))(x, along, u),
    await F.toArray(loop((b) => F.scatterAdd(row(x, b), row(along, b), row(u, b), 0))))
})

test.run()
