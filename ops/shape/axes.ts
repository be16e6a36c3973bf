/**
 * Adding and removing axes of length 1: reshapes with an axis-level contract, so that a squeeze of an axis
 * that is not 1 fails loudly instead of silently reshaping data.
 */
import { fail } from '../../core/errors.js'
import { normalizeAxes } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { reshape } from './basic.js'

/**
 * Inserts axes of length 1 at `axis` (a number or a list; positions in the result, negative counted from
 * its end, as in NumPy). x: T[d0..] with axis=1 → T[d0,1,d1..]
 */
export const expandDims = (x: Tensor, axis: number | readonly number[]): Tensor => {
  const added = typeof axis === 'number' ? 1 : axis.length
  const rank = x.shape.length + added
  const axes = normalizeAxes('expandDims', axis, rank)
  const shape: number[] = []
  let k = 0
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[k++]!)
  return reshape(x, shape)
}

/**
 * Removes axes of length 1: those named by `axis` (each must have length 1), or every such axis when
 * `axis` is undefined. x: T[2,1,3] → T[2,3]
 */
export const squeeze = (x: Tensor, axis?: number | readonly number[]): Tensor => {
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axis, x.shape.length)
  for (const a of axes) {
    if (x.shape[a] !== 1) fail('squeeze', `cannot squeeze axis ${a} of size ${x.shape[a]} in ${describeAval(x)}; only axes of length 1 can be removed`)
  }
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)))
}
