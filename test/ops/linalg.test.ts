import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { gemm, rowMajor, transposed } from '../../ops/linalg/gemm.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

/** Naive batched matmul over already broadcast operands (host arrays), for reference values. */
const naiveMatmul = (a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, aBatch = batch, bBatch = batch): number[] => {
  const out: number[] = []
  for (let t = 0; t < batch; t++) {
    const ao = (aBatch === 1 ? 0 : t) * m * k
    const bo = (bBatch === 1 ? 0 : t) * k * n
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let p = 0; p < k; p++) s += a[ao + i * k + p]! * b[bo + p * n + j]!
        out.push(s)
      }
    }
  }
  return out
}

test('matmul of 2-D matrices matches hand-computed values', async () => {
  const a = F.tensor([[1, 2, 3], [4, 5, 6]])
  const b = F.tensor([[7, 8], [9, 10], [11, 12]])
  await expectTensor(F.matmul(a, b), [[58, 64], [139, 154]], {}, [2, 2])
})

test('matmul promotes 1-D operands and removes the added axis', async () => {
  const m = F.tensor([[1, 2, 3], [4, 5, 6]])
  await expectTensor(F.matmul(F.tensor([1, 0, -1]), F.tensor([[1, 2], [3, 4], [5, 6]])), [-4, -4], {}, [2])
  await expectTensor(F.matmul(m, F.tensor([1, 1, 1])), [6, 15], {}, [2])
  await expectTensor(F.matmul(F.tensor([1, 2, 3]), F.tensor([4, 5, 6])), [32], {}, [])
  // A 1-D operand against a batch: [k] @ [B,k,n] → [B,n]
  const batch = F.reshape(F.arange(0, 12, 1, 'float32'), [2, 3, 2])
  await expectTensor(F.matmul(F.tensor([1, 1, 1]), batch), [6, 9, 24, 27], {}, [2, 2])
  await expectTensor(F.matmul(batch, F.tensor([1, -1])), [-1, -1, -1, -1, -1, -1], {}, [2, 3])
})

test('batched matmul broadcasts batch dimensions', async () => {
  const a = randn([2, 1, 3, 4], 1)
  const b = randn([3, 4, 5], 2)
  const y = F.matmul(a, b)
  assert.equal([...y.shape], [2, 3, 3, 5])
  const ad = await F.toArray(F.broadcastTo(a, [2, 3, 3, 4])) as Float32Array
  const bd = await F.toArray(F.broadcastTo(b, [2, 3, 4, 5])) as Float32Array
  assertClose(await F.toArray(y), naiveMatmul(ad, bd, 6, 3, 4, 5), { rtol: 1e-5, atol: 1e-5 })
  // A shared right operand takes the folded path: [B,m,k] @ [k,n].
  const c = randn([4, 6], 3)
  const y2 = F.matmul(a, c)
  assert.equal([...y2.shape], [2, 1, 3, 6])
  assertClose(await F.toArray(y2), naiveMatmul(await F.toArray(a) as Float32Array, await F.toArray(c) as Float32Array, 2, 3, 4, 6, 2, 1), { rtol: 1e-5, atol: 1e-5 })
})

test('matmul with a zero-size inner dimension gives zeros', async () => {
  await expectTensor(F.matmul(F.zeros([2, 0]), F.zeros([0, 3])), [0, 0, 0, 0, 0, 0], {}, [2, 3])
  await expectTensor(F.matmul(F.zeros([0, 4]), F.zeros([4, 3])), [], {}, [0, 3])
  await expectTensor(F.matmul(F.zeros([2, 0, 4]), F.zeros([4, 3])), [], {}, [2, 0, 3])
})

test('gemm handles edges, strided (transposed) views and accumulation', () => {
  // Sizes that are not multiples of the 4×4 tile and exceed one k block (KC = 256).
  for (const [m, n, k] of [[1, 1, 1], [5, 7, 3], [9, 13, 300], [67, 5, 258]] as const) {
    const a = randn([k, m], m).data as Float32Array // stored as Aᵀ
    const b = randn([k, n], n).data as Float32Array
    const c = new Float32Array(m * n).fill(1)
    gemm(m, n, k, transposed(a, 0, m), rowMajor(b, 0, n), { data: c, offset: 0, ld: n }, true)
    const aRows = new Float32Array(m * k)
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) aRows[i * k + p] = a[p * m + i]!
    assertClose(c, naiveMatmul(aRows, b, 1, m, k, n).map((v) => v + 1), { rtol: 1e-4, atol: 1e-4 }, `${m}x${n}x${k}`)
  }
})

test('matmul gradients, including broadcast batch dimensions and 1-D operands', async () => {
  await checkGrads(F.matmul, [randn([3, 4], 1), randn([4, 2], 2)], { secondOrder: true })
  await checkGrads(F.matmul, [randn([2, 1, 3, 4], 3), randn([3, 4, 2], 4)])
  await checkGrads(F.matmul, [randn([4], 5), randn([2, 4, 3], 6)])
  await checkGrads(F.matmul, [randn([2, 3, 4], 7), randn([4], 8)])
  await checkGrads(F.matmul, [randn([4], 9), randn([4], 10)])
})

