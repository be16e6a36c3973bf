/**
 * WebGPU parity for indexing (take, gather, takeAlongAxis, their scatter-add transposes indexAdd,
 * scatterAddNd, scatterAdd), nonzero and flip.
 *
 * Tolerances: gathers, flip and nonzero move data, so they match exactly (the default rtol 1e-5 is never
 * needed). Float scatter-adds accumulate with atomics in whatever order the threads win, so with repeated
 * indices the sums differ from the CPU's sequential order by rounding: those checks use atol 1e-4 on sums
 * of up to a few thousand O(1) terms. int32 scatter-adds are exact. The CPU throws on a bad index; the
 * documented WebGPU behaviour (gather reads 0, scatter drops) is tested on WebGPU alone.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { bind1 } from '../../core/interpreters/stack.js'
import { indexAddRule, scatterAddNdRule } from '../../ops/gather/gather-nd.js'
import { randn, rng } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('gather')

/** Deterministic int32 indices in [0, hi) of `shape`. */
const randint = (shape: readonly number[], hi: number, seed: number): Tensor => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Int32Array.from({ length: n }, () => Math.floor(r() * hi)), { shape, dtype: 'int32' })
}
const i32 = (data: F.NestedArray) => F.tensor(data, { dtype: 'int32' })
const ints = (shape: readonly number[], seed: number) => F.cast(F.mul(randn(shape, seed), 50), 'int32')
const SUM_TOL = { rtol: 1e-5, atol: 1e-4 }

