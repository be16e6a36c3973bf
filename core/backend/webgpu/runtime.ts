/**
 * The WebGPU runtime: records dispatches into one command encoder and submits them in batches (at
 * readback, or when the uniform arena is full), caches one pipeline per WGSL source, uploads and reads
 * back data, and owns every buffer through reference-counted handles.
 *
 * Ordering: `queue.writeBuffer` is a queue operation, so an upload or the uniform arena write is ordered
 * after every command buffer submitted before it. Two rules make batching safe with that: uniforms of a
 * batch live at distinct offsets of one arena written just before the batch is submitted, and a released
 * buffer is only reused after the batch that may still read it has been submitted (`pool.settle`).
 */
import type { DType, TypedArray } from '../../dtype.js'
import { fail } from '../../errors.js'
import type { DeferredKernel, GpuArray, GpuContext, GpuKernel, KernelFuser } from '../../rule.js'
import { describe } from '../../shape.js'
import { type GpuDevice, RECOVER, checkDevice } from './device.js'
import { createBindGroupCache } from './bind-groups.js'
import { type Pool, createPool, createStagingPool } from './pool.js'
import type { KernelTime } from '../backend.js'
import { type Profiler, createProfiler } from './profiler.js'
import { createPending } from './pending.js'
import { endQuietWaits, quietly } from './quiet-wait.js'

/**
 * A buffer shared by every tensor that views it (a reshape shares its input's handle). `word`: for a
 * one-element buffer uploaded from the host, its content as one u32 word (the f32 bits, the i32 two's
 * complement, or bool 0/1). Such a buffer is never a kernel's output, so the word stays true for the
 * buffer's life; a fused kernel may take it from its uniforms instead of binding it.
 */
export type GpuHandle = { readonly buffer: GPUBuffer; refs: number; readonly bytes: number; word?: number }

const UNIFORM_BYTES = 256
const ARENA_SLOTS = 512
/**
 * Released buffers are reusable only after the batch that may read them is submitted. Without an early
 * submit, a loop over large tensors inside `scope` would allocate a fresh buffer per iteration until the
 * arena fills (512 dispatches): 512 x 64 MiB for 16M-element tensors. Submitting once this much is
 * pending bounds that memory at the cost of one extra submit per this many released bytes.
 */
const PENDING_FLUSH_BYTES = 64 << 20
/**
 * The same by count: until a submit, every allocation is a fresh buffer, and a fresh buffer costs its
 * creation and a new bind group for each kernel that binds it (~20 µs each in Dawn's Node binding);
 * eager loops of small ops release hundreds of buffers between submits.
 */
const PENDING_FLUSH_COUNT = 256
const LOSS_GRACE_MS = 200

/** Resolves to undefined after `ms`, without keeping the process alive. */
const delay = (ms: number): Promise<undefined> => new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref())

export type Runtime = {
  readonly gpu: GpuDevice
  readonly pool: Pool
  /** A fresh buffer of `bytes`; `op` names the operation in the error when it exceeds the binding limit. */
  readonly allocHandle: (bytes: number, op?: string) => GpuHandle
  /** Whether `h` was allocated by this runtime (a tensor from a lost, replaced device was not). */
  readonly owns: (h: GpuHandle) => boolean
  readonly retain: (h: GpuHandle) => void
  readonly releaseHandle: (h: GpuHandle) => void
  readonly dispatch: (kernel: GpuKernel) => void
  /** Holds `kernel` back in the pending chain (see `GpuContext.defer`); `ctx` is what its fuser emits into. */
  readonly defer: <K extends DeferredKernel>(kernel: K, fuser: KernelFuser<K>, ctx: GpuContext) => void
  /** Emits the pending chain, if any (every dispatch, readback and submit does this first). */
  readonly emitDeferred: () => void
  /** Eager fusion on (the default) or off: when off, each deferred kernel is emitted at once, alone. */
  readonly setDeferral: (on: boolean) => void
  readonly upload: (data: TypedArray, dtype: DType, op?: string) => GpuHandle
  readonly download: (h: GpuHandle, count: number, dtype: DType) => Promise<TypedArray>
  readonly flush: () => void
  /** Counters, after emitting the pending chain (so they cover every op recorded so far). */
  readonly stats: () => { dispatches: number; submits: number; pipelines: number; bindGroupsCreated: number; bindGroupsCached: number; stagingPooledBytes: number }
  /** From now on, times every dispatch on the GPU (timestamp queries; one compute pass per dispatch). */
  readonly startProfile: () => void
  /** Submits pending work and returns the GPU time of every dispatch since `startProfile`. */
  readonly stopProfile: () => Promise<KernelTime[]>
  /** Runs `fn` and returns the WGSL of every dispatch it recorded, in order. */
  readonly recordKernels: (fn: () => unknown) => string[]
}

