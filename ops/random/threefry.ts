/**
 * Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011;
 * the Random123 reference and JAX's default PRNG). It is a keyed bijection on 64-bit counters built only
 * from 32-bit add, rotate and xor, so every output element is a pure function of (key, counter): no host
 * state, any element computable on its own, identical on every backend. The WGSL lowering is a line-by-
 * line port of `threefryBlock` over u32 (JS has no u32 arithmetic, hence the `| 0` wraps and `>>>`).
 *
 * Words travel in int32 tensors holding the uint32 bit patterns (fovea has no uint32 dtype).
 */
import { fail } from '../../core/errors.js'
import { bind } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { broadcastAvals } from '../elementwise/binary.js'
import { broadcastStrides, forEachRow } from '../elementwise/kernels.js'
import { type TensorLike, asTensor, describeAll } from '../operand.js'
import { batchFirst, reshape } from '../shape/basic.js'
import { threefryGpu } from './wgsl.js'

/** Random123's rotation constants R_32x2; rounds 4g..4g+3 use the half selected by the parity of g. */
export const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const

/** Threefish's key-schedule parity constant: the third schedule word is k0 ^ k1 ^ C240. */
export const C240 = 0x1bd11bda

/**
 * One threefry2x32-20 block: key (k0, k1), counter (c0, c1) → writes the two output words to
 * `out[at]`, `out[at + 1]`. Arguments are int32 bit patterns (any JS number is reduced mod 2^32).
 */
export const threefryBlock = (k0: number, k1: number, c0: number, c1: number, out: Int32Array, at: number): void => {
  const k2 = k0 ^ k1 ^ C240
  let x0 = (c0 + k0) | 0
  let x1 = (c1 + k1) | 0
  for (let g = 0; g < 5; g++) {
    const base = (g & 1) * 4
    for (let j = 0; j < 4; j++) {
      const r = ROTATIONS[base + j]!
      x0 = (x0 + x1) | 0
      x1 = ((x1 << r) | (x1 >>> (32 - r))) ^ x0
    }
    // Key injection s = g + 1: words ks[s % 3], ks[(s + 1) % 3], plus s on the second.
    const s = g + 1
    const m = s % 3
    x0 = (x0 + (m === 0 ? k0 : m === 1 ? k1 : k2)) | 0
    x1 = (x1 + (m === 0 ? k1 : m === 1 ? k2 : k0) + s) | 0
  }
  out[at] = x0
  out[at + 1] = x1
}

const expectInt32 = (op: string, xs: readonly { dtype: string }[], described: () => string): void => {
  if (xs.some((x) => x.dtype !== 'int32')) fail(op, `expected int32 operands (uint32 bit patterns), got ${described()}`)
}

/** Batching for elementwise rules with several outputs: batch axis first, padded to the logical rank. */
const alignBatched = (args: readonly Tensor[], dims: readonly BatchDim[], n: number): Tensor[] => {
  const rank = Math.max(...args.map((x, i) => x.shape.length - (dims[i] === null ? 0 : 1)))
  return args.map((x, i) => {
    if (dims[i] === null) return x
    const xb = batchFirst(x, dims[i]!, n)
    return reshape(xb, [n, ...new Array(rank - (xb.shape.length - 1)).fill(1), ...xb.shape.slice(1)])
  })
}

export const threefryRule: Rule<Record<string, never>> = {
  name: 'threefry2x32',
  abstractEval: (xs) => {
    expectInt32('threefry2x32', xs, () => describeAll(xs))
    const shape = broadcastAvals('threefry2x32', xs)
    return [{ shape, dtype: 'int32' }, { shape, dtype: 'int32' }]
  },
  cpu: (xs, _, [o]) => {
    const total = size(o!.shape)
    const strides = xs.map((x) => broadcastStrides(x.shape, o!.shape))
    const [k0, k1, c0, c1] = xs.map((x) => x.data)
    const pair = new Int32Array(2)
    const y0 = new Int32Array(total)
    const y1 = new Int32Array(total)
    forEachRow(o!.shape, strides, (start, offsets, n, st) => {
      let [p0, p1, p2, p3] = offsets as [number, number, number, number]
      for (let i = start; i < start + n; i++, p0 += st[0]!, p1 += st[1]!, p2 += st[2]!, p3 += st[3]!) {
        threefryBlock(k0![p0]!, k1![p1]!, c0![p2]!, c1![p3]!, pair, 0)
        y0[i] = pair[0]!
        y1[i] = pair[1]!
      }
    })
    return [y0, y1]
  },
  jvp: () => [null, null],
  vjp: () => [null, null, null, null],
  vmap: (args, dims, _, n) => [bind(threefryRule, alignBatched(args, dims, n), {}), [0, 0]],
  webgpu: (ctx, xs, _, [o]) => threefryGpu(ctx, xs, o!),
}

/**
 * The threefry2x32-20 block function, elementwise with NumPy broadcasting: key words `k0, k1` and
 * counter words `c0, c1` (int32 tensors or integers, read as uint32 bit patterns) → the two output
 * words `[x0, x1]`, int32 bit patterns. The building block of every sampler in `random`; exposed for
 * known-answer tests and for users who want raw counter-based streams.
 * k0, k1, c0, c1: i32[...] → [i32[broadcast], i32[broadcast]]
 */
export const threefry2x32 = (k0: TensorLike, k1: TensorLike, c0: TensorLike, c1: TensorLike): [Tensor, Tensor] => {
  const words = [k0, k1, c0, c1].map((w) => (typeof w === 'number' ? asWord('threefry2x32', w) : w))
  const [y0, y1] = bind(threefryRule, words.map((w) => asTensor('threefry2x32', w, 'int32')), {})
  return [y0!, y1!]
}

/** An integer in [-2^31, 2^32) as an int32 bit pattern (so 0xffffffff may be written as such). */
export const asWord = (op: string, w: number): number => {
  if (!Number.isInteger(w) || w < -0x80000000 || w > 0xffffffff) fail(op, `expected a 32-bit integer word, got ${w}`)
  return w | 0
}