if (run) {
  test('take: several axes, index ranks 0/1/2, flattened, int32 and bool, non-contiguous x', async () => {
    await expectParity(() => {
      const x = randn([3, 5, 4], 1)
      return [F.take(x, i32(2), 1), F.take(x, i32([4, 0, 4, 1]), 1), F.take(x, randint([2, 3], 4, 2), -1),
        F.take(x, randint([3, 2], 3, 3), 0), F.take(x, randint([7], 60, 4))]
    })
    await expectParity(() => {
      const x = F.transpose(randn([4, 6], 5))
      const s = F.slice(randn([9, 8], 6), [1, 0], [9, 8], [2, 3])
      return [F.take(x, i32([5, 1, 1]), 0), F.take(s, i32([[2, 0], [1, 1]]), 1)]
    })
    await expectParity(() => [F.take(ints([5, 3], 7), i32([4, 4, 0]), 0), F.take(F.greater(randn([2, 6], 8), 0), i32([[5], [0]]), 1)])
  })

  test('gather: k = 1, 2, 3, leading index dims, int32', async () => {
    await expectParity(() => {
      const x = randn([2, 3, 4, 5], 9)
      const pairs = F.stack([randint([6], 2, 10), randint([6], 3, 11)], -1)
      return [F.gather(x, randint([4, 1], 2, 12)), F.gather(x, pairs), F.gather(x, F.reshape(F.concat([pairs, randint([6, 1], 4, 13)], -1), [2, 3, 3]))]
    })
    await expectParity(() => F.gather(ints([4, 3], 14), i32([[3, 2], [0, 0], [3, 2]])))
  })

  test('indexAdd and scatterAddNd with heavy duplicates (atomics), float32 and int32', async () => {
    await expectParity(() => {
      const x = randn([3, 5, 2], 15)
      // 4,000 updates into 5 rows: every output element receives hundreds of concurrent adds.
      const idx = randint([4000, 1], 5, 16)
      return [bind1(indexAddRule, [x, idx, randn([3, 4000, 2], 17)], { axis: 1 }), bind1(scatterAddNdRule, [x, i32([[1, 3], [1, 3], [0, 0]]), randn([3, 2], 18)], { axis: 0 })]
    }, SUM_TOL)
    await expectParity(() => {
      const x = ints([4, 3], 19)
      return [bind1(indexAddRule, [x, randint([50, 1], 4, 20), ints([50, 3], 21)], { axis: 0 }), bind1(scatterAddNdRule, [x, randint([30, 2], 3, 22), ints([30], 23)], { axis: 0 })]
    })
  })

  test('takeAlongAxis and scatterAdd: each axis, smaller indices off the axis, duplicates, int32 and bool', async () => {
    await expectParity(() => {
      const x = randn([4, 5, 6], 24)
      return [F.takeAlongAxis(x, randint([4, 7, 6], 5, 25), 1), F.takeAlongAxis(x, randint([2, 5, 6], 4, 26), 0),
        F.takeAlongAxis(x, randint([4, 1, 3], 6, 27), -1), F.takeAlongAxis(F.transpose(x, [2, 0, 1]), randint([6, 4, 2], 5, 28), 2)]
    })
    await expectParity(() => [F.takeAlongAxis(ints([3, 4], 29), randint([3, 4], 4, 30), 1), F.takeAlongAxis(F.less(randn([3, 4], 31), 0), randint([5, 4], 3, 32), 0)])
    await expectParity(() => {
      const x = randn([4, 5, 6], 33)
      return [F.scatterAdd(x, randint([3, 40, 6], 5, 34), randn([3, 40, 6], 35), 1), F.scatterAdd(x, randint([4, 5, 2], 6, 36), randn([4, 5, 2], 37), -1)]
    }, SUM_TOL)
    await expectParity(() => F.scatterAdd(ints([3, 4], 38), randint([30, 4], 3, 39), ints([30, 4], 40), 0))
  })

  test('zero-size operands', async () => {
    await expectParity(() => {
      const x = randn([3, 4], 41)
      const e = F.zeros([0], 'int32')
      return [F.take(x, e, 1), F.take(F.zeros([0, 2]), e, 0), F.gather(x, F.zeros([0, 1], 'int32')),
        F.takeAlongAxis(x, F.zeros([3, 0], 'int32'), 1), F.scatterAdd(x, F.zeros([3, 0], 'int32'), F.zeros([3, 0]), 1),
        bind1(indexAddRule, [x, F.zeros([0, 1], 'int32'), F.zeros([3, 0])], { axis: 1 }), F.flip(F.zeros([2, 0, 3]), 1)]
    })
  })

  test('a gather of over a million elements', async () => {
    await expectParity(() => F.take(randn([2000, 512], 42), randint([2100], 2000, 43), 0))
    await expectParity(() => F.takeAlongAxis(randn([1024, 1024], 44), randint([1024, 1024], 1024, 45), 1))
  })

  test('nonzero: count below, at and above the capacity; -0 and NaN; int32, bool, rank 0, zero-size', async () => {
    const x = F.tensor([[0, 1.5, -0, 0], [NaN, 0, -2, 0], [0, 0, 0, 3]])
    const parts = (r: { indices: Tensor; count: Tensor }) => [r.indices, r.count]
    await expectParity(() => [...parts(F.nonzero(x, 6)), ...parts(F.nonzero(x, 4, 7)), ...parts(F.nonzero(x, 2)), ...parts(F.nonzero(x, 0))])
    const r = await (async () => {
      await F.setBackend('webgpu')
      try {
        return [await F.toNested(F.nonzero(x, 5).indices), await F.item(F.nonzero(x, 2).count)]
      } finally {
        await F.setBackend('cpu')
      }
    })()
    assert.equal(r, [[[0, 1], [1, 0], [1, 2], [2, 3], [-1, -1]], 4])
    await expectParity(() => [...parts(F.nonzero(ints([3, 5, 2], 46), 40, -5)), ...parts(F.nonzero(F.greater(randn([7], 47), 0), 3))])
    await expectParity(() => [...parts(F.nonzero(F.tensor(2), 3)), ...parts(F.nonzero(F.tensor(0), 3)), ...parts(F.nonzero(F.zeros([0, 3]), 2))])
    await expectParity(() => parts(F.nonzero(F.transpose(F.greater(randn([3, 4, 5], 48), 1)), 20)))
  })

  test('nonzero over many blocks (a multi-pass scan with carry)', async () => {
    // 1.2M elements, about 1 in 7 non-zero: 1,172 blocks, five rounds of the 256-wide block scan.
    await expectParity(() => {
      const x = F.greater(randn([1200, 1000], 49), 1.1)
      return [...Object.values(F.nonzero(x, 200000)), ...Object.values(F.nonzero(x, 1000))]
    })
  })

  test('flip: single, several and all axes; int32, bool; non-contiguous', async () => {
    await expectParity(() => {
      const x = randn([3, 4, 5], 50)
      return [F.flip(x, 0), F.flip(x, -1), F.flip(x, [0, 2]), F.flip(x), F.flip(F.transpose(x, [1, 2, 0]), 1)]
    })
    await expectParity(() => [F.flip(ints([5, 2], 51), 0), F.flip(F.less(randn([2, 3], 52), 0)), F.flip(randn([7], 53))])
  })

  test('gradients on webgpu equal those on cpu (take, gather, takeAlongAxis with repeated indices)', async () => {
    await expectParity(() => {
      const w = randn([5, 4], 54)
      const g = randn([6, 3, 4], 55)
      return F.grad((p: Tensor) => F.sum(F.mul(F.take(p, randint([6, 3], 5, 56), 0), g)))(w)
    }, SUM_TOL)
    await expectParity(() => {
      const w = randn([3, 4, 2], 57)
      return F.grad((p: Tensor) => F.sum(F.tanh(F.gather(p, F.stack([randint([40], 3, 58), randint([40], 4, 59)], -1)))))(w)
    }, SUM_TOL)
    await expectParity(() => {
      const w = randn([4, 6], 60)
      return F.grad((p: Tensor) => F.sum(F.square(F.takeAlongAxis(p, randint([4, 9], 6, 61), 1))))(w)
    }, SUM_TOL)
  })

  test('out-of-range indices on webgpu: gathers read 0, scatter-adds drop the update (the cpu throws)', async () => {
    await F.setBackend('webgpu')
    try {
      const x = F.tensor([[1, 2], [3, 4]])
      assert.equal(await F.toNested(F.take(x, i32([1, 2, -1]), 0)), [[3, 4], [0, 0], [0, 0]])
      assert.equal(await F.toNested(F.gather(x, i32([[1, 1], [0, 2]]))), [4, 0])
      assert.equal(await F.toNested(F.takeAlongAxis(x, i32([[1, -1]]), 1)), [[2, 0], [4, 0]])
      assert.equal(await F.toNested(F.scatterAdd(x, i32([[5, 0]]), F.tensor([[10, 20]]), 0)), [[1, 22], [3, 4]])
      assert.equal(await F.toNested(bind1(indexAddRule, [x, i32([[-1], [1]]), F.tensor([[10, 20], [30, 40]])], { axis: 0 })), [[1, 2], [33, 44]])
    } finally {
      await F.setBackend('cpu')
    }
  })
}

test.run()
