/**
 * The runtime's pending chain (eager fusion): consecutive deferred kernels of one fuser wait here until
 * something needs the GPU — another dispatch, a readback, a submit — and are then emitted by their fuser.
 * The chain holds a reference to every buffer it reads from outside (a scope may end meanwhile), but
 * none to its outputs: an output whose last reference is gone by emission time is never written. A
 * released output's buffer cannot be reused before then, since reuse waits for a submit, which emits.
 */
import type { DeferredKernel, GpuArray, GpuContext, KernelFuser } from '../../rule.js'
import type { GpuHandle } from './runtime.js'

export type Pending = {
  /** Adds `kernel` to the chain, emitting the chain first when `fuser` does not accept it there. */
  readonly defer: <K extends DeferredKernel>(kernel: K, fuser: KernelFuser<K>, ctx: GpuContext) => void
  /** Emits the chain, if any, and releases what it held. */
  readonly emit: () => void
  /** On (the default) or off: when off, each kernel is emitted as soon as it is deferred. */
  readonly setEnabled: (on: boolean) => void
}

type Chain = {
  readonly fuser: KernelFuser<DeferredKernel>
  readonly ctx: GpuContext
  readonly kernels: DeferredKernel[]
  readonly held: GpuHandle[]
  readonly produced: Set<unknown>
}

/**
 * `handleOf` checks that an input is still usable and returns its handle; `release` drops one reference;
 * `lost` says whether the device failed (then nothing is emitted: whoever asked fails with the loss).
 */
export const createPending = (handleOf: (x: GpuArray) => GpuHandle, release: (h: GpuHandle) => void, lost: () => boolean): Pending => {
  let chain: Chain | undefined
  let enabled = true

  const emit = (): void => {
    const c = chain
    if (c === undefined) return
    chain = undefined
    try {
      if (!lost()) c.fuser.emit(c.ctx, c.kernels, c.kernels.map((k) => (k.output.buffer as GpuHandle).refs > 0))
    } finally {
      for (const h of c.held) release(h)
    }
  }

  const defer = <K extends DeferredKernel>(kernel: K, fuser: KernelFuser<K>, ctx: GpuContext): void => {
    if (chain !== undefined && (chain.fuser !== fuser || !fuser.accepts(chain.kernels as unknown as K[], kernel))) emit()
    const c = (chain ??= { fuser: fuser as unknown as KernelFuser<DeferredKernel>, ctx, kernels: [], held: [], produced: new Set() })
    for (const x of kernel.inputs) {
      if (c.produced.has(x.buffer)) continue
      const h = handleOf(x)
      h.refs++
      c.held.push(h)
    }
    c.produced.add(kernel.output.buffer)
    c.kernels.push(kernel)
    if (!enabled) emit()
  }

  return {
    defer,
    emit,
    setEnabled: (on) => {
      emit()
      enabled = on
    },
  }
}