/** Bytes per element on the GPU (bool is one u32). */
export const gpuBytes = (dtype: DType, count: number): number => 4 * count

/** Fails unless a buffer of `bytes` can be bound as storage on this adapter. */
export const checkBindingSize = (gpu: GpuDevice, op: string, bytes: number, what: string | (() => string) = 'a tensor'): void => {
  const limit = gpu.limits.maxStorageBufferBindingSize!
  if (bytes > limit) {
    fail(op, `${typeof what === 'string' ? what : what()} of ${bytes} bytes exceeds this adapter's maxStorageBufferBindingSize of ${limit} bytes; split the work or use the cpu backend`)
  }
}

export const createRuntime = (gpu: GpuDevice): Runtime => {
  const { device } = gpu
  const pool = createPool(device)
  const pipelines = new Map<string, GPUComputePipeline>()
  const layouts = new Map<string, { bindGroup: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>()
  const arena = device.createBuffer({ size: UNIFORM_BYTES * ARENA_SLOTS, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST })
  const arenaData = new Uint32Array((UNIFORM_BYTES * ARENA_SLOTS) / 4)
  let slots = 0
  let encoder: GPUCommandEncoder | undefined
  // One compute pass stays open across the dispatches of a batch: WebGPU orders dispatches within a pass
  // (each is its own usage scope), and beginning a pass per dispatch costs more host time than the
  // dispatch itself. It is ended before a copy and before submitting.
  let pass: GPUComputePassEncoder | undefined
  const endPass = (): void => {
    pass?.end()
    pass = undefined
  }
  const bindGroups = createBindGroupCache(device, arena, UNIFORM_BYTES, (inputs, outputs) => layoutFor(inputs, outputs).bindGroup)
  pool.onDestroy(bindGroups.forget)
  const offset = new Uint32Array(1)
  let dispatches = 0
  let submits = 0
  let recording: string[] | undefined
  let profiler: Profiler | undefined

  const layoutFor = (inputs: number, outputs: number) => {
    const key = `${inputs}:${outputs}`
    let l = layouts.get(key)
    if (l === undefined) {
      // The uniform block is bound at a dynamic offset, so a bind group does not depend on the arena slot
      // of its dispatch and can be reused by every dispatch over the same buffers.
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } }]
      for (let i = 0; i < inputs + outputs; i++) {
        entries.push({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: i < inputs ? 'read-only-storage' : 'storage' } })
      }
      const bindGroup = device.createBindGroupLayout({ entries })
      l = { bindGroup, pipeline: device.createPipelineLayout({ bindGroupLayouts: [bindGroup] }) }
      layouts.set(key, l)
    }
    return l
  }

  const pipelineFor = (kernel: GpuKernel): GPUComputePipeline => {
    let p = pipelines.get(kernel.code)
    if (p === undefined) {
      // Compile errors arrive through the error scope (the message includes the WGSL diagnostic).
      // GPUShaderModule.getCompilationInfo is avoided: it aborts the process in the Dawn Node binding.
      device.pushErrorScope('validation')
      const module = device.createShaderModule({ code: kernel.code, label: kernel.name })
      p = device.createComputePipeline({
        label: kernel.name,
        layout: layoutFor(kernel.inputs.length, kernel.outputs.length).pipeline,
        compute: { module, entryPoint: 'main' },
      })
      void device.popErrorScope().then((error) => {
        if (error !== null) gpu.report(`WebGPU kernel ${kernel.name} was rejected (internal error): ${error.message}`)
      })
      pipelines.set(kernel.code, p)
    }
    return p
  }

  const flush = (): void => {
    emitDeferred()
    // Nothing recorded since the last submit: released buffers cannot be read by pending work.
    if (encoder === undefined) return pool.settle()
    endPass()
    if (slots > 0) device.queue.writeBuffer(arena, 0, arenaData, 0, (slots * UNIFORM_BYTES) / 4)
    profiler?.resolve(encoder)
    device.queue.submit([encoder.finish()])
    profiler?.submitted()
    submits++
    encoder = undefined
    slots = 0
    pool.settle()
  }

  const handleOf = (x: GpuArray): GpuHandle => {
    const h = x.buffer as GpuHandle
    if (h.refs <= 0) fail('webgpu', `a ${describe(x.shape, x.dtype)} tensor was used after it was released (end of a scope, or dispose)`)
    return h
  }

  // Eager fusion: deferred kernels wait in `pending` until the next dispatch, readback or submit.
  const pending = createPending(handleOf, (h) => releaseHandle(h), () => gpu.failure() !== undefined)
  const emitDeferred = pending.emit

  const dispatch = (kernel: GpuKernel): void => {
    emitDeferred()
    checkDevice(gpu, kernel.name)
    const [x, y, z] = kernel.workgroups
    if (x === 0 || y === 0 || z === 0) return
    const max = gpu.limits.maxComputeWorkgroupsPerDimension!
    if (x > max || y > max || z > max) fail(kernel.name, `dispatch of ${x}x${y}x${z} workgroups exceeds the device limit ${max} per dimension (internal: split the grid)`)
    if (slots === ARENA_SLOTS || profiler?.full()) flush()
    const words = kernel.uniforms ?? []
    if (words.length > UNIFORM_BYTES / 4) fail(kernel.name, `${words.length} uniform words exceed the 64-word block (internal error)`)
    const base = (slots * UNIFORM_BYTES) / 4
    for (let i = 0; i < words.length; i++) arenaData[base + i] = words[i]! >>> 0
    const pipeline = pipelineFor(kernel)
    const bindGroup = bindGroups.get(kernel.inputs.length, [...kernel.inputs, ...kernel.outputs].map((a) => handleOf(a).buffer))
    encoder ??= device.createCommandEncoder()
    if (profiler !== undefined) {
      endPass()
      pass = encoder.beginComputePass({ timestampWrites: profiler.passFor(kernel.name) })
    }
    pass ??= encoder.beginComputePass()
    pass.setPipeline(pipeline)
    offset[0] = slots * UNIFORM_BYTES
    pass.setBindGroup(0, bindGroup, offset, 0, 1)
    pass.dispatchWorkgroups(x, y, z)
    if (profiler !== undefined) endPass()
    slots++
    dispatches++
    recording?.push(kernel.code)
  }

  const owned = new WeakSet<GpuHandle>()
  // Readbacks in flight, woken with the reason if the device is lost (one listener on `whenLost` for all,
  // rather than one per readback that would pile up while the device lives).
  const readers = new Set<(reason: string) => void>()
  void gpu.whenLost.then((reason) => {
    for (const wake of readers) wake(reason)
    readers.clear()
    endQuietWaits()
  })

  const allocHandle = (bytes: number, op = 'webgpu'): GpuHandle => {
    checkBindingSize(gpu, op, bytes)
    if (pool.pendingBytes() >= PENDING_FLUSH_BYTES || pool.pendingCount() >= PENDING_FLUSH_COUNT) flush()
    const buffer = pool.acquire(bytes)
    const h = { buffer, refs: 1, bytes }
    owned.add(h)
    return h
  }

  const upload = (data: TypedArray, dtype: DType, op = 'upload'): GpuHandle => {
    const h = allocHandle(gpuBytes(dtype, data.length), op)
    if (data.length > 0) {
      const words = dtype === 'bool' ? Uint32Array.from(data) : data
      device.queue.writeBuffer(h.buffer, 0, words.buffer, words.byteOffset, words.length * 4)
      if (data.length === 1) h.word = new Uint32Array(words.buffer, words.byteOffset, 1)[0]!
    }
    return h
  }

  const staging = createStagingPool(device)

  const download = async (h: GpuHandle, count: number, dtype: DType): Promise<TypedArray> => {
    emitDeferred()
    checkDevice(gpu, 'toArray')
    const bytes = Math.max(4, count * 4)
    const buffer = staging.acquire(bytes)
    encoder ??= device.createCommandEncoder()
    endPass()
    encoder.copyBufferToBuffer(h.buffer, 0, buffer, 0, bytes)
    flush()
    // mapAsync rejects with a bare AbortError when the device is lost, and could wait forever on a
    // device that dies mid-flight: race it with the loss so the caller gets the reason.
    let failed = await new Promise<string | undefined>((resolve) => {
      readers.add(resolve)
      quietly(buffer.mapAsync(GPUMapMode.READ, 0, bytes)).then(() => undefined, (e: Error) => `mapping the readback buffer failed (${e.name}${e.message ? `: ${e.message}` : ''})`)
        .then((r) => {
          readers.delete(resolve)
          resolve(r)
        })
    })
    if (failed !== undefined) {
      buffer.destroy()
      // The loss itself may be reported a moment after the aborted mapping.
      if (gpu.lostReason() === undefined) failed = (await Promise.race([gpu.whenLost, delay(LOSS_GRACE_MS)])) ?? failed
      return fail('toArray', `cannot read back a ${describe([count], dtype)} tensor: ${failed}${gpu.lostReason() === undefined ? '' : RECOVER}`)
    }
    const raw = buffer.getMappedRange(0, bytes).slice(0, count * 4)
    buffer.unmap()
    staging.release(buffer)
    checkDevice(gpu, 'toArray')
    if (dtype === 'float32') return new Float32Array(raw)
    if (dtype === 'int32') return new Int32Array(raw)
    return Uint8Array.from(new Uint32Array(raw), (v) => (v !== 0 ? 1 : 0))
  }

  const releaseHandle = (h: GpuHandle): void => {
    if (h.refs <= 0) return
    if (--h.refs === 0) pool.release(h.buffer)
  }

  return {
    gpu,
    pool,
    allocHandle,
    owns: (h) => owned.has(h),
    retain: (h) => {
      // Resurrecting a released handle would hand out a buffer the pool may already have given away.
      if (h.refs <= 0) fail('webgpu', `a ${h.bytes}-byte buffer was retained after its last reference was released (internal error)`)
      h.refs++
    },
    releaseHandle,
    dispatch,
    emitDeferred,
    defer: (kernel, fuser, ctx) => {
      checkDevice(gpu, kernel.name)
      pending.defer(kernel, fuser, ctx)
    },
    setDeferral: pending.setEnabled,
    upload,
    download,
    flush,
    stats: () => {
      emitDeferred()
      return { dispatches, submits, pipelines: pipelines.size, bindGroupsCreated: bindGroups.created(), bindGroupsCached: bindGroups.size(), stagingPooledBytes: staging.pooledBytes() }
    },
    startProfile: () => {
      if (profiler !== undefined) fail('profile', 'a profile is already running; profiles do not nest')
      flush()
      profiler = createProfiler(device)
    },
    stopProfile: () => {
      flush()
      const p = profiler
      profiler = undefined
      return p === undefined ? Promise.resolve([]) : p.finish()
    },
    recordKernels: (fn) => {
      emitDeferred()
      const outer = recording
      const mine: string[] = []
      recording = mine
      try {
        fn()
        emitDeferred()
      } finally {
        recording = outer
        outer?.push(...mine)
      }
      return mine
    },
  }
}
