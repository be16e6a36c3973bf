import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { erfInv } from '../../ops/random/erfinv.js'
import { checkGrads, expectTensor, throwsFovea, uniform as hostUniform } from '../util/check.js'

// Numbers from JAX on the CPU (test/fixtures/random_jax.py, jax_threefry_partitionable=True).
const jax = JSON.parse(readFileSync(new URL('../fixtures/random_jax.json', import.meta.url), 'utf8'))

/** uint32 values as the int32 bit patterns fovea stores. */
const asInt32 = (xs: readonly number[]): number[] => xs.map((x) => x | 0)

const values = async (x: Tensor): Promise<number[]> => Array.from(await F.toArray(x))

const mean = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return s / xs.length
}

const minMax = (xs: ArrayLike<number>): [number, number] => {
  let [lo, hi] = [Infinity, -Infinity]
  for (let i = 0; i < xs.length; i++) [lo, hi] = [Math.min(lo, xs[i]!), Math.max(hi, xs[i]!)]
  return [lo, hi]
}

const variance = (xs: ArrayLike<number>): number => {
  const m = mean(xs)
  let s = 0
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2
  return s / (xs.length - 1)
}

const correlation = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const [ma, mb] = [mean(a), mean(b)]
  let [sab, saa, sbb] = [0, 0, 0]
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb)
    saa += (a[i]! - ma) ** 2
    sbb += (b[i]! - mb) ** 2
  }
  return sab / Math.sqrt(saa * sbb)
}

/** Kolmogorov–Smirnov statistic of the sample against the CDF `cdf`. */
const ksStatistic = (xs: ArrayLike<number>, cdf: (x: number) => number): number => {
  const sorted = Float64Array.from(xs).sort()
  const n = sorted.length
  let d = 0
  for (let i = 0; i < n; i++) {
    const c = cdf(sorted[i]!)
    d = Math.max(d, (i + 1) / n - c, c - i / n)
  }
  return d
}

/** Pearson's chi-square of observed counts against equal expected counts. */
const chiSquareUniform = (counts: readonly number[]): number => {
  const total = counts.reduce((a, b) => a + b, 0)
  const e = total / counts.length
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0)
}

/** Standard normal CDF via Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, far below the KS bound). */
const normalCdf = (x: number): number => {
  const z = Math.abs(x) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * z)
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z)
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf)
}

// Bounds: five standard errors for moments; KS at the 0.1% level (1.95/√N); chi-square at the 0.1% level.
const N = 200_000
const ksBound = 1.95 / Math.sqrt(N)

test('threefry2x32 reproduces the Random123 known-answer vectors and JAX', async () => {
  for (const v of [...jax.kat, ...jax.threefry]) {
    const [k0, k1] = v.key as number[]
    const [c0, c1] = v.ctr as number[]
    const [y0, y1] = F.random.threefry2x32(k0!, k1!, c0!, c1!)
    assert.is(y0.dtype, 'int32')
    assert.equal([...(await values(y0)), ...(await values(y1))], asInt32(v.out), `key ${v.key} ctr ${v.ctr}`)
  }
  // Random123's first vector spelled out, so a broken fixture cannot hide a broken kernel.
  const [a, b] = F.random.threefry2x32(0, 0, 0, 0)
  assert.equal([(await F.item(a)) >>> 0, (await F.item(b)) >>> 0], [0x6b200159, 0x99ba4efe])
})

test('threefry2x32 broadcasts its words like an elementwise op', async () => {
  const ctr = F.tensor([0, 1, 2, 3, 4, 5], { dtype: 'int32', shape: [2, 3] })
  const [y0, y1] = F.random.threefry2x32(7, F.tensor([11, 12, 13], { dtype: 'int32' }), 0, ctr)
  assert.equal([...y0.shape], [2, 3])
  const all0 = await values(y0)
  const all1 = await values(y1)
  for (let i = 0; i < 6; i++) {
    const [s0, s1] = F.random.threefry2x32(7, 11 + (i % 3), 0, i)
    assert.is(all0[i], await F.item(s0))
    assert.is(all1[i], await F.item(s1))
  }
})

