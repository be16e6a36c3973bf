/**
 * The handful of ops the interpreters themselves need (accumulating cotangents, zero tangents, moving
 * batch axes). core cannot import ops/, so transformations receive this record from ops/transforms.ts.
 */
import type { DType } from '../dtype.js'
import type { Shape } from '../shape.js'
import type { Tensor } from '../tensor.js'

export type AdOps = {
  readonly add: (a: Tensor, b: Tensor) => Tensor
  readonly zeros: (shape: Shape, dtype: DType) => Tensor
  readonly full: (shape: Shape, value: number, dtype: DType) => Tensor
  /** Moves axis `from` of `x` to position `to`. */
  readonly moveAxis: (x: Tensor, from: number, to: number) => Tensor
  /** Inserts a new axis of length `size` at `axis` (a broadcast, no copy semantics implied). */
  readonly broadcastAxis: (x: Tensor, axis: number, size: number) => Tensor
  /** `x[..., i, ...]` along `axis`, dropping that axis. */
  readonly indexAxis: (x: Tensor, i: number, axis: number) => Tensor
  /** Stacks equally shaped tensors along a new `axis`. */
  readonly stack: (xs: readonly Tensor[], axis: number) => Tensor
}
