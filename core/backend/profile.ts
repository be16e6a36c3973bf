/**
 * `profile(fn)`: runs `fn` (sync or async) on the current backend and reports how long each kernel it
 * launched ran — GPU time from timestamp queries on webgpu, wall time per op on cpu. On webgpu each
 * dispatch gets a compute pass of its own while profiling, so a profiled call is a little slower than
 * an unprofiled one; the per-kernel times are what the GPU spent.
 */
import type { KernelTime } from './backend.js'
import { getBackendRecord } from './registry.js'

/** Time per kernel name, summed over its launches. */
export type KernelSummary = { readonly name: string; readonly count: number; readonly ms: number }

export type Profile<R> = {
  readonly result: R
  /** Every launch in order. */
  readonly kernels: readonly KernelTime[]
  /** Per kernel name, most time first. */
  readonly summary: readonly KernelSummary[]
  /** Sum of the kernel times (ms). */
  readonly totalMs: number
}

export const summarize = (kernels: readonly KernelTime[]): KernelSummary[] => {
  const byName = new Map<string, { count: number; ms: number }>()
  for (const k of kernels) {
    const s = byName.get(k.name) ?? { count: 0, ms: 0 }
    byName.set(k.name, { count: s.count + 1, ms: s.ms + k.ms })
  }
  return [...byName].map(([name, s]) => ({ name, ...s })).sort((a, b) => b.ms - a.ms)
}

export const profile = async <R>(fn: () => R | Promise<R>): Promise<Profile<R>> => {
  const backend = getBackendRecord()
  backend.startProfile()
  let result: R
  try {
    result = await fn()
  } catch (e) {
    await backend.stopProfile()
    throw e
  }
  const kernels = await backend.stopProfile()
  return { result, kernels, summary: summarize(kernels), totalMs: kernels.reduce((t, k) => t + k.ms, 0) }
}
