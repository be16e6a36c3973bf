/**
 * reduceSum: the reduction every gradient needs (it is broadcastTo's transpose).
 */
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { type Shape, shapesEqual } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { expectDTypes } from '../operand.js'
import { batchFirst, broadcastTo, reshape } from '../shape/basic.js'
import { reductionAxes } from './axes.js'
import { reducedShape, sumAlong } from './kernels.js'
import { reduceGpu, sumFold } from './wgsl.js'

/** `axes`: normalized, sorted, unique. The primitive drops the reduced axes; wrappers add keepdims. */
export type ReduceParams = { readonly axes: readonly number[] }

export const reduceSumRule: Rule<ReduceParams> = {
  name: 'reduceSum',
  abstractEval: ([x], { axes }) => {
    expectDTypes('sum', [x!], ['float32', 'int32'], 'cast bool to int32 or float32 first')
    return [{ shape: reducedShape(x!.shape, axes), dtype: x!.dtype }]
  },
  cpu: ([x], { axes }, [o]) => [sumAlong(x!.data, x!.shape, axes, o!.dtype)],
  jvp: (_, [t], { axes }) => [t === null ? null : bind1(reduceSumRule, [t], { axes })],
  vjp: ([ct], [x], { axes }) => [ct === null ? null : broadcastTo(reshape(ct, reducedShape(x!.shape, axes, true)), x!.shape)],
  vmap: ([x], [d], { axes }, n) => [[bind1(reduceSumRule, [batchFirst(x!, d!, n)], { axes: axes.map((a) => a + 1) })], [0]],
  webgpu: (ctx, [x], { axes }, [o]) => [reduceGpu(ctx, 'reduceSum', sumFold(x!.dtype), x!, axes, o!)],
}

/**
 * Sum over `axis` (a number, a list, or all axes when undefined). x: T[...] → T[reduced]
 */
export const sum = (x: Tensor, axis?: number | readonly number[], keepdims = false): Tensor => {
  const axes = reductionAxes('sum', x, axis)
  const out = axes.length === 0 ? x : bind1(reduceSumRule, [x], { axes })
  return keepdims ? reshape(out, reducedShape(x.shape, axes, true)) : out
}

/**
 * Sums a broadcast result back to `shape` (the transpose of broadcasting `shape` to `ct.shape`): leading
 * extra axes and axes where `shape` has 1 are summed.
 */
export const sumToShape = (ct: Tensor, shape: Shape): Tensor => {
  if (shapesEqual(ct.shape, shape)) return ct
  const lead = ct.shape.length - shape.length
  const axes = ct.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && ct.shape[i] !== 1))
  return reshape(axes.length === 0 ? ct : bind1(reduceSumRule, [ct], { axes }), shape)
}