test('key(seed) matches jax.random.key and reads larger seeds as 64-bit integers', async () => {
  for (const [seed, words] of Object.entries(jax.seeds)) {
    await expectTensor(F.random.key(Number(seed)), asInt32(words as number[]), {}, [2])
  }
  assert.is(F.random.key(0).dtype, 'int32')
  await expectTensor(F.random.key(2 ** 32), [1, 0])
  await expectTensor(F.random.key(2 ** 53 - 1), [0x1fffff, -1])
  await expectTensor(F.random.key(-1), [-1, -1])
  await expectTensor(F.random.key(-(2 ** 32)), [-1, 0])
})

test('split, splitKeys and foldIn match JAX', async () => {
  const k = F.random.key(42)
  const s = F.random.split(k, 3)
  assert.equal([...s.shape], [3, 2])
  assert.is(s.dtype, 'int32')
  assert.equal(await values(s), asInt32(jax.split42_3))
  assert.equal(await values(F.random.foldIn(k, 7)), asInt32(jax.foldIn42_7))
  assert.equal(await values(F.random.foldIn(k, 0xfffffffe)), asInt32(jax.foldIn42_big))
  assert.equal(await values(F.random.foldIn(k, -2)), asInt32(jax.foldIn42_big))
  assert.equal(await values(F.random.foldIn(F.random.splitKeys(k)[1]!, 3)), asInt32(jax.foldIn_split))
  // A traced-friendly data argument: an int32 scalar tensor.
  assert.equal(await values(F.random.foldIn(k, F.tensor(7, { dtype: 'int32' }))), asInt32(jax.foldIn42_7))
  const list = F.random.splitKeys(k, 3)
  assert.is(list.length, 3)
  for (let i = 0; i < 3; i++) {
    assert.equal([...list[i]!.shape], [2])
    assert.equal(await values(list[i]!), asInt32(jax.split42_3).slice(2 * i, 2 * i + 2))
    // The partitionable scheme's identity: foldIn(key, i) is row i of split(key, n).
    assert.equal(await values(F.random.foldIn(k, i)), await values(list[i]!))
  }
  assert.equal([...F.random.split(k, 0).shape], [0, 2])
  assert.equal([...F.random.split(k).shape], [2, 2])
})

test('bits, uniform, normal, bernoulli and permutation match JAX for the same keys', async () => {
  const k = F.random.key(42)
  const b = F.random.bits(k, [2, 3])
  assert.equal([...b.shape], [2, 3])
  assert.equal(await values(b), asInt32(jax.bits42_2x3))
  const u = F.random.uniform(k, [7])
  assert.is(u.dtype, 'float32')
  assert.equal(await values(u), jax.uniform42_7)
  await expectTensor(F.random.uniform(F.random.key(1), [2, 3], -2.5, 4), jax.uniform1_range_6, { rtol: 0, atol: 5e-7 }, [2, 3])
  // Same uniforms as JAX; erfinv is evaluated more accurately than XLA's float32 version, which drifts by
  // up to ~1e-5 relative in the tails, so JAX is matched loosely and the float64 truth tightly.
  await expectTensor(F.random.normal(F.random.key(1), [2, 4]), jax.normal1_2x4, { rtol: 1e-5, atol: 1e-6 }, [2, 4])
  const z = F.random.normal(F.random.key(2), [1000])
  await expectTensor(z, jax.normal2_1000, { rtol: 1e-5, atol: 1e-6 })
  await expectTensor(z, jax.normal2_1000_exact, { rtol: 5e-7, atol: 1e-7 })
  const coin = F.random.bernoulli(F.random.key(3), 0.3, [16])
  assert.is(coin.dtype, 'bool')
  assert.equal(await values(coin), jax.bernoulli3_03_16)
  assert.equal(await values(F.random.permutation(F.random.key(5), 10)), jax.permutation5_10)
  // n = 2000 takes two sorting rounds, so this also checks the round count and key schedule.
  assert.equal(await values(F.random.permutation(F.random.key(5), 2000)), jax.permutation5_2000)
})

