/**
 * The public-wrapper side of every reduction primitive: axis handling, keepdims, and putting a
 * reduced value back in its input's shape for gradient rules.
 */
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import type { Shape } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { reshape } from '../shape/basic.js'
import { type AxisArg, axesPastBatch, batchAfterReduce, reductionAxes } from './axes.js'
import { reducedShape } from './kernels.js'
import type { ReduceParams } from './sum.js'

/**
 * Applies the reduction primitive `rule` over `axis` of `x`. An empty axis list is the identity (as in
 * NumPy), but the dtype rule still runs so that e.g. `all(floatTensor, [])` is refused.
 */
export const reduceWith = (op: string, rule: Rule<ReduceParams>, x: Tensor, axis: AxisArg, keepdims: boolean): Tensor => {
  const axes = reductionAxes(op, x, axis)
  if (axes.length === 0) {
    rule.abstractEval([x], { axes })
    return x
  }
  const out = bind1(rule, [x], { axes })
  return keepdims ? reshape(out, reducedShape(x.shape, axes, true)) : out
}

/** A reduced value (axes dropped) reshaped so that it broadcasts against the unreduced `shape`. */
export const keepReduced = (y: Tensor, shape: Shape, axes: readonly number[]): Tensor => reshape(y, reducedShape(shape, axes, true))

/**
 * The batching rule shared by reductions: the batch axis stays where it is and the reduced axes are
 * shifted past it, so no transpose is needed.
 */
export const vmapReduce = (rule: Rule<ReduceParams>) =>
  ([x]: readonly Tensor[], [d]: readonly BatchDim[], { axes }: ReduceParams): [Tensor[], BatchDim[]] => {
    if (d === null || d === undefined) return [[bind1(rule, [x!], { axes })], [null]]
    const physical = axesPastBatch(axes, d)
    return [[bind1(rule, [x!], { axes: physical })], [batchAfterReduce(physical, d)]]
  }
