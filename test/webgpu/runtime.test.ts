/**
 * The WebGPU runtime at its edges: `backendInfo()`, dispatch grids past 65,535 workgroups, tensors past
 * the storage binding limit, a lost device, a machine without an adapter, backend selection from
 * FOVEA_BACKEND, and a process that exits by itself. What would break the shared device or needs a
 * different environment (no driver, a destroyed device) runs in a child process.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { sizeClass } from '../../core/backend/webgpu/pool.js'
import { rejectsFovea, throwsFovea } from '../util/check.js'
import { lastJson, runChild } from './child.js'
import { expectParity, gpuAvailable, onGpu } from './gpu.js'

const run = await gpuAvailable('runtime')

/** Environment that hides every Vulkan driver from Dawn (the loader reads only this ICD list). */
const noDriver = { VK_ICD_FILENAMES: '/nonexistent', VK_DRIVER_FILES: '/nonexistent' }

test('backendInfo on the cpu backend', () => {
  const info = F.backendInfo()
  assert.is(info.backend, 'cpu')
  assert.is(info.liveBytes, 0)
  assert.equal(info.features, [])
})

if (run) {
  test('backendInfo on webgpu: adapter, vendor, architecture, limits, features, live and pooled bytes', async () => {
    await onGpu(async (b) => {
      const info = F.backendInfo()
      assert.is(info.backend, 'webgpu')
      const adapterInfo = b.runtime.gpu.adapter.info
      assert.is(info.vendor, adapterInfo.vendor)
      assert.is(info.architecture, adapterInfo.architecture)
      assert.ok(info.adapter.length > 0 && info.adapter.includes(b.runtime.gpu.adapterName), info.adapter)
      // WebGPU's guaranteed minimums; the device is created with the adapter's own (larger) limits.
      assert.ok(info.limits.maxStorageBufferBindingSize! >= 128 * 2 ** 20, 'maxStorageBufferBindingSize')
      assert.ok(info.limits.maxComputeWorkgroupsPerDimension! >= 65535, 'maxComputeWorkgroupsPerDimension')
      assert.ok(info.limits.maxComputeWorkgroupStorageSize! >= 16384, 'maxComputeWorkgroupStorageSize')
      assert.ok(info.limits.maxComputeInvocationsPerWorkgroup! >= 256, 'maxComputeInvocationsPerWorkgroup')
      for (const [name, value] of Object.entries(info.limits)) {
        assert.is(value, (b.runtime.gpu.adapter.limits as unknown as Record<string, number>)[name], `limit ${name} is the adapter's`)
      }
      for (const f of ['shader-f16', 'subgroups', 'timestamp-query']) {
        assert.is(info.features.includes(f), b.runtime.gpu.adapter.features.has(f), `feature ${f} listed iff the adapter has it`)
      }
      console.log(`\n  adapter: ${info.adapter}; features: ${info.features.join(', ')}`)
      const x = F.ones([3000])
      const before = F.backendInfo().liveBytes
      const y = F.neg(x)
      assert.is(F.backendInfo().liveBytes - before, sizeClass(12000), 'liveBytes counts the result')
      F.dispose([x, y])
      assert.is(before - F.backendInfo().liveBytes, sizeClass(12000))
      assert.type(F.backendInfo().pooledBytes, 'number')
    })
  })

  test('more than 65,535 workgroups along x: a 16.8M-element op runs on a 2-D grid and matches the cpu', async () => {
    // 4100² elements need 65,665 workgroups of 256: just past the per-dimension limit, at the lowest
    // cost on lavapipe (20M elements prove nothing more). Each kernel family's 1-D grid is covered.
    const side = 4100
    const n = side * side
    await onGpu((b) => {
      assert.ok(Math.ceil(n / 256) > b.runtime.gpu.limits.maxComputeWorkgroupsPerDimension!, 'the grid must need splitting')
    })
    const ints = new Int32Array(n)
    const floats = new Float32Array(n)
    for (let i = 0; i < n; i++) {
      ints[i] = (i % 1000003) - 500000
      floats[i] = (i % 2001) / 1000 - 1
    }
    await expectParity(() => [F.add(F.tensor(ints, { shape: [n] }), 7), F.mul(F.tensor(floats, { shape: [n] }), 3)])
    // A strided gather (transpose), and a reduction with one workgroup per row for 168,100 rows.
    await expectParity(() => F.transpose(F.tensor(floats, { shape: [side, side] }), [1, 0]))
    await expectParity(() => F.sum(F.tensor(floats, { shape: [n / 100, 100] }), 1), { rtol: 1e-5, atol: 1e-5 })
  })

  test('a result larger than maxStorageBufferBindingSize is refused, naming the op, size and limit, before GPU work', async () => {
    await onGpu(async (b) => {
      const limit = b.runtime.gpu.limits.maxStorageBufferBindingSize!
      const n = Math.floor(limit / 4) + 1
      const one = F.ones([1])
      const live = F.backendInfo().liveBytes
      const dispatches = b.runtime.stats().dispatches
      throwsFovea(() => F.broadcastTo(one, [n]), 'broadcastTo', `f32[${n}]`, `${4 * n} bytes`, `maxStorageBufferBindingSize of ${limit} bytes`)
      throwsFovea(() => F.broadcastTo(F.cast(one, 'bool'), [2, Math.ceil(n / 2)]), 'broadcastTo', 'bool[2,', 'maxStorageBufferBindingSize')
      assert.is(b.runtime.stats().dispatches, dispatches + 1, 'only the cast ran')
      assert.ok(F.backendInfo().liveBytes - live <= sizeClass(4), 'nothing was allocated for the refused ops')
      if (limit <= 256 * 2 ** 20) {
        // Host data this large is cheap enough to build only where the limit is small (lavapipe: 128 MiB).
        throwsFovea(() => F.zeros([n]), 'upload', `f32[${n}]`, `maxStorageBufferBindingSize of ${limit} bytes`)
        await F.setBackend('cpu')
        const big = F.zeros([n])
        await F.setBackend('webgpu')
        throwsFovea(() => F.neg(big), 'neg', `f32[${n}]`, 'maxStorageBufferBindingSize')
      }
      assert.is(b.runtime.stats().dispatches, dispatches + 1)
    })
  })

  test('profile on webgpu: GPU time per dispatch, in order, for eager ops and for a jitted call', async () => {
    await onGpu(async (b) => {
      const x = F.tensor(new Float32Array(1 << 16).map((_, i) => i / 65536), { shape: [256, 256] })
      const eager = await F.profile(async () => F.toArray(F.matmul(F.exp(x), x)))
      assert.equal(eager.kernels.map((k) => k.name), ['exp', 'matmul'])
      assert.ok(eager.kernels.every((k) => Number.isFinite(k.ms) && k.ms >= 0))
      assert.ok(eager.kernels[1]!.ms > 0, 'a 256³ matmul takes measurable GPU time')
      const f = F.jit((v: F.Tensor) => F.sum(F.relu(F.add(F.mul(v, 2), 1)), 0))
      const kernels = f.lower(x).kernels
      const jitted = await F.profile(async () => F.toArray(f(x)))
      assert.is(jitted.kernels.length, kernels)
      assert.equal(jitted.summary.reduce((n, s) => n + s.count, 0), kernels)
      // More dispatches than one batch's query set holds: every one is still timed. (The shape changes
      // every op, so eager fusion cannot join them into chains.)
      const many = await F.profile(() => F.scope(() => {
        let y: F.Tensor = F.tensor([1, 2, 3, 4])
        for (let i = 0; i < 1100; i++) y = F.reshape(F.add(y, 1), i % 2 === 0 ? [2, 2] : [4])
        return F.toArray(y)
      }))
      assert.is(many.kernels.length, 1100)
      assert.equal(Array.from(many.result as Float32Array), [1101, 1102, 1103, 1104])
      assert.ok(b.runtime.stats().dispatches > 1100)
      await rejectsFovea(F.profile(() => F.profile(() => 1)), 'profile', 'do not nest')
    })
  })

  test('a destroyed device: ops and readbacks fail with the reason (no hang), setBackend gets a new device', async () => {
    const r = await runChild(`
      import * as F from 'ROOT/index.ts'
      import { webgpuBackend } from 'ROOT/core/backend/registry.ts'
      const describe = (e) => ({ name: e.name, message: e.message })
      const attempt = async (fn) => { try { await fn(); return { ok: true } } catch (e) { return describe(e) } }
      await F.setBackend('webgpu')
      const x = F.add(F.ones([4]), 1)
      const before = [...(await F.toArray(x))]
      ;(await webgpuBackend()).runtime.gpu.device.destroy()
      const y = F.mul(x, 2)                          // recorded before the loss is reported
      const read = await attempt(() => F.toArray(y))
      const op = await attempt(() => F.mul(x, 2))    // the loss is known by now
      await F.setBackend('webgpu')
      const fresh = [...(await F.toArray(F.add(F.ones([3]), 1)))]
      const stale = await attempt(() => F.neg(x))
      const staleRead = await attempt(() => F.toArray(x))
      console.log(JSON.stringify({ before, read, op, fresh, stale, staleRead }))
    `)
    assert.not.ok(r.timedOut, 'the child hung')
    assert.is(r.code, 0, r.stderr)
    const out = lastJson<Record<string, { name?: string; message?: string } & unknown>>(r.stdout) as unknown as {
      before: number[]; fresh: number[]; read: { name: string; message: string }; op: { name: string; message: string }
      stale: { name: string; message: string }; staleRead: { name: string; message: string }
    }
    assert.equal(out.before, [2, 2, 2, 2])
    for (const [what, e, op] of [['readback', out.read, 'toArray'], ['op', out.op, 'mul']] as const) {
      assert.is(e.name, 'FoveaError', `${what}: ${e.message}`)
      assert.ok(e.message.startsWith(`${op}: `), e.message)
      assert.ok(e.message.includes('device was lost (destroyed'), e.message)
      assert.ok(e.message.includes("setBackend('webgpu')"), e.message)
    }
    assert.equal(out.fresh, [2, 2, 2])
    assert.is(out.stale.name, 'FoveaError')
    assert.ok(out.stale.message.startsWith('neg: ') && out.stale.message.includes('earlier WebGPU device that was lost'), out.stale.message)
    assert.ok(out.staleRead.message.startsWith('toArray: ') && out.staleRead.message.includes('lost'), out.staleRead.message)
  })

  test('a process that used WebGPU exits by itself, with work still queued and tensors alive', async () => {
    const r = await runChild(`
      import * as F from 'ROOT/index.ts'
      await F.setBackend('webgpu')
      const x = F.add(F.ones([1000]), 1)
      console.log(JSON.stringify({ sum: await F.item(F.sum(x)) }))
      globalThis.keep = [x, F.mul(x, 3), F.scope(() => F.exp(x))]   // queued, never read
    `, {}, 30_000)
    assert.not.ok(r.timedOut, 'the process did not exit within 30 s')
    assert.is(r.code, 0, r.stderr)
    assert.equal(lastJson(r.stdout), { sum: 2000 })
    console.log(`\n  child with WebGPU work exited by itself after ${r.ms} ms`)
  })
}

