import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { checkGrads, expectTensor, randn, rng, throwsFovea } from '../util/check.js'

const i32 = (data: F.NestedArray) => F.tensor(data, { dtype: 'int32' })

test('sort and argsort along any axis, NaN last like NumPy', async () => {
  const x = F.tensor([[3, NaN, 1, 2], [0, -1, -Infinity, 5]])
  // np.sort(x, axis=-1) = [[1,2,3,nan],[-inf,-1,0,5]]
  await expectTensor(F.sort(x), [1, 2, 3, NaN, -Infinity, -1, 0, 5])
  await expectTensor(F.argsort(x), [2, 3, 0, 1, 2, 1, 0, 3])
  // np.sort(x, axis=0) column by column; NaN goes to the bottom.
  await expectTensor(F.sort(x, 0), [0, -1, -Infinity, 2, 3, NaN, 1, 5])
  await expectTensor(F.argsort(x, 0), [1, 1, 1, 0, 0, 0, 0, 1])
  // Descending puts NaN first (it is the largest value, as in PyTorch).
  await expectTensor(F.sort(x, 1, { descending: true }), [NaN, 3, 2, 1, 5, 0, -1, -Infinity])
  assert.is(F.argsort(x).dtype, 'int32')
})

test('sorting is stable in both directions', async () => {
  const x = F.tensor([2, 1, 2, 1, 3, 2])
  await expectTensor(F.argsort(x), [1, 3, 0, 2, 5, 4])
  await expectTensor(F.argsort(x, -1, { descending: true }), [4, 0, 2, 5, 1, 3])
  // Many ties on random data: sorted, and equal values keep increasing indices.
  const r = rng(3)
  const data = Array.from({ length: 200 }, () => Math.floor(r() * 7))
  const order = await F.toArray(F.argsort(F.tensor(data)))
  for (let i = 1; i < order.length; i++) {
    const [a, b] = [data[order[i - 1]!]!, data[order[i]!]!]
    assert.ok(a < b || (a === b && order[i - 1]! < order[i]!), `position ${i}: stable ascending order`)
  }
})

test('sort works on int32, bool and zero-size tensors', async () => {
  const ints = F.sort(i32([[5, -2, 7], [0, 0, -9]]), 1, { descending: true })
  assert.is(ints.dtype, 'int32')
  await expectTensor(ints, [7, 5, -2, 0, 0, -9])
  const flags = F.sort(F.tensor([true, false, true, false]))
  assert.is(flags.dtype, 'bool')
  await expectTensor(flags, [0, 0, 1, 1])
  assert.equal([...F.sort(F.zeros([0, 3]), 1).shape], [0, 3])
  assert.equal([...F.argsort(F.zeros([2, 0]), 1).shape], [2, 0])
  assert.equal([...F.topk(F.zeros([2, 3]), 0).values.shape], [2, 0])
})

test('topk: largest first, ties by lower index', async () => {
  const x = F.tensor([[1, 5, 3, 5, 2], [9, 9, 9, 0, 1]])
  const { values, indices } = F.topk(x, 3)
  await expectTensor(values, [5, 5, 3, 9, 9, 9], {}, [2, 3])
  await expectTensor(indices, [1, 3, 2, 0, 1, 2], {}, [2, 3])
  assert.is(indices.dtype, 'int32')
  const cols = F.topk(x, 1, 0)
  await expectTensor(cols.values, [9, 9, 9, 5, 2], {}, [1, 5])
  await expectTensor(cols.indices, [1, 1, 1, 0, 0])
})

test('sorting refuses bad arguments', () => {
  const x = F.zeros([2, 3])
  throwsFovea(() => F.topk(x, 4), 'topk', 'k = 4', '[0, 3]', 'f32[2,3]')
  throwsFovea(() => F.topk(x, 1, 2), 'topk', 'axis 2')
  throwsFovea(() => F.sort(x, -3), 'sort', 'axis -3')
  throwsFovea(() => F.argsort(F.tensor(1)), 'argsort', 'scalar', 'f32[]')
})

/** Values at least 0.5 apart in a shuffled order, so finite differences never swap two of them. */
const distinct = (shape: number[], seed: number): Tensor => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  const keys = Array.from({ length: n }, (_, i) => [r(), i] as const).sort((a, b) => a[0] - b[0])
  return F.tensor(Float32Array.from(keys, ([, i]) => 0.5 * i - n / 4), { shape })
}

test('gradients of sort values and topk values', async () => {
  const x = distinct([3, 5], 11)
  await checkGrads((a) => F.sort(a), [x], { secondOrder: true })
  await checkGrads((a) => F.mul(F.sort(a, 0, { descending: true }), a), [x], { secondOrder: true })
  await checkGrads((a) => F.topk(a, 2).values, [x], { secondOrder: true })
  await checkGrads((a) => F.topk(a, 3, 0).values, [x])
  // The gradient of the largest value is one at its position.
  const g = F.grad((a: Tensor) => F.sum(F.topk(a, 1).values))(F.tensor([0.5, 3, -1]))
  await expectTensor(g, [0, 1, 0])
})

test('sort under vmap matches a loop', async () => {
  const x = randn([4, 3, 5], 12)
  const loop = (f: (t: Tensor) => Tensor, axis: number) => F.stack([0, 1, 2].map((b) => {
    const begin = [0, 0, 0]
    begin[axis] = b
    const end = [...x.shape]
    end[axis] = b + 1
    return f(F.squeeze(F.slice(x, begin, end), axis))
  }))
  await expectTensor(F.vmap((t: Tensor) => F.sort(t, 0), 1)(x), await F.toArray(loop((t) => F.sort(t, 0), 1)))
  const topIdx = (t: Tensor) => F.topk(t, 2, -1).indices
  await expectTensor(F.vmap(topIdx, 1)(x), await F.toArray(loop(topIdx, 1)))
  const gradSort = (t: Tensor) => F.grad((a: Tensor) => F.sum(F.mul(F.sort(a, -1), F.arange(5, undefined, 1, 'float32'))))(t)
  await expectTensor(F.vmap(gradSort, 1)(x), await F.toArray(loop(gradSort, 1)))
})

test.run()
