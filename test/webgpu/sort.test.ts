import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { randn, rng } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('sort')

// Sorted values are copies of input elements, so floats must match exactly too.
const exact = { rtol: 0, atol: 0 }

/** Float data drawn from `distinct` values only, so most elements tie (stability shows in the indices). */
const ties = (shape: readonly number[], seed: number, distinct: number): F.Concrete => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Float32Array.from({ length: n }, () => Math.floor(r() * distinct) - distinct / 2), { shape })
}

const bothWays = (x: F.Tensor, axis: number): F.Tensor[] => [
  F.sort(x, axis), F.argsort(x, axis), F.sort(x, axis, { descending: true }), F.argsort(x, axis, { descending: true }),
]

if (run) {
  // 5000 pads to 8192, past the 4096-pair tile of workgroup memory: the global merge path.
  test('sort/argsort/topk rows of length 1, 2, 3, 17, 64, 1000, 5000, both directions', async () => {
    for (const [i, n] of [1, 2, 3, 17, 64, 1000, 5000].entries()) {
      await expectParity(() => {
        const x = randn([3, n], i)
        const k = Math.min(n, 5)
        const { values, indices } = F.topk(x, k)
        return [...bothWays(x, -1), values, indices]
      }, exact, `n = ${n}`)
    }
  })

  test('ties keep the lower index first (exact indices), short and long rows, every axis', async () => {
    await expectParity(() => bothWays(ties([4, 33], 7, 4), 1), exact, 'short rows')
    await expectParity(() => bothWays(ties([2, 5000], 8, 7), 1), exact, 'long rows')
    await expectParity(() => {
      const x = ties([5, 6, 7], 9, 3)
      return [...bothWays(x, 0), ...bothWays(x, 1), ...bothWays(x, -1)]
    }, exact, 'axes of a rank-3 tensor')
    await expectParity(() => {
      const { values, indices } = F.topk(ties([6, 4100], 10, 5), 3000, 1)
      return [values, indices]
    }, exact, 'topk with ties on long rows')
  })

  // Rows past one tile with k up to half a tile take the top-k rounds (best runs of every tile, merged
  // and cut again); k = 2049 needs 4096-pair runs and sorts whole. The CPU reference sorts every row.
  test('topk of long rows: tile rounds for k up to half a tile, ties, NaN, middle axis', async () => {
    const cases: [string, () => F.Tensor, number, number][] = [
      ['an RPN level, 3 rows of 201,600 (50 -> 13 -> 4 -> 1 tiles)', () => ties([3, 201_600], 30, 1000), 1000, 1],
      ['one tile and one element', () => randn([2, 4097], 31), 3, 1],
      ['k = 1', () => randn([2, 9000], 32), 1, 1],
      ['k = 2048 (runs of half a tile)', () => randn([2, 9000], 33), 2048, 1],
      ['k = 2049 (sorted whole)', () => randn([2, 9000], 34), 2049, 1],
      ['along axis 0', () => ties([20_000, 3], 35, 40), 100, 0],
    ]
    for (const [what, make, k, axis] of cases) {
      await expectParity(() => Object.values(F.topk(make(), k, axis)), exact, what)
    }
    const withNaN = Float32Array.from({ length: 12_000 }, (_, i) => (i % 997 === 5 ? NaN : Math.sin(i)))
    await expectParity(() => Object.values(F.topk(F.tensor(withNaN), 20)), exact, 'NaN first, in index order')
  })

  test('non-contiguous inputs and middle axes', async () => {
    await expectParity(() => {
      const x = F.transpose(randn([7, 5, 9], 11), [2, 0, 1])
      const s = F.slice(randn([20, 30], 12), [1, 2], [19, 29], [2, 3])
      return [...bothWays(x, 1), ...bothWays(s, 0), F.topk(x, 4, 0).indices]
    }, exact)
  })

  test('NaN ordered as the largest value, ±Inf, -0 and +0 tie and keep their bits', async () => {
    const specials = [NaN, 1, -Infinity, Infinity, -0, 0, NaN, -1, 0, -0, 3.5e38, -3.5e38, 1e-45, -1e-45]
    await expectParity(() => bothWays(F.tensor(specials), 0), exact)
    await expectParity(() => {
      const r = rng(13)
      const data = Float32Array.from({ length: 3 * 1500 }, () => {
        const u = r()
        return u < 0.1 ? NaN : u < 0.15 ? Infinity : u < 0.2 ? -Infinity : u < 0.3 ? -0 : u < 0.4 ? 0 : u - 0.7
      })
      const x = F.tensor(data, { shape: [3, 1500] })
      return [...bothWays(x, 1), ...bothWays(x, 0)]
    }, exact, 'random specials')
    // assertClose calls -0 and +0 equal: compare the signs of zeros directly.
    const x = F.tensor([0, -0, 1, -0, 0])
    await F.setBackend('webgpu')
    try {
      // Zeros tie, so they keep input order: [0, -0, -0, 0, 1].
      const got = await F.toArray(F.sort(x))
      assert.equal([...got].map((z) => Object.is(z, -0)), [false, true, true, false, false], 'zeros keep their order and sign')
    } finally {
      await F.setBackend('cpu')
    }
  })

  test('int32 (incl. extremes) and bool', async () => {
    await expectParity(() => {
      const r = rng(14)
      const data = Int32Array.from({ length: 4 * 700 }, (_, i) => (i % 9 === 0 ? -2147483648 : i % 11 === 0 ? 2147483647 : Math.floor((r() - 0.5) * 4e9)))
      const x = F.tensor(data, { shape: [4, 700], dtype: 'int32' })
      return [...bothWays(x, 1), ...bothWays(x, 0), F.topk(x, 10).values]
    })
    await expectParity(() => {
      const x = F.tensor(Array.from({ length: 2 * 5000 }, (_, i) => (i * 7) % 3), { shape: [2, 5000], dtype: 'int32' })
      return bothWays(x, 1)
    }, {}, 'long int32 rows with ties')
    await expectParity(() => bothWays(F.greater(randn([5, 40], 15), 0.2), 1), {}, 'bool')
  })

  test('zero-size tensors', async () => {
    await expectParity(() => [...bothWays(F.zeros([0, 5]), 1), ...bothWays(F.zeros([3, 0]), 1), ...bothWays(F.zeros([3, 0, 2]), 0)])
    await expectParity(() => Object.values(F.topk(randn([4, 6], 16), 0)))
  })

  // One row of 1e6 elements (pads to 2^20): the tiled sort, then eight merge sizes of global steps.
  test('a 1e6-element row (topk with k = n sorts descending once)', async () => {
    await expectParity(() => {
      const { values, indices } = F.topk(ties([1_000_000], 17, 20000), 1_000_000)
      return [values, indices]
    }, exact)
  })

  test('gradients on webgpu equal those on cpu (sort values, topk values)', async () => {
    await expectParity(() => {
      const x = randn([6, 40], 18)
      const w = randn([6, 40], 19)
      return F.grad((p: F.Tensor) => F.sum(F.mul(F.sort(p, 0, { descending: true }), w)))(x)
    })
    await expectParity(() => {
      const x = ties([3, 2000], 20, 50)
      const w = randn([3, 7], 21)
      return F.grad((p: F.Tensor) => F.sum(F.mul(F.square(F.topk(p, 7).values), w)))(x)
    })
  })
}

test.run()