test('the same key always gives the same numbers; different keys give different streams', async () => {
  const k = F.random.key(7)
  assert.equal(await values(F.random.bits(k, [1000])), await values(F.random.bits(F.random.key(7), [1000])))
  assert.equal(await values(F.random.normal(k, [100])), await values(F.random.normal(k, [100])))
  // Shapes with the same element count share the stream (counter = flat index).
  assert.equal(await values(F.random.bits(k, [10, 100])), await values(F.random.bits(k, [1000])))
  const streams = [F.random.key(7), F.random.key(8), F.random.key(2 ** 32 + 7), ...F.random.splitKeys(k, 3), F.random.foldIn(k, 3)]
  const data = await Promise.all(streams.map((s) => values(F.random.bits(s, [10_000]))))
  for (let i = 0; i < data.length; i++) {
    for (let j = i + 1; j < data.length; j++) {
      const same = data[i]!.filter((x, n) => x === data[j]![n]).length
      // Two independent 32-bit streams agree at a position with probability 2^-32.
      assert.ok(same <= 1, `streams ${i} and ${j} agree at ${same} of 10000 positions`)
    }
  }
})

test('bits: every bit position is set half the time, no correlation between neighbours', async () => {
  const b = await F.toArray(F.random.bits(F.random.key(11), [N]))
  const bound = 5 * Math.sqrt(0.25 / N)
  for (let bit = 0; bit < 32; bit++) {
    let ones = 0
    for (let i = 0; i < N; i++) ones += (b[i]! >>> bit) & 1
    assert.ok(Math.abs(ones / N - 0.5) < bound, `bit ${bit} is set in ${ones / N} of the words`)
  }
})

test('uniform: mean 1/2, variance 1/12, in [0, 1), KS against the uniform CDF', async () => {
  const u = await F.toArray(F.random.uniform(F.random.key(0), [N]))
  const m = mean(u)
  const v = variance(u)
  assert.ok(Math.abs(m - 0.5) < 5 * Math.sqrt(1 / 12 / N), `mean ${m}`)
  // Var of the sample variance of U(0,1) is (μ4 − σ⁴)/N with μ4 = 1/80, σ⁴ = 1/144.
  assert.ok(Math.abs(v - 1 / 12) < 5 * Math.sqrt((1 / 80 - 1 / 144) / N), `variance ${v}`)
  const [umin, umax] = minMax(u)
  assert.ok(umin >= 0 && umax < 1, `range [${umin}, ${umax}]`)
  const d = ksStatistic(u, (x) => Math.min(1, Math.max(0, x)))
  assert.ok(d < ksBound, `KS statistic ${d} >= ${ksBound}`)
  const lag1 = correlation(u.subarray(0, N - 1), u.subarray(1))
  assert.ok(Math.abs(lag1) < 5 / Math.sqrt(N), `lag-1 autocorrelation ${lag1}`)
})

test('uniform on [lo, hi) stays in range and centres on (lo + hi) / 2', async () => {
  const [lo, hi] = [-3, 5]
  const u = await F.toArray(F.random.uniform(F.random.key(1), [N], lo, hi))
  const [umin, umax] = minMax(u)
  assert.ok(umin >= lo && umax < hi, `range [${umin}, ${umax}]`)
  assert.ok(Math.abs(mean(u) - 1) < 5 * Math.sqrt(64 / 12 / N), `mean ${mean(u)}`)
  // A range where u·(hi − lo) + lo rounds onto hi for the largest u: the clamp keeps hi out.
  const tiny = await F.toArray(F.random.uniform(F.random.key(2), [N], 1, 1.0000002))
  assert.ok(minMax(tiny)[1] < Math.fround(1.0000002), 'hi excluded')
})

test('normal: mean 0, variance 1, decile histogram and KS against the normal CDF', async () => {
  const z = await F.toArray(F.random.normal(F.random.key(0), [N]))
  assert.ok(Math.abs(mean(z)) < 5 / Math.sqrt(N), `mean ${mean(z)}`)
  assert.ok(Math.abs(variance(z) - 1) < 5 * Math.sqrt(2 / N), `variance ${variance(z)}`)
  // Deciles of N(0, 1): each bin holds 10% of the mass.
  const edges = [-1.2815516, -0.8416212, -0.5244005, -0.2533471, 0, 0.2533471, 0.5244005, 0.8416212, 1.2815516]
  const counts = new Array(10).fill(0)
  for (const x of z) counts[edges.filter((e) => x >= e).length]++
  const chi2 = chiSquareUniform(counts)
  assert.ok(chi2 < 27.88, `decile chi-square ${chi2} (9 dof, 0.1% level 27.88): ${counts}`)
  const d = ksStatistic(z, normalCdf)
  assert.ok(d < ksBound, `KS statistic ${d} >= ${ksBound}`)
  assert.ok(z.every(Number.isFinite), 'finite')
})

