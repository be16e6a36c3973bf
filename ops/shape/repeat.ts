/**
 * tile and repeat, NumPy semantics. Both are a reshape, a broadcast and a reshape, so their gradients
 * come from broadcastTo (a sum); repeat with per-element counts is a `take` with constant indices.
 */
import { fail } from '../../core/errors.js'
import { normalizeAxis, size } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { tensor } from '../creation.js'
import { take } from '../gather/gather-nd.js'
import { broadcastTo, reshape } from './basic.js'

const checkCounts = (op: string, x: Tensor, counts: readonly number[], what: string): void => {
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) fail(op, `${what} must be non-negative integers, got [${counts.join(',')}] for ${describeAval(x)}`)
}

/**
 * Repeats the whole of `x` `reps[i]` times along axis i (NumPy `tile`): the shorter of x's shape and
 * `reps` is padded with leading 1s. x: T[2,3], reps [2,1] → T[4,3]; reps [2] → T[2,6]
 */
export const tile = (x: Tensor, reps: number | readonly number[]): Tensor => {
  const list = typeof reps === 'number' ? [reps] : reps
  checkCounts('tile', x, list, 'reps')
  const rank = Math.max(x.shape.length, list.length)
  const dims = [...new Array<number>(rank - x.shape.length).fill(1), ...x.shape]
  const r = [...new Array<number>(rank - list.length).fill(1), ...list]
  const interleaved = dims.flatMap((d) => [1, d])
  const expanded = broadcastTo(reshape(x, interleaved), dims.flatMap((d, i) => [r[i]!, d]))
  return reshape(expanded, dims.map((d, i) => d * r[i]!))
}

/**
 * Repeats each element of `x` along `axis` (NumPy `repeat`; no axis: of the flattened x). `repeats` is
 * one count for every element, or one count per element of the axis.
 * x: T[..., d, ...] → T[..., d·repeats, ...] (or Σ repeats)
 */
export const repeat = (x: Tensor, repeats: number | readonly number[], axis?: number): Tensor => {
  const source = axis === undefined ? reshape(x, [size(x.shape)]) : x
  const ax = normalizeAxis('repeat', axis ?? 0, source.shape.length)
  const d = source.shape[ax]!
  const counts = typeof repeats === 'number' ? [repeats] : repeats
  checkCounts('repeat', x, counts, 'repeats')
  if (counts.length === 1) {
    const k = counts[0]!
    const shape = [...source.shape.slice(0, ax + 1), 1, ...source.shape.slice(ax + 1)]
    const target = shape.map((s, i) => (i === ax + 1 ? k : s))
    return reshape(broadcastTo(reshape(source, shape), target), source.shape.map((s, i) => (i === ax ? s * k : s)))
  }
  if (counts.length !== d) fail('repeat', `got ${counts.length} repeats for axis ${ax} of size ${d} in ${describeAval(x)}; give one count, or one per element`)
  const indices = counts.flatMap((c, i) => new Array<number>(c).fill(i))
  return take(source, tensor(Int32Array.from(indices), { shape: [indices.length] }), ax)
}
