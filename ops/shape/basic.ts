/**
 * The layout primitives every other family leans on: reshape, broadcastTo, transpose. Their gradients
 * are each other (broadcastTo's transpose is a sum, see reduce/sum.ts).
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Shape, broadcastShapes, checkShape, normalizeAxis, shapesEqual, size, stridesOf } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { elementwiseKernel } from '../elementwise/kernels.js'
import { sumToShape } from '../reduce/sum.js'
import { inversePermutation, permuteData } from './layout.js'
import { stridedGatherGpu } from './wgsl.js'
import { broadcastStridesPadded } from '../wgsl/prelude.js'

export type ReshapeParams = { readonly shape: Shape }
export type BroadcastParams = { readonly shape: Shape }
export type TransposeParams = { readonly perm: readonly number[] }

/** Moves the batch axis of a vmapped operand to the front (a no-op when it is already there). */
export const batchFirst = (x: Tensor, bdim: BatchDim, size: number): Tensor =>
  bdim === null ? broadcastTo(expandDims0(x), [size, ...x.shape]) : bdim === 0 ? x : moveAxis(x, bdim, 0)

const expandDims0 = (x: Tensor): Tensor => reshape(x, [1, ...x.shape])

export const reshapeRule: Rule<ReshapeParams> = {
  name: 'reshape',
  abstractEval: ([x], { shape }) => {
    checkShape('reshape', shape)
    if (size(shape) !== size(x!.shape)) fail('reshape', `cannot reshape ${describeAval(x!)} to [${shape.join(',')}] (${size(x!.shape)} vs ${size(shape)} elements)`)
    return [{ shape, dtype: x!.dtype }]
  },
  // Tensors are immutable, so a reshape shares its input's storage.
  cpu: ([x]) => [x!.data],
  jvp: (_, [t], { shape }) => [t === null ? null : reshape(t, shape)],
  vjp: ([ct], [x]) => [ct === null ? null : reshape(ct, x!.shape)],
  vmap: ([x], [d], { shape }, n) => [[reshape(batchFirst(x!, d!, n), [n, ...shape])], [0]],
  webgpu: (ctx, [x], { shape }) => [ctx.reshape(x!, shape)],
}

/**
 * Gives `x` the shape `shape` (`-1` once allowed for an inferred dimension).
 * x: T[...] → T[shape]
 */
export const reshape = (x: Tensor, shape: Shape): Tensor => {
  const inferred = shape.indexOf(-1)
  let target = shape
  if (inferred >= 0) {
    const known = shape.reduce((a, d, i) => (i === inferred ? a : a * d), 1)
    if (shape.lastIndexOf(-1) !== inferred || known === 0 || size(x.shape) % known !== 0) {
      fail('reshape', `cannot infer -1 in [${shape.join(',')}] for ${describeAval(x)}`)
    }
    target = shape.map((d, i) => (i === inferred ? size(x.shape) / known : d))
  }
  return shapesEqual(target, x.shape) ? x : bind1(reshapeRule, [x], { shape: target })
}

const copyKernel = elementwiseKernel('a', 1)

export const broadcastToRule: Rule<BroadcastParams> = {
  name: 'broadcastTo',
  abstractEval: ([x], { shape }) => {
    checkShape('broadcastTo', shape)
    const out = broadcastShapes('broadcastTo', [x!.shape, shape], () => `${describeAval(x!)} to [${shape.join(',')}]`)
    if (!shapesEqual(out, shape)) fail('broadcastTo', `cannot broadcast ${describeAval(x!)} to [${shape.join(',')}]`)
    return [{ shape, dtype: x!.dtype }]
  },
  cpu: ([x], _, [o]) => [copyKernel([x!], o!.shape, o!.dtype)],
  jvp: (_, [t], { shape }) => [t === null ? null : broadcastTo(t, shape)],
  vjp: ([ct], [x]) => [ct === null ? null : sumToShape(ct, x!.shape)],
  vmap: ([x], [d], { shape }, n) => {
    const xb = batchFirst(x!, d!, n)
    const padded = reshape(xb, [n, ...new Array(shape.length - (xb.shape.length - 1)).fill(1), ...xb.shape.slice(1)])
    return [[broadcastTo(padded, [n, ...shape])], [0]]
  },
  webgpu: (ctx, [x], { shape }, [o]) => [stridedGatherGpu(ctx, 'broadcastTo', x!, o!, broadcastStridesPadded(x!.shape, shape))],
}

/** NumPy broadcasting of `x` to `shape`. x: T[...] → T[shape] */
export const broadcastTo = (x: Tensor, shape: Shape): Tensor =>
  shapesEqual(x.shape, shape) ? x : bind1(broadcastToRule, [x], { shape })

export const transposeRule: Rule<TransposeParams> = {
  name: 'transpose',
  abstractEval: ([x], { perm }) => {
    const r = x!.shape.length
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      fail('transpose', `permutation [${perm.join(',')}] is not a permutation of the ${r} axes of ${describeAval(x!)}`)
    }
    return [{ shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype }]
  },
  cpu: ([x], { perm }) => [permuteData(x!.data, x!.shape, perm)],
  jvp: (_, [t], { perm }) => [t === null ? null : transpose(t, perm)],
  vjp: ([ct], _, { perm }) => [ct === null ? null : transpose(ct, inversePermutation(perm))],
  vmap: ([x], [d], { perm }, n) => [[transpose(batchFirst(x!, d!, n), [0, ...perm.map((p) => p + 1)])], [0]],
  webgpu: (ctx, [x], { perm }, [o]) => {
    const strides = stridesOf(x!.shape)
    return [stridedGatherGpu(ctx, 'transpose', x!, o!, perm.map((p) => strides[p]!))]
  },
}

/**
 * Permutes the axes of `x` (default: reverses them). Axes may be negative.
 * x: T[d0..dn] → T[d_perm0..d_permn]
 */
export const transpose = (x: Tensor, perm?: readonly number[]): Tensor => {
  const r = x.shape.length
  const p = perm === undefined ? Array.from({ length: r }, (_, i) => r - 1 - i) : perm.map((a) => normalizeAxis('transpose', a, r))
  return p.every((a, i) => a === i) && p.length === r ? x : bind1(transposeRule, [x], { perm: p })
}

/** Moves axis `from` to position `to`, keeping the others in order. */
export const moveAxis = (x: Tensor, from: number, to: number): Tensor => {
  const r = x.shape.length
  const f = normalizeAxis('moveAxis', from, r)
  const t = normalizeAxis('moveAxis', to, r)
  const rest = Array.from({ length: r }, (_, i) => i).filter((i) => i !== f)
  rest.splice(t, 0, f)
  return transpose(x, rest)
}

