/**
 * The batching rule shared by the pooling and resizing primitives: they act on each (n, c) plane alone,
 * so a vmapped batch axis folds into N — [B, N, C, H, W] → [B·N, C, H, W] — and unfolds afterwards.
 */
import type { BatchDim } from '../../core/rule.js'
import type { Tensor } from '../../core/tensor.js'
import { batchFirst, reshape } from '../shape/basic.js'

/** Folds every operand's batch axis into N (unbatched operands are broadcast), applies `f`, unfolds. */
export const vmapFoldIntoN = (
  args: readonly Tensor[],
  dims: readonly BatchDim[],
  n: number,
  f: (folded: Tensor[]) => Tensor,
): [Tensor[], BatchDim[]] => {
  const batched = args.map((x, i) => batchFirst(x, dims[i]!, n))
  const perElementN = batched[0]!.shape[1]!
  const y = f(batched.map((b) => reshape(b, [n * b.shape[1]!, ...b.shape.slice(2)])))
  return [[reshape(y, [n, perElementN, ...y.shape.slice(1)])], [0]]
}
