/**
 * Reading values back to the host — the only asynchronous step. Inside grad/vjp/jvp the primal value is
 * readable (differentiation is eager); inside vmap and jit a value is abstract and reading it throws.
 */
import type { TypedArray } from '../core/dtype.js'
import { fail } from '../core/errors.js'
import { getBackendRecord } from '../core/backend/registry.js'
import { jvpPrimal } from '../core/interpreters/jvp.js'
import { vjpPrimal } from '../core/interpreters/vjp.js'
import { isJitTracer, jitMisuse } from '../core/interpreters/jit.js'
import { type Concrete, type Tensor, describeAval } from '../core/tensor.js'
import type { NestedArray } from './creation.js'

const concreteOf = (op: string, x: Tensor): Concrete => {
  let v: Tensor = x
  while (v.kind === 'tracer') {
    const primal = jvpPrimal(v) ?? vjpPrimal(v)
    if (primal === undefined && isJitTracer(v)) return jitMisuse(op, `reading the value of a ${describeAval(x)}`)
    if (primal === undefined) {
      return fail(op, `cannot read the value of a ${describeAval(x)} traced by ${v.trace.name}: its value is not known while the function is being transformed. Compute on tensors instead, or move the read outside the transformation.`)
    }
    v = primal
  }
  return v
}

/**
 * The flat row-major contents of `x` (a fresh copy the caller owns). Inside jit or vmap, where values are
 * unknown, it throws at once (so the mistake surfaces where it is made, not in a stray promise).
 */
export const toArray = (x: Tensor): Promise<TypedArray> => getBackendRecord().read(concreteOf('toArray', x))

/** The contents of `x` as nested JS arrays (numbers; bool as true/false). */
export const toNested = (x: Tensor): Promise<NestedArray> => toArray(x).then((data) => {
  const convert = (i: number): number | boolean => (x.dtype === 'bool' ? data[i] !== 0 : data[i]!)
  const build = (axis: number, offset: number): NestedArray => {
    if (axis === x.shape.length) return convert(offset)
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1)
    return Array.from({ length: x.shape[axis]! }, (_, i) => build(axis + 1, offset + i * inner))
  }
  return build(0, 0)
})

/** The single value of a one-element tensor. */
export const item = (x: Tensor): Promise<number> => {
  if (x.shape.reduce((a, b) => a * b, 1) !== 1) fail('item', `expected a tensor with one element, got ${describeAval(x)}`)
  return toArray(x).then((data) => data[0]!)
}
