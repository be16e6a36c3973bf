/**
 * Elementwise indexing along one axis: `takeAlongAxis` (PyTorch `gather`) and `scatterAdd` (PyTorch
 * `scatter_add`), each other's transposes. Off the axis, indices may be smaller than x (PyTorch's rule),
 * which is what lets the transpose of a gather from a larger x be a scatter into it.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { normalizeAxis, shapesEqual } from '../../core/shape.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { zeros } from '../creation.js'
import { describeAll, expectDTypes } from '../operand.js'
import { batchFirst, broadcastTo } from '../shape/basic.js'
import { expectIndices } from './gather-nd.js'
import { scatterAddKernel, takeAlongAxisKernel } from './kernels.js'
import { scatterAddGpu, takeAlongAxisGpu } from './wgsl.js'

export type AlongAxisParams = { readonly axis: number }

const checkAlongAxis = (op: string, x: Aval, indices: Aval, axis: number): void => {
  if (indices.dtype !== 'int32') fail(op, `indices must be int32, got ${describeAll([x, indices])}`)
  const r = x.shape.length
  if (indices.shape.length !== r || axis < 0 || axis >= r || indices.shape.some((d, i) => i !== axis && d > x.shape[i]!)) {
    fail(op, `indices ${describeAval(indices)} must have the rank of ${describeAval(x)} and no larger dimensions off axis ${axis}`)
  }
}

export const takeAlongAxisRule: Rule<AlongAxisParams> = {
  name: 'takeAlongAxis',
  abstractEval: ([x, indices], { axis }) => {
    checkAlongAxis('takeAlongAxis', x!, indices!, axis)
    return [{ shape: indices!.shape, dtype: x!.dtype }]
  },
  cpu: ([x, indices], { axis }) => [takeAlongAxisKernel('takeAlongAxis', x!, indices!, axis)],
  jvp: ([, indices], [tx], params) => [tx === null ? null : bind1(takeAlongAxisRule, [tx, indices!], params)],
  vjp: ([ct], [x, indices], params) => [ct === null ? null : bind1(scatterAddRule, [zeros(x!.shape, x!.dtype), indices!, ct], params), null],
  vmap: ([x, indices], [dx, di], { axis }, n) =>
    [[bind1(takeAlongAxisRule, [batchFirst(x!, dx!, n), batchFirst(indices!, di!, n)], { axis: axis + 1 })], [0]],
  // Indices are checked on the CPU backend only; on WebGPU an out-of-range index reads 0 (see wgsl.ts).
  webgpu: (ctx, [x, indices], { axis }, [o]) => [takeAlongAxisGpu(ctx, x!, indices!, axis, o!)],
}

export const scatterAddRule: Rule<AlongAxisParams> = {
  name: 'scatterAdd',
  abstractEval: ([x, indices, updates], { axis }) => {
    expectDTypes('scatterAdd', [x!, updates!], ['float32', 'int32'])
    checkAlongAxis('scatterAdd', x!, indices!, axis)
    if (updates!.dtype !== x!.dtype || !shapesEqual(updates!.shape, indices!.shape)) {
      fail('scatterAdd', `updates must have the shape of the indices and the dtype of x, got ${describeAll([x!, indices!, updates!])}`)
    }
    return [{ shape: x!.shape, dtype: x!.dtype }]
  },
  cpu: ([x, indices, updates], { axis }) => [scatterAddKernel('scatterAdd', x!, indices!, updates!, axis)],
  jvp: ([, indices], [tx, , tu], params) => [tx === null || tu === null ? null : bind1(scatterAddRule, [tx, indices!, tu], params)],
  vjp: ([ct], [, indices], params) => (ct === null ? [null, null, null] : [ct, null, bind1(takeAlongAxisRule, [ct, indices!], params)]),
  vmap: ([x, indices, updates], [dx, di, du], { axis }, n) =>
    [[bind1(scatterAddRule, [batchFirst(x!, dx!, n), batchFirst(indices!, di!, n), batchFirst(updates!, du!, n)], { axis: axis + 1 })], [0]],
  // On WebGPU an out-of-range index is dropped; float sums over repeated indices are atomic, in any order.
  webgpu: (ctx, [x, indices, updates], { axis }) => [scatterAddGpu(ctx, x!, indices!, updates!, axis)],
}

/**
 * NumPy `take_along_axis`: `out[i] = x[i with i[axis] replaced by indices[i]]`. x and indices have the
 * same rank and broadcast against each other off `axis` (e.g. the indices from `argsort` or `topk`).
 * x: T[..., n, ...], indices: i32[..., m, ...] → T[..., m, ...]
 */
export const takeAlongAxis = (x: Tensor, indices: Tensor, axis: number): Tensor => {
  expectIndices('takeAlongAxis', x, indices)
  const r = x.shape.length
  if (indices.shape.length !== r) fail('takeAlongAxis', `indices must have the rank of x, got ${describeAll([x, indices])}`)
  const ax = normalizeAxis('takeAlongAxis', axis, r)
  const common = x.shape.map((d, i) => {
    const e = indices.shape[i]!
    if (i === ax || d === e || e === 1 || d === 1) return Math.max(d, e)
    return fail('takeAlongAxis', `cannot broadcast ${describeAll([x, indices])} off axis ${ax}`)
  })
  const xs = broadcastTo(x, common.map((d, i) => (i === ax ? x.shape[i]! : d)))
  const is = broadcastTo(indices, common.map((d, i) => (i === ax ? indices.shape[i]! : d)))
  return bind1(takeAlongAxisRule, [xs, is], { axis: ax })
}

/**
 * PyTorch `scatter_add`: `out = x`, then `out[i with i[axis] = indices[i]] += updates[i]` for every
 * position i of `indices` (repeated indices accumulate). Off `axis` the indices may be smaller than x.
 * x: T[...], indices: i32[...], updates: T[indices.shape] → T[x.shape]; T is float32 or int32.
 * The transpose of `takeAlongAxis`; differentiable in x and updates.
 */
export const scatterAdd = (x: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor => {
  expectIndices('scatterAdd', x, indices)
  const ax = normalizeAxis('scatterAdd', axis, x.shape.length)
  return bind1(scatterAddRule, [x, indices, updates], { axis: ax })
}