// These need no adapter: they hide the driver from a child process.
const selection = `
  import * as F from 'ROOT/index.ts'
  const attempt = async (fn) => { try { return { ok: await fn() } } catch (e) { return { name: e.name, message: e.message } } }
  const demanded = await attempt(() => F.setBackend('webgpu').then(() => F.backendInfo().adapter))
  const first = await attempt(() => F.initBackend())
  const second = await attempt(() => F.initBackend())
  console.log(JSON.stringify({ demanded, first, second, backend: F.getBackend() }))
`

test('no adapter: setBackend("webgpu") fails with the reason; initBackend falls back to cpu with one line', async () => {
  const r = await runChild(selection, { ...noDriver, FOVEA_BACKEND: undefined })
  assert.is(r.code, 0, r.stderr)
  const out = lastJson<{ demanded: { ok?: string; name?: string; message?: string }; first: { ok?: string }; second: { ok?: string }; backend: string }>(r.stdout)
  if (out.demanded.ok !== undefined) {
    console.log(`\n  hiding the Vulkan driver left an adapter (${out.demanded.ok}); no-adapter checks skipped`)
    return
  }
  assert.is(out.demanded.name, 'FoveaError')
  assert.ok(out.demanded.message!.startsWith('setBackend: webgpu is not available: ') && out.demanded.message!.includes('no WebGPU adapter'), out.demanded.message)
  assert.equal([out.first.ok, out.second.ok, out.backend], ['cpu', 'cpu', 'cpu'])
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('fovea:'))
  assert.is(lines.length, 1, `one line from fovea, got:\n${r.stderr}`)
  assert.ok(lines[0]!.includes('using the cpu backend') && lines[0]!.includes('no WebGPU adapter'), lines[0])
})

