/**
 * reduceMax and reduceMin. Their gradient follows JAX: the cotangent is shared evenly among all the
 * positions that attain the extremum (PyTorch's `amax` does the same), so ties do not pick an arbitrary
 * winner and the rule stays symmetric.
 */
import type { TypedArray } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { Rule } from '../../core/rule.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { cast, div, equal, mul } from '../elementwise/binary.js'
import { expectDTypes } from '../operand.js'
import { stopGradient } from '../transforms.js'
import type { AxisArg } from './axes.js'
import { reduceAlong, reducedShape, type StridedFold } from './kernels.js'
import { type ReduceParams, sum } from './sum.js'
import { extremumFold, reduceGpu } from './wgsl.js'
import { keepReduced, reduceWith, vmapReduce } from './wrap.js'

// NaN wins (NumPy and PyTorch propagate it): once m is NaN no comparison replaces it.
const maxLine: StridedFold = (data, start, length, stride) => {
  let m = data[start]!
  for (let k = 1, p = start + stride; k < length; k++, p += stride) {
    const v = data[p]!
    if (v > m || v !== v) m = v
  }
  return m
}

const minLine: StridedFold = (data, start, length, stride) => {
  let m = data[start]!
  for (let k = 1, p = start + stride; k < length; k++, p += stride) {
    const v = data[p]!
    if (v < m || v !== v) m = v
  }
  return m
}

/** Refuses to reduce a zero-length axis: max and min have no identity (NumPy raises too). */
export const expectNonEmpty = (op: string, x: { shape: readonly number[]; dtype: Tensor['dtype'] }, axes: readonly number[]): void => {
  const empty = axes.filter((a) => x.shape[a] === 0)
  if (empty.length > 0) fail(op, `cannot reduce the empty axis ${empty[0]} of ${describeAval(x)}: ${op} has no identity`)
}

/**
 * Weights that share a cotangent evenly among the positions equal to the extremum `y` (axes dropped).
 * f32[x.shape]. A NaN extremum matches nothing, so its gradient is NaN (0/0), as in JAX.
 */
const tieWeights = (x: Tensor, y: Tensor, axes: readonly number[]): Tensor => {
  const hits = cast(equal(x, keepReduced(y, x.shape, axes)), x.dtype)
  return div(hits, sum(hits, axes, true))
}

const chooserRule = (name: string, op: 'max' | 'min', line: StridedFold): Rule<ReduceParams> => {
  const rule: Rule<ReduceParams> = {
    name,
    abstractEval: ([x], { axes }) => {
      expectDTypes(op, [x!], ['float32', 'int32'], 'for bool use any/all, or cast first')
      expectNonEmpty(op, x!, axes)
      return [{ shape: reducedShape(x!.shape, axes), dtype: x!.dtype }]
    },
    cpu: ([x], { axes }, [o]) => [reduceAlong(x!.data as TypedArray, x!.shape, axes, o!.dtype, line)],
    jvp: ([x], [t], { axes }, [y]) => [t === null ? null : sum(mul(t, tieWeights(x!, y!, axes)), axes)],
    vjp: ([ct], [x], { axes }, [y]) => [ct === null ? null : mul(keepReduced(ct, x!.shape, axes), tieWeights(x!, y!, axes))],
    vmap: (args, dims, params) => vmapReduce(rule)(args, dims, params),
    webgpu: (ctx, [x], { axes }, [o]) => [reduceGpu(ctx, name, extremumFold(op, x!.dtype), x!, axes, o!)],
  }
  return rule
}

export const reduceMaxRule = chooserRule('reduceMax', 'max', maxLine)
export const reduceMinRule = chooserRule('reduceMin', 'min', minLine)

/**
 * Largest element over `axis` (a number, a list, or all axes). NaN propagates. Reducing an empty axis
 * is an error. The gradient is split evenly among tied maxima. x: T[...] → T[reduced], T ∈ {f32, i32}
 */
export const max = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => reduceWith('max', reduceMaxRule, x, axis, keepdims)

/** Smallest element over `axis`; the mirror of `max` (NaN propagates, ties share the gradient). */
export const min = (x: Tensor, axis?: AxisArg, keepdims = false): Tensor => reduceWith('min', reduceMinRule, x, axis, keepdims)

/**
 * `max(x, axes, keepdims=true)` as a constant for the shift in softmax/logsumexp. Stopping the gradient
 * on both sides means neither forward mode (input side) nor reverse mode (output side) spends work on
 * the max's own derivative, which cancels out of those formulas anyway.
 */
export const shiftMax = (x: Tensor, axes: readonly number[]): Tensor =>
  stopGradient(reduceWith('max', reduceMaxRule, stopGradient(x), axes, true))
