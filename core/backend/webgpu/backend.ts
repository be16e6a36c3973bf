/**
 * The WebGPU backend record. Each primitive runs through its rule's `webgpu` lowering; tensors hold
 * reference-counted buffer handles that are released deterministically at the end of a `scope` / on
 * `dispose`, and otherwise when the tensor is garbage-collected (a FinalizationRegistry). CPU tensors
 * given to a WebGPU op are uploaded on the fly.
 *
 * Finalization is a backstop, not a memory bound: V8 runs the callbacks only after a full mark-compact
 * GC (the frequent scavenges do not collect registered objects) and once the event loop turns, and it
 * schedules full GCs by JS-heap growth, blind to GPU bytes. Measured (test/webgpu/memory.test.ts): a
 * loop of small ops that awaits every 100 ops releases after 8,000–13,000 ops in a fresh process, and not
 * within 15,000 ops once the process holds ~50 MB of JS objects; the bytes in flight are that count
 * times the tensor size. Loops that allocate must use `scope` (or `jit`) to bound memory.
 */
import type { DType, TypedArray } from '../../dtype.js'
import { fail } from '../../errors.js'
import type { GpuArray, GpuContext } from '../../rule.js'
import { type Shape, describe, shapesEqual, size } from '../../shape.js'
import type { Aval, Concrete } from '../../tensor.js'
import type { Backend } from '../backend.js'
import type { GpuDevice } from './device.js'
import { createPressure } from './pressure.js'
import { type GpuHandle, type Runtime, checkBindingSize, createRuntime, gpuBytes } from './runtime.js'

export type WebGpuBackend = Backend & {
  readonly runtime: Runtime
  /** Releases the buffer behind `x` now (idempotent); later use of `x` fails with a clear message. */
  readonly release: (x: Concrete) => void
  /** Tensors created from now on until `endScope` are released at its end unless kept. */
  readonly beginScope: () => void
  readonly endScope: (keep: readonly Concrete[]) => void
  /** Takes tensors out of every open scope: they live until garbage-collected or disposed. */
  readonly escapeScopes: (xs: readonly Concrete[]) => void
  /**
   * GPU pressure: bytes held by tensors outside every scope (what only a collection frees), and the
   * full collections asked of V8 so far because they grew too much.
   */
  readonly pressure: () => { readonly unscopedBytes: number; readonly collections: number }
}

/** The adapter's subgroup size range when the binding reports it (Dawn's GPUAdapterInfo.subgroupMinSize/MaxSize). */
const subgroupSizes = (adapter: GPUAdapter): [number, number] | undefined => {
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number }
  return info.subgroupMinSize && info.subgroupMaxSize ? [info.subgroupMinSize, info.subgroupMaxSize] : undefined
}

