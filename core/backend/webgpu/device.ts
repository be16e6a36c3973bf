/**
 * Adapter and device acquisition through Dawn's Node binding (npm `webgpu`) — the only file that imports
 * it. Requests the adapter's own limits (Dawn's defaults are far below what a GPU offers) and the
 * optional features fovea uses. Device loss and uncaptured errors are recorded, never thrown from a
 * callback, and surface as FoveaErrors on the next operation.
 */
import { fail } from '../../errors.js'
import { quietly } from './quiet-wait.js'

export type GpuDevice = {
  readonly device: GPUDevice
  /**
   * Dawn's instance and adapter. Held for the device's lifetime: if they are garbage-collected, the Node
   * binding tears down the instance under the live device and the process crashes on the next wait.
   */
  readonly instance: GPU
  readonly adapter: GPUAdapter
  readonly adapterName: string
  readonly vendor: string
  readonly architecture: string
  readonly features: readonly string[]
  readonly limits: Readonly<Record<string, number>>
  /**
   * The reason the device cannot be used: its loss (permanent), or an error reported since the last call
   * (e.g. a shader that failed to compile), which is returned once and then cleared.
   */
  readonly failure: () => string | undefined
  /** Resolves with the reason once the device is lost (never rejects; pending forever while it lives). */
  readonly whenLost: Promise<string>
  /** The reason the device was lost, or undefined while it lives. */
  readonly lostReason: () => string | undefined
  /** Records an error found asynchronously (e.g. a shader that failed validation). */
  readonly report: (message: string) => void
}

const wantedLimits = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage', 'maxBindGroups',
] as const

const wantedFeatures = ['shader-f16', 'subgroups', 'timestamp-query'] as const

/** Requests an adapter and a device; resolves to a reason string when there is none. */
export const acquireDevice = async (): Promise<GpuDevice | string> => {
  let webgpu: typeof import('webgpu')
  try {
    webgpu = await import('webgpu')
  } catch (e) {
    return `the 'webgpu' package (Dawn) could not be loaded: ${(e as Error).message}`
  }
  Object.assign(globalThis, webgpu.globals)
  const gpu = webgpu.create([])
  const adapter = await quietly(gpu.requestAdapter({ powerPreference: 'high-performance' }))
  if (adapter === null) {
    return 'Dawn found no WebGPU adapter (no GPU driver; on Linux without a GPU run `bash scripts/install-vulkan.sh` for Mesa\'s lavapipe)'
  }
  const requiredLimits: Record<string, number> = {}
  for (const name of wantedLimits) requiredLimits[name] = (adapter.limits as unknown as Record<string, number>)[name]!
  const requiredFeatures = wantedFeatures.filter((f) => adapter.features.has(f)) as GPUFeatureName[]
  const device = await quietly(adapter.requestDevice({ requiredLimits, requiredFeatures }))
  let lost: string | undefined
  let reported: string | undefined
  // Every loss counts, `destroyed` included: a destroyed device silently ignores commands and aborts
  // readbacks, so an op after `device.destroy()` must fail with the reason rather than return nothing.
  const whenLost = device.lost.then((info) => {
    lost ??= `the WebGPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`
    return lost
  })
  device.addEventListener('uncapturederror', (event) => {
    reported ??= `WebGPU reported an error: ${(event as GPUUncapturedErrorEvent).error.message}`
  })
  const info = adapter.info
  return {
    device,
    instance: gpu,
    adapter,
    adapterName: info.description || info.device || info.vendor || 'unknown adapter',
    vendor: info.vendor,
    architecture: info.architecture,
    features: [...device.features],
    limits: requiredLimits,
    whenLost,
    lostReason: () => lost,
    failure: () => {
      if (lost !== undefined) return lost
      const r = reported
      reported = undefined
      return r
    },
    report: (message) => void (reported = message),
  }
}

/** Appended to device-loss messages: the registry acquires a new device on the next request. */
export const RECOVER = "; call setBackend('webgpu') to acquire a new device (tensors of the lost one must be recomputed)"

/** Throws the recorded device failure, if any. */
export const checkDevice = (gpu: GpuDevice, op: string): void => {
  const f = gpu.failure()
  if (f !== undefined) fail(op, gpu.lostReason() === undefined ? f : f + RECOVER)
}
