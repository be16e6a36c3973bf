/**
 * reduceProd. The derivative of a product by one factor is the product of all the others; dividing the
 * product by the factor breaks as soon as a factor is zero. Instead the "product of the others" is
 * computed exactly with the pairwise-tree trick (as JAX does): multiply neighbours up a binary tree, then
 * pass each node the product of everything outside it on the way down. Only muls and slices are
 * involved, so every order of derivative is exact, zeros included, in O(n) work.
 */
import type { TypedArray } from '../../core/dtype.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { full } from '../creation.js'
import { mul } from '../elementwise/binary.js'
import { expectDTypes } from '../operand.js'
import { reshape, transpose } from '../shape/basic.js'
import { stack } from '../shape/index-axis.js'
import { padRule, sliceRule } from '../shape/slice.js'
import { inversePermutation } from '../shape/layout.js'
import type { AxisArg } from './axes.js'
import { reduceAlong, reducedShape, type StridedFold } from './kernels.js'
import { type ReduceParams, sum } from './sum.js'
import { prodFold, reduceGpu } from './wgsl.js'
import { keepReduced, reduceWith, vmapReduce } from './wrap.js'

const prodLine: StridedFold = (data, start, length, stride) => {
  let p = 1
  for (let k = 0, i = start; k < length; k++, i += stride) p *= data[i]!
  return p
}

// int32 products wrap modulo 2^32 like every other int32 op.
const prodLineInt: StridedFold = (data, start, length, stride) => {
  let p = 1
  for (let k = 0, i = start; k < length; k++, i += stride) p = Math.imul(p, data[i]!)
  return p
}

/** Columns `start, start+2, ...` of a [K, m] matrix (m even). */
const everyOther = (x: Tensor, start: number): Tensor =>
  bind1(sliceRule, [x], { starts: [0, start], limits: [x.shape[0]!, x.shape[1]!], strides: [1, 2] })

/** Row-wise exclusive products of x: f32[K, n]: out[k, i] = ∏_{j≠i} x[k, j]. */
export const exclusiveProducts = (x: Tensor): Tensor => {
  const [rows, n] = x.shape as [number, number]
  if (n <= 1) return full([rows, n], 1, x.dtype)
  let width = 1
  while (width < n) width *= 2
  // Pad with ones (the identity) to a power of two so every level pairs up evenly.
  const padded = width === n ? x : bind1(padRule, [x], { lo: [0, 0], hi: [0, width - n], interior: [0, 0], value: 1 })
  const levels: [Tensor, Tensor][] = []
  let level = padded
  while (level.shape[1]! > 1) {
    const pair: [Tensor, Tensor] = [everyOther(level, 0), everyOther(level, 1)]
    levels.push(pair)
    level = mul(pair[0], pair[1])
  }
  // Down the tree: a left child's outside product is its parent's times its right sibling, and vice versa.
  let outside: Tensor = full([rows, 1], 1, x.dtype)
  for (let l = levels.length - 1; l >= 0; l--) {
    const [left, right] = levels[l]!
    const interleaved = stack([mul(outside, right), mul(outside, left)], 2)
    outside = reshape(interleaved, [rows, 2 * left.shape[1]!])
  }
  return width === n ? outside : bind1(sliceRule, [outside], { starts: [0, 0], limits: [rows, n], strides: [1, 1] })
}

/** ∂(∏ over axes)/∂x: for each element, the product of the other elements of its reduced group. */
const productOfOthers = (x: Tensor, axes: readonly number[]): Tensor => {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i))
  const perm = [...kept, ...axes]
  const moved = transpose(x, perm)
  const rows = size(kept.map((a) => x.shape[a]!))
  const others = exclusiveProducts(reshape(moved, [rows, size(axes.map((a) => x.shape[a]!))]))
  return transpose(reshape(others, moved.shape), inversePermutation(perm))
}

export const reduceProdRule: Rule<ReduceParams> = {
  name: 'reduceProd',
  abstractEval: ([x], { axes }) => {
    expectDTypes('prod', [x!], ['float32', 'int32'], 'cast bool to int32 or float32 first')
    return [{ shape: reducedShape(x!.shape, axes), dtype: x!.dtype }]
  },
  cpu: ([x], { axes }, [o]) => [reduceAlong(x!.data as TypedArray, x!.shape, axes, o!.dtype, o!.dtype === 'int32' ? prodLineInt : prodLine)],
  jvp: ([x], [t], { axes }) => [t === null ? null : sum(mul(t, productOfOthers(x!, axes)), axes)],
  vjp: ([ct], [x], { axes }) => [ct === null ? null : mul(keepReduced(ct, x!.shape, axes), productOfOthers(x!, axes))],
  vmap: (args, dims, params) => vmapReduce(reduceProdRule)(args, dims, params),
  webgpu: (ctx, [x], { axes }, [o]) => [reduceGpu(ctx, 'reduceProd', prodFold(x!.dtype), x!, axes, o!)],
}

/**
 * Product over `axis` (a number, a list, or all axes); the product of an empty axis is 1. The gradient
 * is exact when factors are zero (one zero: only that position gets a gradient; two or more: none).
 * x: T[...] → T[reduced], T ∈ {f32, i32}
 */
export const prod = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => reduceWith('prod', reduceProdRule, x, axis, keepdims)