test('linear is x · weightᵀ + bias (PyTorch F.linear) for batched, 1-D and bias-free inputs, with gradients', async () => {
  const w = randn([4, 3], 31)
  const b = randn([4], 32)
  for (const x of [randn([5, 3], 33), randn([2, 5, 3], 34), randn([3], 35)]) {
    const expected = F.add(F.matmul(x, F.transpose(w)), b)
    assertClose(await F.toArray(F.linear(x, w, b)), await F.toArray(expected), { rtol: 0, atol: 0 })
    assert.equal(F.linear(x, w, b).shape, expected.shape)
  }
  assertClose(await F.toArray(F.linear(randn([5, 3], 36), w)), await F.toArray(F.matmul(randn([5, 3], 36), F.transpose(w))), { rtol: 0, atol: 0 })
  await checkGrads(F.linear, [randn([5, 3], 37), w, b], { secondOrder: true })
  await checkGrads((x, v) => F.linear(x, v), [randn([2, 3], 38), w])
  throwsFovea(() => F.linear(randn([5, 4], 39), w, b), 'linear', 'f32[5,4]', 'f32[4,3]')
  throwsFovea(() => F.linear(randn([5, 3], 40), w, randn([3], 41)), 'linear', 'bias [4]', 'f32[3]')
  throwsFovea(() => F.linear(F.zeros([5, 3], 'int32'), w), 'linear', 'i32[5,3]', 'float32')
})

/** Element i of axis `axis`, read on the host (independent of the ops under test). */
const pick = async (x: Tensor, i: number, axis = 0): Promise<Tensor> => {
  const front = await F.toArray(F.moveAxis(x, axis, 0))
  const shape = x.shape.filter((_, d) => d !== axis)
  const inner = shape.reduce((p, d) => p * d, 1)
  return F.tensor(front.slice(i * inner, (i + 1) * inner) as Float32Array, { shape })
}

/** Stacks f(0..n-1) on the host. */
const loop = async (n: number, f: (i: number) => Promise<Tensor>): Promise<number[]> => {
  const parts: number[] = []
  for (let i = 0; i < n; i++) parts.push(...(await F.toArray(await f(i))))
  return parts
}

test('vmap of matmul matches a loop over the batch', async () => {
  const a = randn([3, 2, 4], 11)
  const b = randn([3, 4, 5], 12)
  const shared = randn([4, 5], 13)
  const vecs = randn([4, 3], 14) // mapped on axis 1
  const stackA = randn([2, 2, 4], 15)
  await expectTensor(F.vmap(F.matmul)(a, b), await loop(3, async (i) => F.matmul(await pick(a, i), await pick(b, i))), { rtol: 1e-6 }, [3, 2, 5])
  await expectTensor(F.vmap(F.matmul, [0, null])(a, shared), await loop(3, async (i) => F.matmul(await pick(a, i), shared)), { rtol: 1e-6 })
  // Different logical ranks: [2,4] @ [4] per element, and a 3-D unbatched operand against batched matrices.
  await expectTensor(F.vmap(F.matmul, [0, 1])(a, vecs), await loop(3, async (i) => F.matmul(await pick(a, i), await pick(vecs, i, 1))), { rtol: 1e-6 }, [3, 2])
  await expectTensor(F.vmap((x: Tensor) => F.matmul(stackA, x))(b), await loop(3, async (i) => F.matmul(stackA, await pick(b, i))), { rtol: 1e-6 }, [3, 2, 2, 5])
  const b4 = randn([3, 2, 4, 5], 16)
  await expectTensor(F.vmap(F.matmul)(a, b4), await loop(3, async (i) => F.matmul(await pick(a, i), await pick(b4, i))), { rtol: 1e-6 }, [3, 2, 2, 5])
})

test('matmul rejects bad inputs with messages naming the op and shapes', () => {
  throwsFovea(() => F.matmul(F.zeros([2, 3]), F.zeros([4, 5])), 'matmul', 'f32[2,3]', 'f32[4,5]', 'inner dimensions')
  throwsFovea(() => F.matmul(F.zeros([3]), F.zeros([4])), 'matmul', 'f32[3]', 'f32[4]')
  throwsFovea(() => F.matmul(F.zeros([2, 2, 3]), F.zeros([3, 3, 2])), 'matmul', 'batch', 'f32[2,2,3]', 'f32[3,3,2]')
  throwsFovea(() => F.matmul(F.zeros([]), F.zeros([3])), 'matmul', 'rank', 'f32[]')
  throwsFovea(() => F.matmul(F.zeros([2, 2], 'int32'), F.zeros([2, 2], 'int32')), 'matmul', 'i32[2,2]', 'float32')
})

test.run()
