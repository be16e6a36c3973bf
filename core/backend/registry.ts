/**
 * Backend selection. `cpu` is always present. `webgpu` is created on first request (Dawn is loaded
 * lazily, so CPU-only programs never pay for it). FOVEA_BACKEND=webgpu|cpu is honoured by `initBackend`.
 */
import { fail } from '../errors.js'
import type { Concrete } from '../tensor.js'
import type { Backend } from './backend.js'
import { cpuBackend } from './cpu.js'
import { createWebGpuBackend, type WebGpuBackend } from './webgpu/backend.js'
import { acquireDevice } from './webgpu/device.js'

export type BackendName = 'cpu' | 'webgpu'

let current: Backend = cpuBackend
let webgpu: WebGpuBackend | string | undefined
let acquiring: Promise<WebGpuBackend | string> | undefined

export const getBackendRecord = (): Backend => current

/** The name of the backend that eager ops run on. */
export const getBackend = (): BackendName => current.name as BackendName

/**
 * The WebGPU backend, creating it on first use; a string says why there is none. Concurrent first calls
 * share one acquisition. After the device is lost, the next call acquires a new device (ops on the lost
 * one keep failing with the reason until then).
 */
export const webgpuBackend = async (): Promise<WebGpuBackend | string> => {
  if (typeof webgpu === 'object' && webgpu.runtime.gpu.lostReason() !== undefined) webgpu = undefined
  if (webgpu !== undefined) return webgpu
  acquiring ??= acquireDevice().catch((e: Error) => `acquiring a WebGPU device failed: ${e.message}`).then((d) => {
    webgpu = typeof d === 'string' ? d : createWebGpuBackend(d)
    acquiring = undefined
    return webgpu
  })
  return acquiring
}

/**
 * Selects the backend for subsequent eager ops. Asking for `webgpu` where no adapter exists fails with
 * the reason (it never silently runs on the CPU).
 */
export const setBackend = async (name: BackendName): Promise<void> => {
  switch (name) {
    case 'cpu':
      current = cpuBackend
      return
    case 'webgpu': {
      const b = await webgpuBackend()
      if (typeof b === 'string') return fail('setBackend', `webgpu is not available: ${b}`)
      current = b
      return
    }
    default:
      return fail('setBackend', `unknown backend ${JSON.stringify(name satisfies never)}; expected 'cpu' or 'webgpu'`)
  }
}

let notified = false

/**
 * Picks the backend from FOVEA_BACKEND (`webgpu` demands it, `cpu` forces the CPU) or, when unset, uses
 * WebGPU if an adapter exists and says once why it falls back to the CPU otherwise. Returns the choice.
 */
export const initBackend = async (): Promise<BackendName> => {
  const wanted = process.env.FOVEA_BACKEND
  if (wanted !== undefined && wanted !== '' && wanted !== 'cpu' && wanted !== 'webgpu') {
    fail('initBackend', `FOVEA_BACKEND=${wanted} is not a backend; expected cpu or webgpu`)
  }
  if (wanted === 'cpu') return setBackend('cpu').then(() => 'cpu')
  if (wanted === 'webgpu') return setBackend('webgpu').then(() => 'webgpu')
  const b = await webgpuBackend()
  if (typeof b === 'string') {
    if (!notified) console.warn(`fovea: using the cpu backend (${b})`)
    notified = true
    current = cpuBackend
    return 'cpu'
  }
  current = b
  return 'webgpu'
}

/** Adapter name, limits, features and live bytes of the current backend. */
export const backendInfo = () => current.info()

const releaseConcrete = (x: Concrete): void => {
  if (x.backend === 'webgpu' && typeof webgpu === 'object') webgpu.release(x)
}

/**
 * Runs `fn` and releases every WebGPU buffer created during it except those reachable from its result
 * (an array/object of tensors). On the CPU it only runs `fn`. Use it around loops that create many
 * temporaries without yielding to the event loop (GC-based release needs the loop to turn).
 */
export const scope = <R>(fn: () => R, leavesOf: (r: R) => readonly unknown[]): R => {
  const b = typeof webgpu === 'object' ? webgpu : undefined
  b?.beginScope()
  let result: R | undefined
  try {
    result = fn()
    return result
  } finally {
    b?.endScope(result === undefined ? [] : (leavesOf(result).filter((l) => typeof l === 'object' && l !== null && (l as Concrete).kind === 'tensor') as Concrete[]))
  }
}

/**
 * Keeps tensors alive past the scopes open now (e.g. the constants of a compiled program, created while
 * tracing inside a scope but used by every later call).
 */
export const persist = (xs: readonly Concrete[]): void => {
  if (typeof webgpu === 'object') webgpu.escapeScopes(xs.filter((x) => x.backend === 'webgpu'))
}

/** Releases the buffers of the given tensors now (a no-op on the CPU). */
export const disposeAll = (xs: readonly unknown[]): void => {
  for (const x of xs) if (typeof x === 'object' && x !== null && (x as Concrete).kind === 'tensor') releaseConcrete(x as Concrete)
}