test('bernoulli: frequency p, per-element p by broadcasting, p = 0 and p = 1', async () => {
  const c = await F.toArray(F.random.bernoulli(F.random.key(4), 0.3, [N]))
  assert.ok(Math.abs(mean(c) - 0.3) < 5 * Math.sqrt(0.21 / N), `frequency ${mean(c)}`)
  const ps = [0.1, 0.5, 0.9]
  const m = await F.toArray(F.random.bernoulli(F.random.key(5), F.tensor(ps), [N / 4, 3]))
  ps.forEach((p, j) => {
    let ones = 0
    for (let i = j; i < m.length; i += 3) ones += m[i]!
    assert.ok(Math.abs(ones / (N / 4) - p) < 5 * Math.sqrt((p * (1 - p)) / (N / 4)), `column ${j}: ${ones / (N / 4)} vs ${p}`)
  })
  assert.equal([...F.random.bernoulli(F.random.key(5), F.tensor([0.2, 0.4])).shape], [2])
  assert.equal([...F.random.bernoulli(F.random.key(5)).shape], [])
  assert.ok((await values(F.random.bernoulli(F.random.key(6), 0, [1000]))).every((x) => x === 0))
  assert.ok((await values(F.random.bernoulli(F.random.key(6), 1, [1000]))).every((x) => x === 1))
})

test('split keys give uncorrelated streams, and no child repeats its parent', async () => {
  const k = F.random.key(9)
  const [a, b] = F.random.splitKeys(k)
  const streams = await Promise.all([a!, b!, k, F.random.foldIn(k, 1000)].map((s) => F.toArray(F.random.normal(s, [N]))))
  for (let i = 0; i < streams.length; i++) {
    for (let j = i + 1; j < streams.length; j++) {
      const r = correlation(streams[i]!, streams[j]!)
      assert.ok(Math.abs(r) < 5 / Math.sqrt(N), `streams ${i}, ${j}: correlation ${r}`)
    }
  }
  const keys = await values(F.random.split(k, 1000))
  const seen = new Set<string>([String(await values(k))])
  for (let i = 0; i < 1000; i++) seen.add(`${keys[2 * i]},${keys[2 * i + 1]}`)
  assert.is(seen.size, 1001, 'split keys are distinct from each other and from the parent')
})

test('permutation: a permutation, uniform over positions and over orderings', async () => {
  for (const n of [0, 1, 2, 17, 3000]) {
    const p = await values(F.random.permutation(F.random.key(n), n))
    assert.equal([...p].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i), `n = ${n}`)
  }
  assert.is(F.random.permutation(F.random.key(0), 4).dtype, 'int32')
  // 12,000 permutations of 5 elements, drawn at once through vmap over split keys.
  const draws = 12_000
  const perms = await F.toArray(F.vmap((k: Tensor) => F.random.permutation(k, 5))(F.random.split(F.random.key(3), draws)))
  const byPosition = new Array(25).fill(0)
  const byOrdering = new Map<string, number>()
  for (let d = 0; d < draws; d++) {
    const row = Array.from(perms.subarray(5 * d, 5 * d + 5))
    row.forEach((v, pos) => byPosition[5 * v + pos]++)
    byOrdering.set(row.join(), (byOrdering.get(row.join()) ?? 0) + 1)
  }
  // Each (value, position) cell: 5 independent multinomials of 4 dof each, 16 dof; 0.1% level 39.25.
  const chiPos = chiSquareUniform(byPosition)
  assert.ok(chiPos < 39.25, `position chi-square ${chiPos}`)
  assert.is(byOrdering.size, 120, 'every ordering of 5 appears')
  // 119 dof; 0.1% level 173.6.
  const chiOrd = chiSquareUniform([...byOrdering.values()])
  assert.ok(chiOrd < 173.6, `ordering chi-square ${chiOrd}`)
})