test('FOVEA_BACKEND: cpu never loads Dawn, webgpu without an adapter fails with the reason, other values are refused', async () => {
  const init = `
    import * as F from 'ROOT/index.ts'
    try { console.log(JSON.stringify({ ok: await F.initBackend(), backend: F.getBackend() })) }
    catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })) }
  `
  const cpu = await runChild(init, { ...noDriver, FOVEA_BACKEND: 'cpu' })
  assert.equal(lastJson(cpu.stdout), { ok: 'cpu', backend: 'cpu' })
  assert.not.ok(/vkCreateInstance|fovea:/.test(cpu.stderr), `FOVEA_BACKEND=cpu printed:\n${cpu.stderr}`)
  const bogus = await runChild(init, { FOVEA_BACKEND: 'tpu' })
  const b = lastJson<{ name: string; message: string }>(bogus.stdout)
  assert.is(b.name, 'FoveaError')
  assert.ok(b.message.includes('FOVEA_BACKEND=tpu') && b.message.includes('expected cpu or webgpu'), b.message)
  const demanded = await runChild(init, { ...noDriver, FOVEA_BACKEND: 'webgpu' })
  const d = lastJson<{ ok?: string; name?: string; message?: string }>(demanded.stdout)
  if (d.ok === undefined) {
    assert.is(d.name, 'FoveaError')
    assert.ok(d.message!.includes('webgpu is not available') && d.message!.includes('no WebGPU adapter'), d.message)
  }
  if (run) {
    const withGpu = await runChild(init, { FOVEA_BACKEND: 'webgpu' })
    assert.equal(lastJson(withGpu.stdout), { ok: 'webgpu', backend: 'webgpu' })
  }
})

test.run()
