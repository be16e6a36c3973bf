/**
 * GPU time per dispatch from timestamp queries, for `profile`. While profiling, each dispatch runs in a
 * compute pass of its own whose begin and end write a timestamp pair; each submitted batch resolves its
 * pairs into a buffer that is read back once the batch has run. The query set is reused batch after
 * batch: the queue orders a batch's timestamp writes after the previous batch's resolve.
 */
import { fail } from '../../errors.js'
import type { KernelTime } from '../backend.js'
import { quietly } from './quiet-wait.js'

export type Profiler = {
  /** Timestamp writes for the pass of the next dispatch, named `name`. */
  readonly passFor: (name: string) => GPUComputePassTimestampWrites
  /** Whether another dispatch fits in this batch's query set (else the batch must be submitted first). */
  readonly full: () => boolean
  /** Before `encoder` is finished: resolves this batch's timestamps into a readable copy. */
  readonly resolve: (encoder: GPUCommandEncoder) => void
  /** After the batch was submitted: starts reading its timestamps back. */
  readonly submitted: () => void
  /** Every dispatch timed so far, once all submitted batches have been read back; frees the queries. */
  readonly finish: () => Promise<KernelTime[]>
}

/** The most dispatches one batch can time (two queries each; WebGPU allows 4,096 per set). */
export const PROFILE_SLOTS = 1024

export const createProfiler = (device: GPUDevice): Profiler => {
  if (!device.features.has('timestamp-query')) fail('profile', "this WebGPU adapter has no 'timestamp-query' feature, so kernel times cannot be measured; profile on the cpu backend or another adapter")
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * PROFILE_SLOTS })
  const resolved = device.createBuffer({ size: 16 * PROFILE_SLOTS, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC })
  let names: string[] = []
  let pending: { names: string[]; staging: GPUBuffer } | undefined
  const reads: Promise<KernelTime[]>[] = []

  const read = async (batch: { names: string[]; staging: GPUBuffer }): Promise<KernelTime[]> => {
    await quietly(batch.staging.mapAsync(GPUMapMode.READ))
    const stamps = new BigInt64Array(batch.staging.getMappedRange().slice(0, 16 * batch.names.length))
    batch.staging.destroy()
    return batch.names.map((name, i) => ({ name, ms: Math.max(0, Number(stamps[2 * i + 1]! - stamps[2 * i]!)) / 1e6 }))
  }

  return {
    passFor: (name) => {
      const i = names.length
      names.push(name)
      return { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 }
    },
    full: () => names.length === PROFILE_SLOTS,
    resolve: (encoder) => {
      if (names.length === 0) return
      const staging = device.createBuffer({ size: 16 * names.length, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
      encoder.resolveQuerySet(querySet, 0, 2 * names.length, resolved, 0)
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16 * names.length)
      pending = { names, staging }
      names = []
    },
    submitted: () => {
      if (pending !== undefined) reads.push(read(pending))
      pending = undefined
    },
    finish: async () => {
      const times = (await Promise.all(reads)).flat()
      querySet.destroy()
      resolved.destroy()
      return times
    },
  }
}