test('vmap over keys equals sampling each key on its own', async () => {
  const keys = F.random.split(F.random.key(12), 4)
  const sample = (k: Tensor) => F.add(F.random.normal(k, [3]), F.random.uniform(F.random.foldIn(k, 1), [3], -1, 1))
  const batched = F.vmap(sample)(keys)
  assert.equal([...batched.shape], [4, 3])
  const rows = await Promise.all(F.random.splitKeys(F.random.key(12), 4).map((k) => values(sample(k))))
  assert.equal(await values(batched), rows.flat())
  // foldIn with traced data: vmap over step indices gives split's rows.
  const folded = F.vmap((i: Tensor) => F.random.foldIn(F.random.key(42), i))(F.arange(3))
  assert.equal(await values(folded), asInt32(jax.split42_3))
  const coins = F.vmap((k: Tensor) => F.random.bernoulli(k, 0.5, [8]))(keys)
  assert.equal([...coins.shape], [4, 8])
  const bitsB = F.vmap((k: Tensor) => F.random.bits(F.random.split(k, 3), [2]), 0, 0)
  throwsFovea(() => bitsB(keys), 'bits', 'i32[3,2]')
})

test('samples are constants to autodiff; erfInv has the right derivative', async () => {
  const k = F.random.key(1)
  const noise = F.random.normal(k, [4])
  const g = F.grad((x: Tensor) => F.sum(F.mul(x, F.random.normal(k, [4]))))(F.ones([4]))
  assert.equal(await values(g), await values(noise))
  await expectTensor(erfInv(F.tensor(jax.erfinv.x)), jax.erfinv.y, { rtol: 2e-6, atol: 1e-7 })
  await expectTensor(erfInv(F.tensor([1, -1, 1.5, NaN])), [Infinity, -Infinity, NaN, NaN])
  await checkGrads(erfInv, [hostUniform([3, 4], 2, -0.9, 0.9)], { eps: 1e-3, secondOrder: true })
})

test('bad inputs name the op, the shape and the dtype', () => {
  throwsFovea(() => F.random.key(1.5), 'key', '1.5')
  throwsFovea(() => F.random.key(NaN), 'key', 'NaN')
  throwsFovea(() => F.random.key(2 ** 53), 'key', '2^53')
  throwsFovea(() => F.random.key('3' as unknown as number), 'key', 'string')
  throwsFovea(() => F.random.normal(F.tensor([1, 2, 3], { dtype: 'int32' }), [2]), 'normal', 'i32[3]')
  throwsFovea(() => F.random.uniform(F.tensor([0, 1]), [2]), 'uniform', 'f32[2]')
  throwsFovea(() => F.random.split(F.random.split(F.random.key(0)), 2), 'split', 'i32[2,2]', 'splitKeys')
  throwsFovea(() => F.random.bits(3 as unknown as Tensor, [2]), 'bits', 'number')
  throwsFovea(() => F.random.split(F.random.key(0), 1.5), 'split', '1.5')
  throwsFovea(() => F.random.foldIn(F.random.key(0), 0.5), 'foldIn', '0.5')
  throwsFovea(() => F.random.foldIn(F.random.key(0), F.tensor([1, 2], { dtype: 'int32' })), 'foldIn', 'i32[2]')
  throwsFovea(() => F.random.uniform(F.random.key(0), [2], 1, 1), 'uniform', 'lo=1', 'hi=1')
  throwsFovea(() => F.random.uniform(F.random.key(0), [-1]), 'uniform', '[-1]')
  throwsFovea(() => F.random.normal(F.random.key(0), 5 as unknown as number[]), 'normal', 'number')
  throwsFovea(() => F.random.bernoulli(F.random.key(0), 1.5, [2]), 'bernoulli', '1.5')
  throwsFovea(() => F.random.bernoulli(F.random.key(0), F.tensor([1, 0], { dtype: 'int32' })), 'bernoulli', 'i32[2]')
  throwsFovea(() => F.random.bernoulli(F.random.key(0), F.tensor([0.5, 0.5, 0.5]), [2]), 'bernoulli', 'f32[3]', '[2]')
  throwsFovea(() => F.random.permutation(F.random.key(0), -1), 'permutation', '-1')
  throwsFovea(() => F.random.threefry2x32(F.tensor([1.5]), 0, 0, 0), 'threefry2x32', 'f32[1]', 'i32[]')
  throwsFovea(() => F.random.threefry2x32(2 ** 32, 0, 0, 0), 'threefry2x32', '4294967296')
  throwsFovea(() => erfInv(F.tensor([1], { dtype: 'int32' })), 'erfInv', 'i32[1]')
})

test.run()
