/**
 * oneHot: label indices to indicator vectors, as a comparison against `arange(numClasses)` (so vmap and
 * jit see ordinary elementwise ops).
 */
import { type DType, isDType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { arange } from '../creation.js'
import { cast, equal } from '../elementwise/binary.js'
import { reshape } from '../shape/basic.js'

/**
 * Indicator vectors: `out[..., c] = (indices[...] == c)`. An index outside [0, numClasses) — negative
 * included — gives an all-zero row, as `jax.nn.one_hot` does (PyTorch's `one_hot` raises instead), which
 * lets an "ignore" label such as -1 drop out of a loss without a mask.
 * indices: i32[...] → dtype[..., numClasses]
 */
export const oneHot = (indices: Tensor, numClasses: number, dtype: DType = 'float32'): Tensor => {
  if (indices.dtype !== 'int32') fail('oneHot', `indices must be int32, got ${describeAval(indices)}; cast(x, 'int32') first`)
  if (!Number.isInteger(numClasses) || numClasses < 0) fail('oneHot', `numClasses must be a non-negative integer, got ${numClasses} for indices ${describeAval(indices)}`)
  if (!isDType(dtype)) fail('oneHot', `unknown dtype ${JSON.stringify(dtype)} for indices ${describeAval(indices)}; expected float32, int32 or bool`)
  const hits = equal(reshape(indices, [...indices.shape, 1]), arange(0, numClasses, 1, 'int32'))
  return cast(hits, dtype)
}
