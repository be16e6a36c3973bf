/**
 * Helpers for WebGPU suites: whether an adapter exists (printing once why a suite skips, failing instead
 * when FOVEA_REQUIRE_GPU=1), and parity checks that run the same function on the CPU reference and on
 * WebGPU from the same host data and compare the results.
 */
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { webgpuBackend } from '../../core/backend/registry.js'
import type { WebGpuBackend } from '../../core/backend/webgpu/backend.js'
import { type Tolerance, assertClose } from '../util/check.js'

let reported = false

/** Runs `body` with WebGPU as the backend (given the backend record) and restores the CPU backend afterwards. */
export const onGpu = async (body: (b: WebGpuBackend) => Promise<void> | void): Promise<void> => {
  await F.setBackend('webgpu')
  try {
    await body((await webgpuBackend()) as WebGpuBackend)
  } finally {
    await F.setBackend('cpu')
  }
}

/** True when WebGPU can run here. Otherwise prints one line (or throws when the GPU is required). */
export const gpuAvailable = async (suite: string): Promise<boolean> => {
  const b = await webgpuBackend()
  if (typeof b !== 'string') return true
  if (process.env.FOVEA_REQUIRE_GPU === '1') throw new Error(`FOVEA_REQUIRE_GPU=1 but WebGPU is unavailable: ${b}`)
  if (!reported) console.log(`\n  skipping WebGPU suites (${suite} and others): ${b}`)
  reported = true
  return false
}

const leavesOf = (x: unknown): Tensor[] => F.treeLeaves(x) as Tensor[]

/**
 * Runs `f` (returning any pytree of tensors) on the CPU backend and on WebGPU and asserts equal dtypes and shapes and values within `tol`
 * (default: rtol 1e-5, atol 1e-6; integer and bool results must match exactly).
 */
export const expectParity = async (f: () => unknown, tol: Tolerance = {}, what = 'result'): Promise<void> => {
  await F.setBackend('cpu')
  const expected = leavesOf(f())
  const cpuValues = await Promise.all(expected.map((t) => F.toArray(t)))
  await F.setBackend('webgpu')
  try {
    const actual = leavesOf(f())
    assert.is(actual.length, expected.length, `${what}: number of outputs`)
    for (let i = 0; i < actual.length; i++) {
      const a = actual[i]!
      const e = expected[i]!
      assert.is(a.kind === 'tensor' ? a.backend : a.kind, 'webgpu', `${what} #${i} ran on webgpu`)
      assert.is(a.dtype, e.dtype, `${what} #${i}: dtype`)
      assert.equal([...a.shape], [...e.shape], `${what} #${i}: shape`)
      const exact = e.dtype !== 'float32'
      assertClose(await F.toArray(a), cpuValues[i]!, exact ? { rtol: 0, atol: 0 } : { rtol: 1e-5, atol: 1e-6, ...tol }, `${what} #${i} (webgpu vs cpu)`)
    }
  } finally {
    await F.setBackend('cpu')
  }
}
