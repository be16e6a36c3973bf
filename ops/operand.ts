/**
 * Operand handling shared by the public op wrappers: plain JS numbers become weakly typed scalars (they
 * take the other operand's dtype, as in JAX), and dtype checks produce messages naming op, shapes, dtypes.
 */
import { type DType, promote, weakDType } from '../core/dtype.js'
import { fail } from '../core/errors.js'
import { type Aval, type Tensor, describeAval, isTensor } from '../core/tensor.js'
import { full } from './creation.js'

/** A tensor or a plain JS scalar. */
export type TensorLike = Tensor | number | boolean

/** Converts `x` to a tensor; numbers become 0-d tensors of `dtype`. */
export const asTensor = (op: string, x: TensorLike, dtype: DType): Tensor => {
  if (isTensor(x)) return x
  if (typeof x === 'number' || typeof x === 'boolean') return full([], x, dtype)
  return fail(op, `expected a tensor or a number, got ${describeValue(x)}`)
}

export const describeValue = (x: unknown): string =>
  isTensor(x) ? describeAval(x) : x === null ? 'null' : Array.isArray(x) ? 'an array (wrap it with tensor())' : typeof x

/** The common dtype of operands, where numbers are weak (they adapt to the tensors' dtype). */
export const resultDType = (op: string, operands: readonly TensorLike[]): DType => {
  const tensors = operands.filter(isTensor)
  if (tensors.length === 0) {
    return operands.every((x) => typeof x === 'boolean') ? 'bool' : 'float32'
  }
  let d = tensors.map((t) => t.dtype).reduce(promote)
  for (const x of operands) if (!isTensor(x)) d = weakDType(x as number | boolean, d)
  return d
}

export const describeAll = (xs: readonly Aval[]): string => xs.map(describeAval).join(', ')

/** Throws unless every operand's dtype is in `allowed`. */
export const expectDTypes = (op: string, xs: readonly Aval[], allowed: readonly DType[], hint = ''): void => {
  for (const x of xs) {
    if (!allowed.includes(x.dtype)) {
      fail(op, `expected ${allowed.join(' or ')} operands, got ${describeAll(xs)}${hint ? `; ${hint}` : ''}`)
    }
  }
}
