/**
 * `take` (NumPy) and `gather` (gather_nd) share one geometry: index tuples of length k select blocks of
 * axes `axis .. axis+k-1`. They are two primitives only so that IR text and error messages say which
 * op the user called. Each is linear in x; its transpose is a scatter-add (`indexAdd`, `scatterAddNd`)
 * whose own transpose is the gather again, so higher-order derivatives close.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Shape, normalizeAxis, shapesEqual, size } from '../../core/shape.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { arange, zeros } from '../creation.js'
import { describeAll, expectDTypes } from '../operand.js'
import { batchFirst, broadcastTo, moveAxis, reshape } from '../shape/basic.js'
import { concat } from '../shape/slice.js'
import { gatherNdKernel, scatterAddNdKernel } from './kernels.js'
import { gatherNdGpu, scatterAddNdGpu } from './wgsl.js'

/** `axis`: the first indexed axis of x; k (the indices' last dimension) axes are indexed. */
export type GatherNdParams = { readonly axis: number }

const gatheredShape = (op: string, x: Aval, indices: Aval, axis: number): Shape => {
  if (indices.dtype !== 'int32') fail(op, `indices must be int32, got ${describeAll([x, indices])}`)
  const k = indices.shape[indices.shape.length - 1]
  if (k === undefined || axis < 0 || axis + k > x.shape.length) {
    fail(op, `indices ${describeAval(indices)} cannot index axes ${axis}.. of ${describeAval(x)}`)
  }
  return [...x.shape.slice(0, axis), ...indices.shape.slice(0, -1), ...x.shape.slice(axis + k!)]
}

/** Prepends the batch coordinate to every index tuple: [n, I..., k] → [n, I..., k+1]. */
const withBatchCoordinate = (indices: Tensor, n: number): Tensor => {
  const lead = [n, ...indices.shape.slice(1, -1), 1]
  const iota = broadcastTo(reshape(arange(n), [n, ...lead.slice(1).map(() => 1)]), lead)
  return concat([iota, indices], -1)
}

const makeGatherPair = (gatherName: string, scatterName: string) => {
  const gatherRule: Rule<GatherNdParams> = {
    name: gatherName,
    abstractEval: ([x, indices], { axis }) => [{ shape: gatheredShape(gatherName, x!, indices!, axis), dtype: x!.dtype }],
    cpu: ([x, indices], { axis }, [o]) => [gatherNdKernel(gatherName, x!, indices!, axis, size(o!.shape))],
    jvp: ([, indices], [tx], params) => [tx === null ? null : bind1(gatherRule, [tx, indices!], params)],
    vjp: ([ct], [x, indices], params) => [ct === null ? null : bind1(scatterRule, [zeros(x!.shape, x!.dtype), indices!, ct], params), null],
    vmap: ([x, indices], [dx, di], { axis }, n): [Tensor[], BatchDim[]] => {
      if (di === null) return [[bind1(gatherRule, [batchFirst(x!, dx!, n), indices!], { axis: axis + 1 })], [0]]
      const ib = batchFirst(indices!, di!, n)
      if (dx === null) return [[bind1(gatherRule, [x!, ib], { axis })], [axis]]
      // Both batched: the batch becomes one more indexed axis of x, placed just before the indexed ones.
      const xb = moveAxis(batchFirst(x!, dx!, n), 0, axis)
      return [[bind1(gatherRule, [xb, withBatchCoordinate(ib, n)], { axis })], [axis]]
    },
    // Indices are checked on the CPU backend only; on WebGPU an out-of-range tuple reads 0 (see wgsl.ts).
    webgpu: (ctx, [x, indices], { axis }, [o]) => [gatherNdGpu(ctx, gatherName, x!, indices!, axis, o!)],
  }
  const scatterRule: Rule<GatherNdParams> = {
    name: scatterName,
    abstractEval: ([x, indices, updates], { axis }) => {
      expectDTypes(scatterName, [x!, updates!], ['float32', 'int32'])
      const expected = gatheredShape(scatterName, x!, indices!, axis)
      if (updates!.dtype !== x!.dtype || !shapesEqual(updates!.shape, expected)) {
        fail(scatterName, `updates must be ${describeAval({ shape: expected, dtype: x!.dtype })}, got ${describeAll([x!, indices!, updates!])}`)
      }
      return [{ shape: x!.shape, dtype: x!.dtype }]
    },
    cpu: ([x, indices, updates], { axis }) => [scatterAddNdKernel(scatterName, x!, indices!, updates!, axis)],
    jvp: ([, indices], [tx, , tu], params) => [tx === null || tu === null ? null : bind1(scatterRule, [tx, indices!, tu], params)],
    vjp: ([ct], [, indices], params) => (ct === null ? [null, null, null] : [ct, null, bind1(gatherRule, [ct, indices!], params)]),
    vmap: ([x, indices, updates], [dx, di, du], { axis }, n): [Tensor[], BatchDim[]] => {
      if (di === null) {
        return [[bind1(scatterRule, [batchFirst(x!, dx!, n), indices!, batchFirst(updates!, du!, n)], { axis: axis + 1 })], [0]]
      }
      const xb = moveAxis(batchFirst(x!, dx!, n), 0, axis)
      const ub = moveAxis(batchFirst(updates!, du!, n), 0, axis)
      return [[bind1(scatterRule, [xb, withBatchCoordinate(batchFirst(indices!, di!, n), n), ub], { axis })], [axis]]
    },
    // On WebGPU an out-of-range tuple is dropped; float sums over repeated indices are atomic, in any order.
    webgpu: (ctx, [x, indices, updates], { axis }) => [scatterAddNdGpu(ctx, scatterName, x!, indices!, updates!, axis)],
  }
  return { gatherRule, scatterRule }
}

