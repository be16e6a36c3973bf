/**
 * Sort-by-key on random words, the step `permutation` repeats. Kept inside the random family (rather
 * than built on a general argsort and gather) because it needs *unsigned* order on the int32-held words
 * and a stable tie rule, and because a GPU lowering of exactly this (bitonic sort of key/value pairs along
 * the last axis) is all a shuffle needs.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { shapesEqual } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { describeAll } from '../operand.js'
import { batchFirst } from '../shape/basic.js'
import { sortByWordsGpu } from './sort-wgsl.js'

const INDEX_BITS = 2 ** 21

/**
 * Positions base..base+n-1 ordered by unsigned word, ties by position. Below 2^21 elements word and
 * position pack exactly into one double (32 + 21 bits), so a comparator-free typed-array sort does it.
 */
const stableOrder = (w: ArrayLike<number>, base: number, n: number): ArrayLike<number> => {
  if (n <= INDEX_BITS) {
    const packed = new Float64Array(n)
    for (let i = 0; i < n; i++) packed[i] = (w[base + i]! >>> 0) * INDEX_BITS + i
    packed.sort()
    const order = new Uint32Array(n)
    for (let i = 0; i < n; i++) order[i] = packed[i]! % INDEX_BITS
    return order
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i)
  return order.sort((a, b) => (w[base + a]! >>> 0) - (w[base + b]! >>> 0) || a - b)
}

export const sortByWordsRule: Rule<Record<string, never>> = {
  name: 'sortByWords',
  abstractEval: ([words, values]) => {
    if (words!.dtype !== 'int32' || values!.dtype !== 'int32' || !shapesEqual(words!.shape, values!.shape) || words!.shape.length === 0) {
      fail('sortByWords', `expected int32 words and int32 values of one shape with rank >= 1, got ${describeAll([words!, values!])}`)
    }
    return [{ shape: values!.shape, dtype: 'int32' }]
  },
  cpu: ([words, values]) => {
    const w = words!.data
    const v = values!.data
    const n = words!.shape[words!.shape.length - 1]!
    const out = new Int32Array(v.length)
    for (let base = 0; base < v.length; base += n) {
      const order = stableOrder(w, base, n)
      for (let i = 0; i < n; i++) out[base + i] = v[base + order[i]!]!
    }
    return [out]
  },
  jvp: () => [null],
  vjp: () => [null, null],
  vmap: ([words, values], [dw, dv], _, n) => [[bind1(sortByWordsRule, [batchFirst(words!, dw!, n), batchFirst(values!, dv!, n)], {})], [0]],
  webgpu: (ctx, [words, values], _, [o]) => [sortByWordsGpu(ctx, words!, values!, o!)],
}

/**
 * `values` reordered along the last axis by ascending unsigned `words` (stable).
 * words: i32[..., n], values: i32[..., n] → i32[..., n]
 */
export const sortByWords = (words: Tensor, values: Tensor): Tensor => bind1(sortByWordsRule, [words, values], {})
