/**
 * Keys are values, never state: a key is an `i32[2]` tensor holding the two uint32 words of a threefry
 * key, and every sampler is a pure function of (key, shape). To draw twice, split first — reusing a key
 * gives the same numbers again, by design. Derivation follows JAX's default (partitionable) threefry
 * scheme, so `split`, `foldIn` and the samplers reproduce JAX's numbers for the same seed.
 */
import { fail } from '../../core/errors.js'
import { type Shape, checkShape, shapesEqual } from '../../core/shape.js'
import { type Tensor, describeAval, isTensor } from '../../core/tensor.js'
import { arange, tensor } from '../creation.js'
import { describeValue } from '../operand.js'
import { indexAxis, stack } from '../shape/index-axis.js'
import { asWord, threefry2x32 } from './threefry.js'

const KEY_HINT = 'made by random.key, random.split or random.foldIn'

/** Throws unless `key` is a single key i32[2]; returns it typed. */
export const expectKey = (op: string, key: unknown): Tensor => {
  if (!isTensor(key)) return fail(op, `expected a key i32[2] (${KEY_HINT}), got ${describeValue(key)}`)
  if (key.dtype !== 'int32' || !shapesEqual(key.shape, [2])) {
    const hint = key.dtype === 'int32' && key.shape.length === 2 && key.shape[1] === 2 ? '; this looks like split()\'s result: take one row (random.splitKeys returns them as a list)' : ''
    fail(op, `expected a key i32[2] (${KEY_HINT}), got ${describeAval(key)}${hint}`)
  }
  return key
}

/** Throws unless `shape` is an array of non-negative integers. */
export const expectShape = (op: string, shape: unknown): Shape => {
  if (!Array.isArray(shape)) fail(op, `expected a shape (an array such as [2, 3]), got ${describeValue(shape)}`)
  checkShape(op, shape as Shape)
  return shape as Shape
}

/** The key's two words as i32[] scalars (slices, so this works on traced keys too). */
export const keyWords = (key: Tensor): [Tensor, Tensor] => [indexAxis(key, 0, 0), indexAxis(key, 1, 0)]

/** Words of the child key number `i` (a scalar or a vector of indices): threefry(key, (0, i)). */
export const childWords = (key: Tensor, i: Tensor | number): [Tensor, Tensor] => {
  const [k0, k1] = keyWords(key)
  return threefry2x32(k0, k1, 0, i)
}

const TWO_32 = 4294967296

/**
 * A key from an integer seed. The seed is read as a 64-bit two's-complement integer and bit-cast into
 * [high word, low word], which is JAX's `threefry_seed` with 64-bit seeds: for 0 <= seed < 2^32 the key
 * is [0, seed], equal to `jax.random.key(seed)`. Seeds up to ±2^53 (JS safe integers) stay distinct —
 * 2^32 does not wrap onto 0 as it does in JAX's 32-bit mode — and a negative seed gives high word
 * 0xffffffff, so `key(-1)` is [0xffffffff, 0xffffffff] (JAX without x64 would give [0, 0xffffffff]).
 * seed: integer → i32[2]
 */
export const key = (seed: number): Tensor => {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    fail('key', `seed must be an integer with |seed| < 2^53, got ${typeof seed === 'number' ? seed : describeValue(seed)}`)
  }
  const hi = Math.floor(seed / TWO_32)
  const lo = seed - hi * TWO_32
  return tensor(Int32Array.of(hi | 0, lo | 0), { shape: [2] })
}

/** Throws unless `n` is a count that an int32 index can address. */
const expectCount = (op: string, n: unknown, what: string): number => {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) fail(op, `${what} must be a non-negative integer below 2^31, got ${typeof n === 'number' ? n : describeValue(n)}`)
  return n as number
}

/**
 * `n` new keys, statistically independent of each other and of `key` (row i is threefry(key, (0, i)),
 * as `jax.random.split` does). Use each row once.
 * key: i32[2] → i32[n,2]
 */
export const split = (key: Tensor, n = 2): Tensor => {
  expectKey('split', key)
  expectCount('split', n, 'the number of keys')
  const [y0, y1] = childWords(key, arange(n, undefined, 1, 'int32'))
  return stack([y0, y1], -1)
}

/**
 * `split(key, n)` as a list of n keys, for destructuring: `const [k1, k2] = random.splitKeys(key)`.
 * key: i32[2] → n × i32[2]
 */
export const splitKeys = (key: Tensor, n = 2): Tensor[] => {
  const keys = split(key, n)
  return Array.from({ length: n }, (_, i) => indexAxis(keys, i, 0))
}

/**
 * A new key derived from `key` and an integer, e.g. a step or layer index, without threading keys
 * through a loop. `data` is read as a uint32 (an integer in [-2^31, 2^32); -1 means 0xffffffff) or an
 * int32 scalar tensor (which may be traced). `foldIn(key, i)` equals row i of `split(key, n)` (JAX's
 * partitionable threefry has the same identity), so do not mix the two on one key.
 * key: i32[2], data: integer | i32[] → i32[2]
 */
export const foldIn = (key: Tensor, data: number | Tensor): Tensor => {
  expectKey('foldIn', key)
  let word: Tensor | number
  if (isTensor(data)) {
    if (data.dtype !== 'int32' || data.shape.length !== 0) fail('foldIn', `data must be an integer or an i32[] scalar, got ${describeAval(data)}`)
    word = data
  } else {
    word = asWord('foldIn', data as number)
  }
  return stack(childWords(key, word), 0)
}
