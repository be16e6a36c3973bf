/**
 * reduceAll and reduceAny over bool tensors. Only bool is accepted: "truthiness" of floats (is NaN
 * true?) is a question the caller should answer explicitly with a comparison.
 */
import type { Rule } from '../../core/rule.js'
import type { Tensor } from '../../core/tensor.js'
import { expectDTypes } from '../operand.js'
import type { AxisArg } from './axes.js'
import { reduceAlong, reducedShape, type StridedFold } from './kernels.js'
import type { ReduceParams } from './sum.js'
import { logicalFold, reduceGpu } from './wgsl.js'
import { reduceWith, vmapReduce } from './wrap.js'

const allLine: StridedFold = (data, start, length, stride) => {
  for (let k = 0, i = start; k < length; k++, i += stride) if (data[i] === 0) return 0
  return 1
}

const anyLine: StridedFold = (data, start, length, stride) => {
  for (let k = 0, i = start; k < length; k++, i += stride) if (data[i] !== 0) return 1
  return 0
}

const logicalRule = (name: string, op: 'all' | 'any', line: StridedFold): Rule<ReduceParams> => {
  const rule: Rule<ReduceParams> = {
    name,
    abstractEval: ([x], { axes }) => {
      expectDTypes(op, [x!], ['bool'], 'compare first, e.g. notEqual(x, 0)')
      return [{ shape: reducedShape(x!.shape, axes), dtype: 'bool' }]
    },
    cpu: ([x], { axes }) => [reduceAlong(x!.data, x!.shape, axes, 'bool', line)],
    jvp: () => [null],
    vjp: () => [null],
    vmap: (args, dims, params) => vmapReduce(rule)(args, dims, params),
    webgpu: (ctx, [x], { axes }, [o]) => [reduceGpu(ctx, name, logicalFold(op), x!, axes, o!)],
  }
  return rule
}

export const reduceAllRule = logicalRule('reduceAll', 'all', allLine)
export const reduceAnyRule = logicalRule('reduceAny', 'any', anyLine)

/** True where every element over `axis` is true (true for an empty axis). x: bool[...] → bool[reduced] */
export const all = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => reduceWith('all', reduceAllRule, x, axis, keepdims)

/** True where some element over `axis` is true (false for an empty axis). x: bool[...] → bool[reduced] */
export const any = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => reduceWith('any', reduceAnyRule, x, axis, keepdims)
