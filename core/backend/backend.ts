/**
 * What a backend provides to the evaluator: run one primitive on concrete tensors, move host data in
 * and out. The CPU backend is the reference; WebGPU implements the same record.
 */
import type { DType, TypedArray } from '../dtype.js'
import type { Shape } from '../shape.js'
import type { Aval, AnyRule, Concrete } from '../tensor.js'

export type Backend = {
  readonly name: string
  readonly run: (rule: AnyRule, inputs: readonly Concrete[], params: unknown, outAvals: readonly Aval[]) => Concrete[]
  readonly fromTypedArray: (data: TypedArray, shape: Shape, dtype: DType) => Concrete
  readonly read: (x: Concrete) => Promise<TypedArray>
  readonly info: () => BackendInfo
  /** Runs `fn` and returns the source of every GPU kernel it dispatched (GPU backends only). */
  readonly recordKernels?: (fn: () => unknown) => string[]
  /** GPU backends: submits the work recorded so far (a jitted call ends with one submission). */
  readonly submit?: () => void
  /** From now on, times every kernel (GPU timestamps on webgpu, wall time per op on cpu). */
  readonly startProfile: () => void
  /** Waits for the work recorded so far and returns the time of every kernel since `startProfile`. */
  readonly stopProfile: () => Promise<KernelTime[]>
}

/** One kernel launch and how long it ran, in milliseconds. */
export type KernelTime = { readonly name: string; readonly ms: number }

export type BackendInfo = {
  readonly backend: string
  readonly adapter: string
  /** GPU backends: the adapter's vendor and architecture as the driver reports them (may be empty). */
  readonly vendor?: string
  readonly architecture?: string
  /** Bytes of the buffers held by live tensors. */
  readonly liveBytes: number
  /** GPU backends: bytes of free buffers kept for reuse (bounded; see webgpu/pool.ts). */
  readonly pooledBytes?: number
  readonly limits: Readonly<Record<string, number>>
  readonly features: readonly string[]
}