export const createWebGpuBackend = (gpu: GpuDevice): WebGpuBackend => {
  const runtime = createRuntime(gpu)
  // FOVEA_EAGER_FUSION=0 turns eager fusion off (each elementwise op is then its own kernel, at once).
  if (process.env.FOVEA_EAGER_FUSION === '0') runtime.setDeferral(false)
  const released = new WeakSet<Concrete>()
  const scopes: Concrete[][] = []

  // Only a tensor outside every scope waits on the garbage collector for its release; the pressure
  // counts the bytes of those (created outside a scope, or kept out of the outermost one) that are
  // still held. A loop inside `scope` never triggers a collection, however much it allocates.
  const pressure = createPressure()
  let unscopedBytes = 0
  type Held = { readonly handle: GpuHandle; unscoped: number }
  const held = new WeakMap<Concrete, Held>()
  const finalizer = new FinalizationRegistry<Held>((h) => {
    unscopedBytes -= h.unscoped
    runtime.releaseHandle(h.handle)
  })
  const leaveScopes = (t: Concrete): void => {
    const h = held.get(t)
    if (h === undefined || h.unscoped > 0) return
    h.unscoped = h.handle.bytes
    unscopedBytes += h.unscoped
    pressure.check(unscopedBytes)
  }

  const wrap = (handle: GpuHandle, shape: Shape, dtype: DType): Concrete => {
    const t: Concrete = { kind: 'tensor', backend: 'webgpu', shape, dtype, data: handle }
    const h: Held = { handle, unscoped: 0 }
    held.set(t, h)
    finalizer.register(t, h, t)
    if (scopes.length > 0) scopes[scopes.length - 1]!.push(t)
    else leaveScopes(t)
    return t
  }

  const release = (x: Concrete): void => {
    if (x.backend !== 'webgpu' || released.has(x) || !runtime.owns(x.data as GpuHandle)) return
    released.add(x)
    finalizer.unregister(x)
    unscopedBytes -= held.get(x)?.unscoped ?? 0
    runtime.releaseHandle(x.data as GpuHandle)
  }

  const upload = (data: TypedArray, shape: Shape, dtype: DType): Concrete => {
    checkBindingSize(runtime.gpu, 'upload', gpuBytes(dtype, data.length), `a ${describe(shape, dtype)} tensor`)
    return wrap(runtime.upload(data, dtype), shape, dtype)
  }

  /** Fails unless `x` is a live tensor of this device. */
  const checkUsable = (op: string, x: Concrete): void => {
    if (released.has(x)) fail(op, `a ${describe(x.shape, x.dtype)} tensor was used after it was released (end of a scope, or dispose)`)
    if (!runtime.owns(x.data as GpuHandle)) {
      fail(op, `a ${describe(x.shape, x.dtype)} tensor belongs to an earlier WebGPU device that was lost; recompute it on the current one`)
    }
  }

  const onDevice = (op: string, x: Concrete): GpuArray => {
    if (x.backend === 'webgpu') {
      checkUsable(op, x)
      return { shape: x.shape, dtype: x.dtype, buffer: x.data }
    }
    if (x.backend === 'cpu') {
      const h = runtime.upload(x.data as TypedArray, x.dtype, op)
      // A temporary upload: released once this op's commands are recorded.
      temporaries.push(h)
      return { shape: x.shape, dtype: x.dtype, buffer: h }
    }
    return fail(op, `cannot use a tensor from the ${x.backend} backend on webgpu`)
  }

  let temporaries: GpuHandle[] = []
  let allocated: GpuHandle[] = []
  let currentOp = 'webgpu'
  const ctx: GpuContext = {
    alloc: (aval: Aval) => {
      const h = runtime.allocHandle(gpuBytes(aval.dtype, size(aval.shape)), currentOp)
      allocated.push(h)
      return { shape: aval.shape, dtype: aval.dtype, buffer: h }
    },
    dispatch: runtime.dispatch,
    defer: (kernel, fuser) => runtime.defer(kernel, fuser, ctx),
    hostWord: (x) => (x.buffer as GpuHandle).word,
    reshape: (x, shape) => {
      if (size(shape) !== size(x.shape)) fail('webgpu', `internal reshape of ${describe(x.shape, x.dtype)} to [${shape.join(',')}]`)
      return { shape, dtype: x.dtype, buffer: x.buffer }
    },
    maxWorkgroupsPerDimension: gpu.limits.maxComputeWorkgroupsPerDimension!,
    maxWorkgroupStorageBytes: gpu.limits.maxComputeWorkgroupStorageSize!,
    features: gpu.features,
    subgroupSizes: subgroupSizes(gpu.adapter),
  }

  const backend: WebGpuBackend = {
    name: 'webgpu',
    runtime,
    run: (rule, inputs, params, outAvals) => {
      // Oversized outputs are refused before any upload or dispatch of this op.
      for (const o of outAvals) checkBindingSize(runtime.gpu, rule.name, gpuBytes(o.dtype, size(o.shape)), () => `the ${describe(o.shape, o.dtype)} result`)
      currentOp = rule.name
      temporaries = []
      allocated = []
      const args = inputs.map((x) => onDevice(rule.name, x))
      const handedOver = new Set<GpuHandle>()
      try {
        const outs = rule.webgpu(ctx, args, params, outAvals)
        outs.forEach((o, i) => {
          const aval = outAvals[i]!
          if (!shapesEqual(o.shape, aval.shape) || o.dtype !== aval.dtype) {
            fail(rule.name, `webgpu lowering returned ${describe(o.shape, o.dtype)} for output ${i}, expected ${describe(aval.shape, aval.dtype)} (internal error)`)
          }
        })
        return outs.map((o) => {
          const h = o.buffer as GpuHandle
          // An output from ctx.alloc takes over its reference the first time it is returned; an output that
          // aliases an input (or is returned twice) takes a new one.
          if (allocated.includes(h) && !handedOver.has(h)) handedOver.add(h)
          else runtime.retain(h)
          return wrap(h, o.shape, o.dtype)
        })
      } finally {
        // Temporary uploads and scratch buffers not returned go back to the pool — only now, after the
        // outputs took their references: an output may alias a temporary (a reshape of a CPU tensor).
        for (const h of temporaries) runtime.releaseHandle(h)
        for (const h of allocated) if (!handedOver.has(h)) runtime.releaseHandle(h)
      }
    },
    fromTypedArray: upload,
    read: (x) => {
      try {
        checkUsable('toArray', x)
      } catch (e) {
        return Promise.reject(e)
      }
      return runtime.download(x.data as GpuHandle, size(x.shape), x.dtype)
    },
    // The pending chain holds references to what it reads: emitted first, so live bytes are those of tensors.
    info: () => (runtime.emitDeferred(), {
      backend: 'webgpu',
      adapter: `${gpu.adapterName} (${gpu.vendor}${gpu.architecture ? `, ${gpu.architecture}` : ''})`,
      vendor: gpu.vendor,
      architecture: gpu.architecture,
      liveBytes: runtime.pool.liveBytes(),
      pooledBytes: runtime.pool.pooledBytes(),
      limits: gpu.limits,
      features: gpu.features,
    }),
    recordKernels: runtime.recordKernels,
    submit: runtime.flush,
    startProfile: runtime.startProfile,
    stopProfile: runtime.stopProfile,
    release,
    pressure: () => ({ unscopedBytes, collections: pressure.collections() }),
    beginScope: () => void scopes.push([]),
    endScope: (keep) => {
      const created = scopes.pop() ?? []
      const kept = new Set(keep)
      for (const t of created) {
        if (!kept.has(t)) release(t)
        else if (scopes.length > 0) scopes[scopes.length - 1]!.push(t)
        else leaveScopes(t)
      }
    },
    escapeScopes: (xs) => {
      const leaving = new Set(xs)
      for (let i = 0; i < scopes.length; i++) scopes[i] = scopes[i]!.filter((t) => !leaving.has(t))
      for (const t of leaving) leaveScopes(t)
    },
  }
  return backend
}
