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

/** An operand on the GPU: an opaque buffer handle with its aval (bool is stored as one u32 per element). */
export type GpuArray = Aval & { readonly buffer: unknown }

/**
 * One compute dispatch. Binding convention of `code`: `@group(0) @binding(0)` is a 256-byte uniform block
 * (`array<vec4<u32>, 16>`, filled from `uniforms`, 64 u32 words — floats as bit patterns), then one
 * storage binding per input (read) and per output (read_write), in order. Shapes travel in the uniforms,
 * so one shader serves every shape (the pipeline cache is keyed by `code`).
 */
export type GpuKernel = {
  readonly name: string
  readonly code: string
  readonly inputs: readonly GpuArray[]
  readonly outputs: readonly GpuArray[]
  readonly uniforms?: readonly number[]
  readonly workgroups: readonly [number, number, number]
}

/**
 * A kernel the runtime may hold back to fuse with the next ones (eager fusion): it computes `output`
 * from `inputs`, and its fuser knows how. Until the chain is emitted, `output` holds no data.
 */
export type DeferredKernel = { readonly name: string; readonly inputs: readonly GpuArray[]; readonly output: GpuArray }

/** How a family of deferred kernels (the elementwise ops) joins into chains and is emitted. */
export type KernelFuser<K extends DeferredKernel> = {
  /** Whether `next` may join `chain` (one kernel's bindings, values read at the shape they were computed). */
  readonly accepts: (chain: readonly K[], next: K) => boolean
  /** Records the dispatches computing each `chain[i].output` with `live[i]`; dead outputs need not be written. */
  readonly emit: (ctx: GpuContext, chain: readonly K[], live: readonly boolean[]) => void
}

/** What a WebGPU lowering may do: allocate outputs and record dispatches (executed in order). */
export type GpuContext = {
  readonly alloc: (aval: Aval) => GpuArray
  readonly dispatch: (kernel: GpuKernel) => void
  /**
   * Records `kernel` to be emitted by `fuser` with the kernels deferred after it, before anything reads its
   * output (the next other dispatch, readback or submit). Absent where nothing may be deferred.
   */
  readonly defer?: <K extends DeferredKernel>(kernel: K, fuser: KernelFuser<K>) => void
  /**
   * The content of a one-element `x` uploaded from the host, as its u32 word (f32 bits, i32, bool 0/1),
   * when the runtime knows it; such a value may travel in a kernel's uniforms instead of a binding.
   */
  readonly hostWord?: (x: GpuArray) => number | undefined
  /** A view of `x` with another shape (same element count and dtype); no copy. */
  readonly reshape: (x: GpuArray, shape: Shape) => GpuArray
  readonly maxWorkgroupsPerDimension: number
  readonly maxWorkgroupStorageBytes: number
  /** Optional device features that were enabled (e.g. 'subgroups', 'shader-f16'); kernels may specialise on them. */
  readonly features?: readonly string[]
  /** With 'subgroups': the adapter's [min, max] subgroup size, so kernels can leave out paths that cannot run. */
  readonly subgroupSizes?: readonly [number, number]
}

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
  /**
   * WebGPU lowering: records the dispatches that compute the outputs from `inputs`. Required: every
   * primitive runs on both backends (a rule without one does not compile).
   */
  readonly webgpu: (ctx: GpuContext, inputs: readonly GpuArray[], params: P, outAvals: readonly Aval[]) => GpuArray[]
}
