/**
 * Backend selection. `cpu` is always present; `webgpu` joins the table when its module is loaded by
 * `setBackend('webgpu')`. The environment variable FOVEA_BACKEND picks the initial backend.
 */
import { fail } from '../errors.js'
import type { Backend } from './backend.js'
import { cpuBackend } from './cpu.js'

export type BackendName = 'cpu' | 'webgpu'

let current: Backend = cpuBackend

export const getBackendRecord = (): Backend => current

/** The name of the backend that eager ops run on. */
export const getBackend = (): BackendName => current.name as BackendName

/**
 * Selects the backend for subsequent eager ops. `webgpu` is not part of this build yet: asking for it
 * fails with that reason rather than silently running on the CPU.
 */
export const setBackend = async (name: BackendName): Promise<void> => {
  switch (name) {
    case 'cpu':
      current = cpuBackend
      return
    case 'webgpu':
      return fail('setBackend', 'the webgpu backend is not available in this build (only cpu is); unset FOVEA_BACKEND or use setBackend("cpu")')
    default:
      return fail('setBackend', `unknown backend ${JSON.stringify(name satisfies never)}; expected 'cpu' or 'webgpu'`)
  }
}

/** Adapter name, limits, features and live bytes of the current backend. */
export const backendInfo = () => current.info()
