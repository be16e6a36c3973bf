/**
 * Puts the WebGPU peers on Dawn in Node, on the adapter fovea uses. Both peers look for a browser:
 * `navigator.gpu` (Dawn's `create([])`, with the WebGPU globals such as `GPUBufferUsage` installed) and a
 * `navigator.userAgent` string (jax-js tunes kernels by it, tfjs sniffs it). Peers are imported
 * dynamically so `--peers` can leave one out and so the navigator exists before they load.
 *
 * tfjs's gradient rules ship only as an ES-module tree (`tfjs-core/dist/register_all_gradients.js`)
 * with extensionless and directory imports. A bundler resolves them, so the bundle the remote-GPU
 * packer builds with esbuild simply includes the tree; Node's own resolver (under tsx) refuses the
 * directory imports, so there the tree is bundled once with esbuild into the temp folder and imported.
 * The tree carries its own copy of the core modules, but tfjs keeps its engine and its kernel and
 * gradient registries on the global object, so the copy registers into the one engine that runs.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as tfType from '@tensorflow/tfjs-core'
import * as jax from '@jax-js/jax'

/** What Dawn says about the adapter it picked (the fields of `GPUAdapterInfo` are getters, so copied out). */
export type AdapterInfo = {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
  /** Mesa's lavapipe and other CPU implementations: timings are not GPU figures. */
  readonly software: boolean
}

export type PeerName = 'tfjs' | 'jax'

/** Installs `navigator.gpu` from Dawn and reports the adapter a high-performance request gets. */
export const installNavigatorGpu = async (): Promise<AdapterInfo> => {
  const webgpu = await import('webgpu')
  Object.assign(globalThis, webgpu.globals)
  const gpu = webgpu.create([])
  const previous = (globalThis as { navigator?: object }).navigator
  // Node 20 has no navigator; Node 21+ has one without `gpu`. Keep what is there, add what is missing.
  const navigator = { userAgent: `Node.js ${process.version}`, ...(previous ?? {}), gpu }
  Object.defineProperty(globalThis, 'navigator', { value: navigator, configurable: true, writable: true })
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (adapter === null) throw new Error('Dawn found no WebGPU adapter (on Linux without a GPU: bash scripts/install-vulkan.sh)')
  const info = adapter.info
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: /llvmpipe|lavapipe|swiftshader|software/i.test(text),
  }
}

const require = createRequire(import.meta.url)

const registerTfjsGradients = async (tf: typeof tfType): Promise<void> => {
  try {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js')
    return
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_UNSUPPORTED_DIR_IMPORT') throw e
  }
  // A variable specifier keeps esbuild from pulling itself into the packed bundle (which never gets here).
  const esbuildName = 'esbuild'
  const { build } = (await import(esbuildName)) as typeof import('esbuild')
  const entry = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'register_all_gradients.js')
  const dir = join(os.tmpdir(), 'fovea-bench')
  const bundle = join(dir, `tfjs-gradients-${tf.version_core}.mjs`)
  if (!existsSync(bundle)) {
    mkdirSync(dir, { recursive: true })
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: bundle, logLevel: 'warning' })
  }
  await import(pathToFileURL(bundle).href)
}

/** tfjs-core with its gradients and the WebGPU backend selected; fails when the backend does not start. */
export const setUpTfjsWebgpu = async (): Promise<typeof tfType> => {
  const tf = await import('@tensorflow/tfjs-core')
  await registerTfjsGradients(tf)
  await import('@tensorflow/tfjs-backend-webgpu')
  tf.enableProdMode()
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend')
  await tf.ready()
  return tf
}

/** jax-js with its WebGPU device as the default; fails when jax-js finds no WebGPU. */
export const setUpJaxWebgpu = async (): Promise<typeof jax> => {
  const devices = await jax.init('webgpu')
  if (!devices.includes('webgpu')) throw new Error(`jax-js found no webgpu device (it has: ${devices.join(', ')})`)
  jax.defaultDevice('webgpu')
  return jax
}
