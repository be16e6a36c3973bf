/**
 * Environment check for the WebGPU suites: Dawn (npm `webgpu`) must find an adapter — lavapipe on a
 * machine without a GPU, once scripts/install-vulkan.sh has run. CI sets FOVEA_REQUIRE_GPU=1, which
 * turns a missing adapter into a failure; elsewhere the suite says why it skips. Dawn is probed in a
 * child process so that a driver problem cannot hang or crash the test runner.
 */
import { execFile } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const probe = `
import { create, globals } from 'webgpu'
Object.assign(globalThis, globals)
const adapter = await create([]).requestAdapter()
if (!adapter) { console.log(JSON.stringify({ ok: false })); process.exit(0) }
const device = await adapter.requestDevice()
const i = adapter.info
console.log(JSON.stringify({ ok: true, vendor: i.vendor, architecture: i.architecture, description: i.description, f16: adapter.features.has('shader-f16') }))
device.destroy()
process.exit(0)
`

const runProbe = (): Promise<{ ok: boolean; vendor?: string; architecture?: string; description?: string; error?: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', probe], { timeout: 60_000 }, (err, stdout) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'))
      resolve(line ? JSON.parse(line) : { ok: false, error: err ? String(err.message).split('\n')[0] : 'no output' })
    })
  })

test('Dawn finds a WebGPU adapter (required in CI)', async () => {
  const result = await runProbe()
  if (result.ok) {
    console.log(`\n  webgpu adapter: ${result.description} (vendor ${result.vendor}, ${result.architecture})`)
    assert.ok(result.description, 'adapter has a description')
    return
  }
  const why = result.error ?? 'no adapter (run `bash scripts/install-vulkan.sh` for the software Vulkan driver)'
  if (process.env.FOVEA_REQUIRE_GPU === '1') assert.unreachable(`FOVEA_REQUIRE_GPU=1 but ${why}`)
  console.log(`\n  skipping WebGPU checks: ${why}`)
})

test.run()
