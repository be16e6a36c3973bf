/**
 * Samplers: pure functions of (key, shape). Each follows `jax.random`'s algorithm on the same words, so a
 * key made from the same seed gives JAX's numbers (up to float32 rounding in erfinv for `normal`).
 */
import { fail } from '../../core/errors.js'
import { type Shape, broadcastShapes, shapesEqual } from '../../core/shape.js'
import { type Tensor, describeAval, isTensor } from '../../core/tensor.js'
import { arange } from '../creation.js'
import { add, less, maximum, minimum, mul } from '../elementwise/index.js'
import { describeValue } from '../operand.js'
import { randomBits, unitFloat } from './bits.js'
import { erfInv } from './erfinv.js'
import { expectKey, expectShape, keyWords } from './keys.js'
import { sortByWords } from './shuffle.js'
import { threefry2x32 } from './threefry.js'

/**
 * Uniformly random 32-bit words, as int32 bit patterns (negative when the top bit is set).
 * key: i32[2] → i32[shape]
 */
export const bits = (key: Tensor, shape: Shape = []): Tensor => {
  expectKey('bits', key)
  const [k0, k1] = keyWords(key)
  return randomBits(k0, k1, expectShape('bits', shape))
}

/** The largest float32 below `v` (v finite, representable). */
const float32Below = (v: number): number => {
  if (v === 0) return -1.401298464324817e-45
  const f = new Float32Array([v])
  const i = new Int32Array(f.buffer)
  i[0] = i[0]! + (v > 0 ? -1 : 1)
  return f[0]!
}

/**
 * Float32 samples uniform on [lo, hi): 23 random mantissa bits give k·2^-23 in [0, 1), then
 * `u·(hi - lo) + lo` in float32 as JAX does; results are clamped into [lo, hi) because that affine map
 * can round up onto `hi` for some ranges.
 * key: i32[2] → f32[shape]
 */
export const uniform = (key: Tensor, shape: Shape = [], lo = 0, hi = 1): Tensor => {
  expectKey('uniform', key)
  expectShape('uniform', shape)
  const [flo, fhi] = [Math.fround(lo), Math.fround(hi)]
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(flo) || !Number.isFinite(fhi) || !(flo < fhi)) {
    fail('uniform', `needs finite numbers lo < hi (in float32), got lo=${describeNumber(lo)}, hi=${describeNumber(hi)}`)
  }
  const [k0, k1] = keyWords(key)
  const u = unitFloat(randomBits(k0, k1, shape))
  if (flo === 0 && fhi === 1) return u
  const scaled = add(mul(u, Math.fround(fhi - flo)), flo)
  return minimum(maximum(scaled, flo), float32Below(fhi))
}

const describeNumber = (x: unknown): string => (typeof x === 'number' ? String(x) : describeValue(x))

/** The float32 just above -1: the lower end of the uniform fed to erfinv, so erfinv never sees -1. */
const ABOVE_MINUS_ONE = Math.fround(-1 + 2 ** -24)

/**
 * Standard normal float32 samples by inverse transform: √2·erfinv(u) with u uniform on (-1, 1), JAX's
 * method (not Box–Muller: one word per sample keeps each element independent of its neighbours). The
 * extremes are about ±5.4 because u has 24 bits of resolution near ±1.
 * key: i32[2] → f32[shape]
 */
export const normal = (key: Tensor, shape: Shape = []): Tensor => {
  expectKey('normal', key)
  expectShape('normal', shape)
  return mul(erfInv(uniform(key, shape, ABOVE_MINUS_ONE, 1)), Math.SQRT2)
}

/**
 * True with probability `p`: `uniform(key, shape) < p`, as in JAX. `p` is a number in [0, 1] or a float32
 * tensor broadcastable to `shape`; `shape` defaults to p's shape.
 * key: i32[2], p: f32[...] | number → bool[shape]
 */
export const bernoulli = (key: Tensor, p: Tensor | number = 0.5, shape?: Shape): Tensor => {
  expectKey('bernoulli', key)
  if (isTensor(p)) {
    if (p.dtype !== 'float32') fail('bernoulli', `p must be a float32 tensor or a number, got ${describeAval(p)}`)
  } else if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    fail('bernoulli', `p must be a probability in [0, 1], got ${describeNumber(p)}`)
  }
  const pShape = isTensor(p) ? p.shape : []
  const out = shape === undefined ? pShape : expectShape('bernoulli', shape)
  const joined = broadcastShapes('bernoulli', [pShape, out], () => `p ${isTensor(p) ? describeAval(p) : 'scalar'} with shape [${out.join(',')}]`)
  if (!shapesEqual(joined, out)) fail('bernoulli', `p ${describeAval(p as Tensor)} does not broadcast to shape [${out.join(',')}]`)
  return less(uniform(key, out), p)
}

/**
 * A uniformly random permutation of 0..n-1, by JAX's shuffle: sort 0..n-1 by fresh random words, repeated
 * ceil(3·ln n / ln(2^32 - 1)) times (once below n = 1626, twice below ~2.6M) so that ties between words,
 * the only source of bias, become negligible. Round r sorts by `bits(k_r)` where `[key, k_r] = split(key)`.
 * key: i32[2] → i32[n]
 */
export const permutation = (key: Tensor, n: number): Tensor => {
  expectKey('permutation', key)
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    fail('permutation', `n must be a non-negative integer below 2^31, got ${describeNumber(n)}`)
  }
  const rounds = Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(0xffffffff))
  let x = arange(n, undefined, 1, 'int32') as Tensor
  let words = keyWords(key)
  for (let r = 0; r < rounds; r++) {
    const [sub0, sub1] = threefry2x32(words[0], words[1], 0, 1)
    x = sortByWords(randomBits(sub0, sub1, [n]), x)
    words = threefry2x32(words[0], words[1], 0, 0)
  }
  return x
}
