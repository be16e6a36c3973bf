import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { indexAxis } from '../../ops/shape/index-axis.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

// JAX reference values (jax.nn.softmax / log_softmax / one_hot); see test/fixtures/reduce_numpy.py.
const ref = JSON.parse(readFileSync(new URL('../fixtures/reduce_numpy.json', import.meta.url), 'utf8'))
const x234 = F.tensor(Float32Array.from(ref.x as number[]), { shape: ref.shape })
const labels = (data: number[], shape?: number[]) => F.tensor(data, { dtype: 'int32', shape })

const softmaxRef = (row: number[]): number[] => {
  const m = Math.max(...row)
  const e = row.map((v) => Math.exp(v - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / s)
}

test('softmax: hand-checked rows, default last axis, rows sum to 1', async () => {
  const x = F.tensor([[1, 2, 3], [0, 0, 0], [-1, 5, 2]])
  const y = F.softmax(x)
  await expectTensor(y, [[1, 2, 3], [0, 0, 0], [-1, 5, 2]].flatMap(softmaxRef), { rtol: 1e-6 }, [3, 3])
  await expectTensor(F.sum(y, -1), [1, 1, 1], { rtol: 1e-6 })
  assertClose(await F.toArray(F.softmax(x, 0)), await F.toArray(F.transpose(F.softmax(F.transpose(x), -1))), { rtol: 1e-6 })
})

test('softmax and logSoftmax match JAX for single, negative and listed axes', async () => {
  await expectTensor(F.softmax(x234), ref.softmax['-1'], { rtol: 2e-6, atol: 1e-7 }, [2, 3, 4])
  await expectTensor(F.softmax(x234, 0), ref.softmax['0'], { rtol: 2e-6, atol: 1e-7 })
  await expectTensor(F.softmax(x234, [1, 2]), ref.softmax['[1,2]'], { rtol: 2e-6, atol: 1e-7 })
  await expectTensor(F.logSoftmax(x234), ref.logSoftmax['-1'], { rtol: 2e-6, atol: 2e-6 })
  await expectTensor(F.logSoftmax(x234, 1), ref.logSoftmax['1'], { rtol: 2e-6, atol: 2e-6 })
})

test('softmax and logSoftmax are stable for large magnitudes and -inf entries', async () => {
  await expectTensor(F.softmax(F.tensor([1000, 1000, -1000])), [0.5, 0.5, 0])
  await expectTensor(F.softmax(F.tensor([-1e4, -1e4])), [0.5, 0.5])
  // logSoftmax stays finite where softmax underflows to 0.
  await expectTensor(F.logSoftmax(F.tensor([0, -1000])), [0, -1000], { rtol: 1e-7 })
  await expectTensor(F.logSoftmax(F.tensor([1000, 0])), [0, -1000], { rtol: 1e-7 })
  // -inf entries (masked logits) get probability 0 and log-probability -inf.
  await expectTensor(F.softmax(F.tensor([0, -Infinity, 0])), [0.5, 0, 0.5])
  await expectTensor(F.logSoftmax(F.tensor([0, -Infinity])), [0, -Infinity])
  // A row of all -inf has no distribution: NaN, as in JAX and PyTorch.
  await expectTensor(F.softmax(F.tensor([[-Infinity, -Infinity], [0, 0]])), [NaN, NaN, 0.5, 0.5])
})

test('oneHot matches jax.nn.one_hot; out-of-range indices give all-zero rows', async () => {
  const y = F.oneHot(labels(ref.oneHot.labels, ref.oneHot.labelsShape), ref.oneHot.numClasses)
  assert.is(y.dtype, 'float32')
  await expectTensor(y, ref.oneHot.value, {}, [2, 3, 4])
  await expectTensor(F.oneHot(labels([2, -1, 3, 0]), 3), [0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0], {}, [4, 3])
  const asInt = F.oneHot(labels([1]), 2, 'int32')
  assert.is(asInt.dtype, 'int32')
  await expectTensor(asInt, [0, 1])
  assert.is(F.oneHot(labels([1]), 2, 'bool').dtype, 'bool')
  await expectTensor(F.oneHot(F.tensor(5, { dtype: 'int32' }), 3), [0, 0, 0], {}, [3])
  await expectTensor(F.oneHot(labels([1, 2]), 0), [], {}, [2, 0])
})

test('oneHot under vmap matches a per-row loop', async () => {
  const idx = labels([0, 3, 1, -1, 2, 2], [2, 3])
  const batched = F.vmap((l: Tensor) => F.oneHot(l, 4), 1)(idx) as Tensor
  const looped = F.stack([0, 1, 2].map((i) => F.oneHot(indexAxis(idx, i, 1), 4)))
  assertClose(await F.toArray(batched), await F.toArray(looped))
})

const gradCases: [string, (x: Tensor) => Tensor][] = [
  ['softmax', (x) => F.softmax(x)],
  ['softmax axis 0', (x) => F.softmax(x, 0)],
  ['softmax over [1,2]', (x) => F.softmax(x, [1, 2])],
  ['logSoftmax', (x) => F.logSoftmax(x)],
  ['logSoftmax axis 1', (x) => F.logSoftmax(x, 1)],
]
for (const [name, f] of gradCases) {
  test(`gradient of ${name} matches finite differences (first and second order)`, async () => {
    await checkGrads(f, [randn([2, 3, 4], 21)], { secondOrder: true })
  })
}

test('cross-entropy gradient through logSoftmax and oneHot is softmax - oneHot', async () => {
  const logits = F.tensor([[1, 2, 3], [0.5, -1, 0]])
  const target = F.oneHot(labels([2, 0]), 3)
  const loss = (z: Tensor) => F.neg(F.sum(F.mul(F.logSoftmax(z), target)))
  const g = F.grad(loss)(logits)
  const p = [[1, 2, 3], [0.5, -1, 0]].flatMap(softmaxRef)
  await expectTensor(g, p.map((v, i) => v - [0, 0, 1, 1, 0, 0][i]!), { rtol: 1e-6, atol: 1e-7 })
  // The softmax Jacobian has zero row sums (shift invariance): the gradient of sum(softmax) is 0.
  await expectTensor(F.grad((z: Tensor) => F.sum(F.softmax(z)))(logits), [0, 0, 0, 0, 0, 0], { atol: 1e-6 })
})

test('vmap of softmax and logSoftmax matches a per-row loop', async () => {
  const x = randn([3, 4, 5], 4)
  for (const f of [(t: Tensor) => F.softmax(t), (t: Tensor) => F.softmax(t, 0), (t: Tensor) => F.logSoftmax(t, [0, 1])]) {
    for (const axis of [0, 1, 2]) {
      const batched = F.vmap(f, axis)(x) as Tensor
      const looped = F.stack(Array.from({ length: x.shape[axis]! }, (_, i) => f(indexAxis(x, i, axis))))
      assert.equal([...batched.shape], [...looped.shape])
      assertClose(await F.toArray(batched), await F.toArray(looped), { rtol: 1e-6, atol: 1e-7 })
    }
  }
})

test('bad input names the op, the shape and the dtype', () => {
  const x = F.zeros([2, 3])
  throwsFovea(() => F.softmax(x, 2), 'softmax', 'axis 2', 'f32[2,3]')
  throwsFovea(() => F.logSoftmax(x, [0, -2]), 'logSoftmax', 'duplicate axes', 'f32[2,3]')
  throwsFovea(() => F.softmax(F.zeros([2], 'int32')), 'softmax', 'i32[2]', "cast(x, 'float32')")
  throwsFovea(() => F.logSoftmax(F.zeros([2], 'bool')), 'logSoftmax', 'bool[2]')
  throwsFovea(() => F.oneHot(F.zeros([3]), 4), 'oneHot', 'indices must be int32', 'f32[3]')
  throwsFovea(() => F.oneHot(labels([1]), -1), 'oneHot', 'numClasses', '-1', 'i32[1]')
  throwsFovea(() => F.oneHot(labels([1]), 2.5), 'oneHot', 'numClasses', '2.5')
  throwsFovea(() => F.oneHot(labels([1]), 2, 'float64' as never), 'oneHot', 'float64', 'i32[1]')
})

test.run()
