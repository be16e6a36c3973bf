/**
 * A primitive is one record of rules (JAX keeps `exp_p`, its jvp and its lowering side by side; so do we).
 * `bind` (interpreters/stack.ts) takes the rule record itself, so core needs no table of names; the ops
 * package assembles the typed table `{ [P in PrimitiveName]: Rule<Params[P]> }` so a missing rule is a
 * compile error.
 */
import type { DType, TypedArray } from './dtype.js'
import type { Shape } from './shape.js'
import type { Aval, Tensor } from './tensor.js'

/** A concrete CPU operand: contiguous row-major data. */
export type CpuArray = { readonly data: TypedArray; readonly shape: Shape; readonly dtype: DType }

/** Batch dimension of a vmapped value, or `null` when the value is the same for every batch element. */
export type BatchDim = number | null

export type Rule<P> = {
  readonly name: string
  /** Shape/dtype rule: checks the operands and returns the output avals; throws a FoveaError naming the op. */
  readonly abstractEval: (inputs: readonly Aval[], params: P) => Aval[]
  /** Reference kernel over contiguous typed arrays. Must not mutate its inputs. */
  readonly cpu: (inputs: readonly CpuArray[], params: P, outAvals: readonly Aval[]) => TypedArray[]
  /**
   * Forward-mode rule. `tangents[i]` is null for integer/bool inputs (they have no tangent); `outs` are the
   * primal outputs already computed. Returns one tangent per output, null for integer/bool outputs.
   */
  readonly jvp: (primals: readonly Tensor[], tangents: readonly (Tensor | null)[], params: P, outs: readonly Tensor[]) => (Tensor | null)[]
  /**
   * Reverse-mode rule: given output cotangents (null = zero), returns one cotangent per input (null = zero
   * or not differentiable). Written with ops, so it is itself differentiable (higher-order AD).
   * `wants[i]` is false when input i needs no cotangent (a constant, an integer): expensive rules (matmul,
   * conv) skip that work and return null; cheap rules may ignore it.
   */
  readonly vjp: (cts: readonly (Tensor | null)[], primals: readonly Tensor[], params: P, outs: readonly Tensor[], wants: readonly boolean[]) => (Tensor | null)[]
  /**
   * Batching rule. Optional: without it, vmap maps the primitive over the batch one element at a time
   * (correct, slower). Receives values with their batch dims and returns outputs with theirs.
   */
  readonly vmap?: (args: readonly Tensor[], dims: readonly BatchDim[], params: P, size: number) => [Tensor[], BatchDim[]]
}