const takePair = makeGatherPair('take', 'indexAdd')
const gatherPair = makeGatherPair('gather', 'scatterAddNd')
export const takeRule = takePair.gatherRule
export const indexAddRule = takePair.scatterRule
export const gatherRule = gatherPair.gatherRule
export const scatterAddNdRule = gatherPair.scatterRule

/** The check every indexing op makes first: indices are int32 (floats are a common slip). */
export const expectIndices = (op: string, x: Tensor, indices: Tensor): void => {
  if (indices.dtype !== 'int32') fail(op, `indices must be int32, got ${describeAll([x, indices])}; convert them with cast(indices, 'int32')`)
}

/**
 * NumPy `take`: picks entries of `x` along `axis` (no axis: of the flattened x).
 * x: T[A..., n, B...], indices: i32[I...] → T[A..., I..., B...]. Every index must lie in [0, n).
 * Differentiable in x (the gradient scatter-adds into the picked rows; repeated indices accumulate).
 */
export const take = (x: Tensor, indices: Tensor, axis?: number): Tensor => {
  expectIndices('take', x, indices)
  const source = axis === undefined ? reshape(x, [size(x.shape)]) : x
  const ax = normalizeAxis('take', axis ?? 0, source.shape.length)
  return bind1(takeRule, [source, reshape(indices, [...indices.shape, 1])], { axis: ax })
}

/**
 * gather_nd: the last dimension k of `indices` holds coordinates into the first k axes of `x`.
 * x: T[N0..Nk-1, B...], indices: i32[I..., k] → T[I..., B...].
 * This is how detection code picks rows by (batch, index): with `x: f32[B,N,4]` boxes and
 * `indices: i32[M,2]` pairs (image, box), `gather(x, indices)` is `f32[M,4]`.
 */
export const gather = (x: Tensor, indices: Tensor): Tensor => {
  expectIndices('gather', x, indices)
  const k = indices.shape[indices.shape.length - 1]
  if (k === undefined || k > x.shape.length) {
    fail('gather', `indices ${describeAval(indices)} need a last dimension k <= rank of ${describeAval(x)} (coordinates into its first k axes)`)
  }
  return bind1(gatherRule, [x, indices], { axis: 0 })
}
