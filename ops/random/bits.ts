/**
 * The two primitives between keys and floats: `randomBits` (a block of 32-bit words from key words) and
 * `unitFloat` (a word → a float32 in [0, 1)). Both are embarrassingly parallel: one GPU thread per output
 * element computes its own counter from its index, so no state is carried between elements or calls.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { type Shape, checkShape, shapesEqual, size } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { describeAll } from '../operand.js'
import { batchFirst } from '../shape/basic.js'
import { threefryBlock } from './threefry.js'
import { randomBitsGpu, unitFloatGpu } from './wgsl.js'

export type RandomBitsParams = { readonly shape: Shape }

/**
 * Element `i` (row-major flat index into `shape`) is `x0 ^ x1` of threefry(key, (hi32(i), lo32(i))): JAX's
 * partitionable scheme, so the numbers match `jax.random.bits` and do not depend on how the output is
 * tiled across threads or devices.
 */
export const randomBitsRule: Rule<RandomBitsParams> = {
  name: 'randomBits',
  abstractEval: ([k0, k1], { shape }) => {
    checkShape('randomBits', shape)
    if (k0!.dtype !== 'int32' || k1!.dtype !== 'int32' || !shapesEqual(k0!.shape, k1!.shape)) {
      fail('randomBits', `expected two int32 key-word tensors of one shape, got ${describeAll([k0!, k1!])}`)
    }
    return [{ shape: [...k0!.shape, ...shape], dtype: 'int32' }]
  },
  cpu: ([k0, k1], { shape }) => {
    const keys = k0!.data.length
    const n = size(shape)
    const out = new Int32Array(keys * n)
    const pair = new Int32Array(2)
    for (let k = 0; k < keys; k++) {
      const a = k0!.data[k]!
      const b = k1!.data[k]!
      for (let i = 0; i < n; i++) {
        // hi32(i) is 0 below 2^32 elements, which is every array a typed array can hold.
        threefryBlock(a, b, Math.floor(i / 4294967296), i, pair, 0)
        out[k * n + i] = pair[0]! ^ pair[1]!
      }
    }
    return [out]
  },
  jvp: () => [null],
  vjp: () => [null, null],
  vmap: ([k0, k1], [d0, d1], params, n) => [[bind1(randomBitsRule, [batchFirst(k0!, d0!, n), batchFirst(k1!, d1!, n)], params)], [0]],
  webgpu: (ctx, [k0, k1], _, [o]) => [randomBitsGpu(ctx, k0!, k1!, o!)],
}

/** Raw words for key words `k0, k1`: i32[...K], i32[...K] → i32[...K, ...shape]. */
export const randomBits = (k0: Tensor, k1: Tensor, shape: Shape): Tensor => bind1(randomBitsRule, [k0, k1], { shape })

/**
 * The mantissa trick: the top 23 bits under exponent 0 give a float in [1, 2) exactly; subtracting 1 gives
 * one of the 2^23 equally spaced values k·2^-23 in [0, 1). (Dividing a 32-bit integer by 2^32 instead
 * would round some words up to 1.0 in float32.)
 */
export const unitFloatRule: Rule<Record<string, never>> = {
  name: 'unitFloat',
  abstractEval: ([x]) => {
    if (x!.dtype !== 'int32') fail('unitFloat', `expected int32 random words, got ${describeAll([x!])}`)
    return [{ shape: x!.shape, dtype: 'float32' }]
  },
  cpu: ([x]) => {
    const words = new Int32Array(x!.data.length)
    for (let i = 0; i < words.length; i++) words[i] = (x!.data[i]! >>> 9) | 0x3f800000
    const floats = new Float32Array(words.buffer)
    for (let i = 0; i < floats.length; i++) floats[i] = floats[i]! - 1
    return [floats]
  },
  jvp: () => [null],
  vjp: () => [null],
  vmap: ([x], [d]) => [[bind1(unitFloatRule, [x!], {})], [d!]],
  webgpu: (ctx, [x], _, [o]) => [unitFloatGpu(ctx, x!, o!)],
}

/** Random words → float32 in [0, 1) with 23 random bits. i32[...] → f32[...] */
export const unitFloat = (x: Tensor): Tensor => bind1(unitFloatRule, [x], {})
