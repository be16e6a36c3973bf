/**
 * Axis arguments of the reductions. Kept free of ops imports so that sum.ts (which the shape family
 * imports) can use it without an import cycle.
 */
import { fail } from '../../core/errors.js'
import { type Aval, describeAval } from '../../core/tensor.js'

/** What a reduction accepts for `axis`: one axis, a list, or undefined for all axes. */
export type AxisArg = number | readonly number[] | undefined

/**
 * Normalizes `axis` against `x` (negative axes count from the end) to sorted unique axes. Unlike
 * core's `normalizeAxes`, the message names the operand, since "axis 2 out of range" alone does not
 * say which call went wrong.
 */
export const reductionAxes = (op: string, x: Aval, axis: AxisArg): number[] => {
  const r = x.shape.length
  if (axis === undefined) return Array.from({ length: r }, (_, i) => i)
  const list = typeof axis === 'number' ? [axis] : axis
  if (!Array.isArray(list)) return fail(op, `axis must be a number, a list of numbers or undefined, got ${typeof axis} for ${describeAval(x)}`)
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -r || a >= r) fail(op, `axis ${a} is out of range for ${describeAval(x)} (rank ${r})`)
    return a < 0 ? a + r : a
  })
  if (new Set(out).size !== out.length) fail(op, `duplicate axes [${list.join(',')}] for ${describeAval(x)}`)
  return out.sort((a, b) => a - b)
}

/** One axis (for argmax, cumsum, ...): a list is refused with a message saying so. */
export const singleAxis = (op: string, x: Aval, axis: number): number => {
  if (typeof axis !== 'number') fail(op, `takes a single axis (a number), got ${JSON.stringify(axis)} for ${describeAval(x)}`)
  return reductionAxes(op, x, axis)[0]!
}

/** Physical axes of logical `axes` when a batch axis sits at `bdim` (vmap rules). */
export const axesPastBatch = (axes: readonly number[], bdim: number): number[] => axes.map((a) => (a >= bdim ? a + 1 : a))

/** Where the batch axis lands after `axes` (physical, batch-aware) are reduced away. */
export const batchAfterReduce = (axes: readonly number[], bdim: number): number => bdim - axes.filter((a) => a < bdim).length
