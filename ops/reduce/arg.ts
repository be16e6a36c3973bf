/**
 * argmax and argmin: the position of the extremum along one axis, as int32. Ties go to the first
 * occurrence and a NaN counts as the extremum for both (NumPy and PyTorch), so `argmax` agrees with
 * `max` when the row holds a NaN. They have no gradient.
 */
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { expectDTypes } from '../operand.js'
import { reshape } from '../shape/basic.js'
import { singleAxis } from './axes.js'
import { expectNonEmpty } from './chooser.js'
import { reduceAlong, reducedShape, type StridedFold } from './kernels.js'
import { argGpu } from './wgsl-arg.js'

export type ArgParams = { readonly axis: number }

const argmaxLine: StridedFold = (data, start, length, stride) => {
  let best = data[start]!
  if (best !== best) return 0
  let at = 0
  for (let k = 1, p = start + stride; k < length; k++, p += stride) {
    const v = data[p]!
    if (v !== v) return k
    if (v > best) {
      best = v
      at = k
    }
  }
  return at
}

const argminLine: StridedFold = (data, start, length, stride) => {
  let best = data[start]!
  if (best !== best) return 0
  let at = 0
  for (let k = 1, p = start + stride; k < length; k++, p += stride) {
    const v = data[p]!
    if (v !== v) return k
    if (v < best) {
      best = v
      at = k
    }
  }
  return at
}

const argRule = (name: 'argmax' | 'argmin', line: StridedFold): Rule<ArgParams> => {
  const rule: Rule<ArgParams> = {
    name,
    abstractEval: ([x], { axis }) => {
      expectDTypes(name, [x!], ['float32', 'int32', 'bool'])
      expectNonEmpty(name, x!, [axis])
      return [{ shape: reducedShape(x!.shape, [axis]), dtype: 'int32' }]
    },
    cpu: ([x], { axis }) => [reduceAlong(x!.data, x!.shape, [axis], 'int32', line)],
    jvp: () => [null],
    vjp: () => [null],
    vmap: ([x], [d], { axis }) => {
      if (d === null || d === undefined) return [[bind1(rule, [x!], { axis })], [null]]
      const physical = axis >= d ? axis + 1 : axis
      return [[bind1(rule, [x!], { axis: physical })], [physical < d ? d - 1 : d]]
    },
    webgpu: (ctx, [x], { axis }, [o]) => [argGpu(ctx, name, x!, axis, o!)],
  }
  return rule
}

export const argmaxRule = argRule('argmax', argmaxLine)
export const argminRule = argRule('argmin', argminLine)

const applyArg = (name: 'argmax' | 'argmin', rule: Rule<ArgParams>, x: Tensor, axis: number | undefined, keepdims: boolean): Tensor => {
  if (axis === undefined) {
    // NumPy: no axis means the index into the flattened tensor.
    const flat = bind1(rule, [reshape(x, [size(x.shape)])], { axis: 0 })
    return keepdims ? reshape(flat, x.shape.map(() => 1)) : flat
  }
  const ax = singleAxis(name, x, axis)
  const out = bind1(rule, [x], { axis: ax })
  return keepdims ? reshape(out, reducedShape(x.shape, [ax], true)) : out
}

/**
 * Index of the largest element along `axis` (undefined: of the flattened tensor, as in NumPy). First
 * occurrence on ties; a NaN counts as the largest. x: T[...] → i32[reduced]
 */
export const argmax = (x: Tensor, axis?: number, keepdims = false): Tensor => applyArg('argmax', argmaxRule, x, axis, keepdims)

/** Index of the smallest element along `axis`; first occurrence on ties; a NaN counts as the smallest. */
export const argmin = (x: Tensor, axis?: number, keepdims = false): Tensor => applyArg('argmin', argminRule, x, axis, keepdims)
