import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { erfInv } from '../../ops/random/erfinv.js'
import { sortByWords } from '../../ops/random/shuffle.js'
import { rng } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('random')
const R = F.random
const exact = { rtol: 0, atol: 0 }

/** Words with many ties and the top bit often set (unsigned order differs from signed). */
const words = (shape: number[], seed: number, distinct: number): Tensor => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Int32Array.from({ length: n }, () => (Math.floor(r() * distinct) * 0x9e3779b1) | 0), { shape, dtype: 'int32' })
}

const int32 = (values: number[], shape?: number[]): Tensor => F.tensor(Int32Array.from(values), { dtype: 'int32', shape: shape ?? [values.length] })

if (run) {
  test('threefry2x32: bit-identical words, with broadcasting and extreme words', async () => {
    await expectParity(() => R.threefry2x32(0, 0, 0, 0))
    await expectParity(() => R.threefry2x32(int32([0, -1, 0x12345678, -0x80000000], [4, 1]), 0x13198a2e, int32([0, 1, -1], [1, 3]), int32([7, -7, 0x7fffffff], [3])))
    await expectParity(() => R.threefry2x32(F.transpose(words([3, 5], 1, 1e9), [1, 0]), words([5, 1], 2, 1e9), words([1, 3], 3, 1e9), 1))
  })

  test('bits, split, foldIn and uniform are bit-identical; zero-size shapes', async () => {
    await expectParity(() => {
      const k = R.key(42)
      const [a, b] = R.splitKeys(k)
      return [R.bits(k, [3, 7]), R.split(k, 5), R.foldIn(k, 7), R.foldIn(a!, -1), R.bits(b!, []), R.uniform(a!, [1000]), R.uniform(b!, [33], -3, 7.5), R.bits(k, [0, 4]), R.key(-5)]
    }, exact)
  })

  test('bernoulli (scalar and tensor p) and permutation are identical; vmap over keys', async () => {
    await expectParity(() => [R.bernoulli(R.key(1), 0.3, [500]), R.bernoulli(R.key(2), F.tensor([0, 0.25, 0.5, 1]), [8, 4])])
    for (const n of [0, 1, 2, 7, 16, 513, 1000, 1700, 20000, 300000]) await expectParity(() => R.permutation(R.key(n + 3), n), exact, `permutation(${n})`)
    await expectParity(() => F.vmap((k: Tensor) => R.permutation(k, 37))(R.split(R.key(9), 6)), exact)
    await expectParity(() => F.vmap((k: Tensor) => R.uniform(k, [5]))(R.split(R.key(10), 4)), exact)
  })

  // Lengths around the 16-element register groups and powers of two (padding), several rows, heavy ties.
  test('sortByWords: stable unsigned order across rows, ties, padded and exact power-of-two lengths', async () => {
    const cases: [number[], number][] = [[[1], 3], [[5, 1], 3], [[2], 1], [[3, 5], 3], [[2, 15], 4], [[3, 16], 5], [[2, 17], 9], [[4, 511], 50], [[2, 512], 4], [[3, 513], 1000], [[2, 2, 1500], 7], [[70000], 1e9]]
    for (const [shape, distinct] of cases) {
      await expectParity(() => sortByWords(words(shape, shape.length * 31 + distinct, distinct), F.reshape(F.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, 'int32'), shape)), exact, `${shape} with ${distinct} distinct words`)
    }
    await expectParity(() => sortByWords(F.transpose(words([6, 4], 5, 3), [1, 0]), words([4, 6], 6, 1e6)), exact)
  })

  // Giles' polynomial in float32 on the GPU against float64 on the CPU. Measured over 2^20 evenly spaced
  // inputs and the 2^16 float32 values nearest 1 (every 17th): worst relative error 2.3e-7 (< 2 ulp).
  // Forming 1 − x² as x² rounded would give 48 ulp near |x| = 1; the tail cases below catch that.
  test('erfInv: float32 within 5e-7 relative everywhere, specials, gradient', async () => {
    const n = 4001
    await expectParity(() => erfInv(F.tensor(Float32Array.from({ length: n }, (_, i) => -1 + (2 * (i + 0.5)) / n))), { rtol: 5e-7, atol: 1e-7 })
    const tails = [1 - 2 ** -24, 1 - 2 ** -20, 1 - 1e-5, 0.99983, 0.9999, 0.99971, 0.999, 0.99, 0.97, 0.9, 0.5, 0.4999, 1e-3, 1e-30, 0]
    await expectParity(() => erfInv(F.tensor([...tails, ...tails.map((t) => -t)])), { rtol: 5e-7, atol: 1e-7 })
    await expectParity(() => erfInv(F.tensor([1, -1, 1.5, -2, NaN])))
    await expectParity(() => F.grad((x: Tensor) => F.sum(erfInv(x)))(F.tensor([-0.9, -0.3, 0, 0.2, 0.7, 0.99])), { rtol: 2e-6 })
  })

  test('a million numbers: bits and uniform identical, normal within 5e-7 relative', async () => {
    await expectParity(() => [R.bits(R.key(7), [1 << 20]), R.uniform(R.key(8), [1024, 1024])], exact)
    await expectParity(() => R.normal(R.key(9), [1 << 20]), { rtol: 5e-7, atol: 1e-7 })
  })

  test('normal: same samples on both backends, and the GPU ones look normal', async () => {
    await expectParity(() => F.vmap((k: Tensor) => R.normal(k, [3, 4]))(R.split(R.key(11), 3)), { rtol: 5e-7, atol: 1e-7 })
    await F.setBackend('webgpu')
    try {
      const x = Array.from(await F.toArray(R.normal(R.key(12), [100000])))
      const mean = x.reduce((a, b) => a + b, 0) / x.length
      const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length
      assert.ok(Math.abs(mean) < 0.02 && Math.abs(variance - 1) < 0.02, `mean ${mean}, variance ${variance}`)
    } finally {
      await F.setBackend('cpu')
    }
  })
}

test.run()
