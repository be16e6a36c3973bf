/**
 * PyTorch's `adaptive_max_pool2d` (values only): output cell (i, j) is the maximum of input bin
 * rows [floor(i·H/OH), ceil((i+1)·H/OH)) × columns [floor(j·W/OW), ceil((j+1)·W/OW)). The maximum over a
 * rectangle is the maximum over its rows of the maxima over its columns, so the op is two passes of
 * per-bin `max` reductions. When the sizes divide evenly the bins are the windows of `maxPool2d` with
 * kernel = stride = H/OH, and that primitive runs instead (PyTorch's gradient exactly: ties go to the
 * first maximum). Otherwise ties share the gradient, as `max` does — the values are the same.
 */
import { describeAval, type Tensor } from '../../core/tensor.js'
import { fail } from '../../core/errors.js'
import { max } from '../reduce/chooser.js'
import { concat, slice } from '../shape/slice.js'
import { adaptiveBin } from '../resize/taps.js'
import { maxPool2d } from './max.js'
import { type Pair, expectNchw, intPair } from './geometry.js'

/** Maxima of x over the adaptive bins of `axis` (2 or 3) into `out` cells. */
const binMax = (x: Tensor, axis: 2 | 3, out: number): Tensor => {
  const size = x.shape[axis]!
  const cells = Array.from({ length: out }, (_, i) => {
    const [lo, hi] = adaptiveBin(i, size, out)
    const begin = [0, 0, 0, 0]
    const end = [...x.shape]
    begin[axis] = lo
    end[axis] = hi
    return max(slice(x, begin, end), axis, true)
  })
  return cells.length === 1 ? cells[0]! : concat(cells, axis)
}

/** `outputSize`: a number or [OH, OW]. x: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const adaptiveMaxPool2d = (x: Tensor, outputSize: number | Pair): Tensor => {
  expectNchw('adaptiveMaxPool2d', x)
  const [oh, ow] = intPair('adaptiveMaxPool2d', 'outputSize', outputSize, 1, x)
  const [h, w] = [x.shape[2]!, x.shape[3]!]
  if (h === 0 || w === 0) fail('adaptiveMaxPool2d', `input ${describeAval(x)} has an empty spatial axis`)
  if (h % oh === 0 && w % ow === 0) return maxPool2d(x, { kernelSize: [h / oh, w / ow] })
  return binMax(binMax(x, 2, oh), 3, ow)
}
