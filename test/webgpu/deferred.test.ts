/**
 * Eager fusion (ops/elementwise/deferred.ts and the runtime's pending chain): how many kernels eager
 * elementwise code costs, which outputs are stored, and that the values are the CPU reference's.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import type { WebGpuBackend } from '../../core/backend/webgpu/backend.js'
import { randn } from '../util/check.js'
import { lastJson, runChild } from './child.js'
import { expectParity, gpuAvailable, onGpu } from './gpu.js'

const run = await gpuAvailable('deferred')

/** Kernels `fn` dispatches, with everything it left pending emitted. */
const dispatchesOf = (b: WebGpuBackend, fn: () => unknown): number => {
  const before = b.runtime.stats().dispatches
  fn()
  return b.runtime.stats().dispatches - before
}

const w4 = (x: Tensor): Tensor => F.sub(F.mul(F.tanh(F.add(F.mul(x, 1.5), 0.5)), F.sigmoid(x)), F.mul(x, x))

if (run) {
  test('a scoped elementwise chain is one kernel that stores only the result; values match the cpu', async () => {
    await onGpu(async (b) => {
      const x = randn([10007], 1)
      let y: Tensor | undefined
      assert.is(dispatchesOf(b, () => (y = F.scope(() => w4(x)))), 1)
      F.dispose(y)
      // A result disposed before anything reads it is never computed; nor is a dropped scoped one.
      assert.is(dispatchesOf(b, () => F.dispose(F.scope(() => w4(x)))), 0)
      assert.is(dispatchesOf(b, () => F.scope(() => void w4(x))), 0)
      const profile = await F.profile(() => F.toArray(F.scope(() => w4(x))))
      assert.is(profile.kernels.length, 1)
      const name = profile.kernels[0]!.name
      assert.ok(name.startsWith('fused(') && name.includes('=tanh(') && name.includes('=sigmoid(x0)'), name)
    })
    await expectParity(() => F.scope(() => w4(randn([10007], 1))), { rtol: 1e-6, atol: 1e-6 })
  })

  test('intermediates still referenced are stored by the same kernel, and read back right', async () => {
    await onGpu((b) => {
      const x = randn([300], 2)
      assert.is(dispatchesOf(b, () => {
        const a = F.mul(x, 2)
        const c = F.exp(F.add(a, 1))
        F.dispose([a, c])
      }), 1)
    })
    await expectParity(() => {
      const a = F.mul(randn([300], 2), 2)
      const c = F.exp(F.add(a, 1))
      return [a, c, F.neg(c)]
    }, { rtol: 1e-6 })
  })

  test('a chain ends where the domain changes, at other kernels, and where a value is read at another shape', async () => {
    await onGpu((b) => {
      const x = randn([8, 8], 3)
      // exp | matmul | relu(·)+1: three kernels.
      assert.is(dispatchesOf(b, () => F.scope(() => F.add(F.relu(F.matmul(F.exp(x), x)), 1))), 3)
      // [8,8] then [8] (a reduction between): exp, sum, and the [8] chain.
      assert.is(dispatchesOf(b, () => F.scope(() => F.mul(F.sum(F.exp(x), 1), 2))), 3)
    })
    // A chain value read through a view of another shape ([64] as [1,64], broadcast into [4,64]).
    await expectParity(() => {
      const a = F.mul(randn([64], 4), 3)
      const b = F.add(a, 1)
      return [b, F.mul(F.reshape(a, [1, 64]), F.ones([4, 64])), F.sub(F.reshape(b, [8, 8]), 2)]
    })
  })

  test('wide chains split within the binding limit; long chains split at 32 steps; every output right', async () => {
    const wide = () => {
      // Six inputs and a live value per step: one kernel cannot bind them all (8 storage buffers).
      const xs = [0, 1, 2, 3, 4, 5].map((i) => randn([517], 10 + i))
      const outs: Tensor[] = []
      let acc: Tensor = xs[0]!
      for (const x of xs.slice(1)) outs.push((acc = F.add(F.mul(acc, x), 0.5)))
      return outs
    }
    const long = () => {
      let y: Tensor = randn([333], 20)
      const [k, c] = [F.mul(F.ones([333]), 0.9), F.mul(F.ones([333]), 0.01)]
      const seen: Tensor[] = []
      for (let i = 0; i < 70; i++) {
        y = F.add(F.mul(y, k), c)
        if (i % 10 === 0) seen.push(y)
      }
      return [...seen, y]
    }
    await onGpu((b) => {
      let outs: Tensor[] = []
      const n = dispatchesOf(b, () => (outs = wide()))
      assert.ok(n >= 2 && n <= 4, `${n} kernels for 10 steps over 6 inputs with 10 live values`)
      F.dispose(outs)
      const m = dispatchesOf(b, () => (outs = F.scope(() => long())))
      // Five chains (32 steps at most); inside the scope every value is still referenced when a chain
      // fills, so each is stored, five per kernel (3 inputs + 5 outputs). Unfused: 140 kernels.
      assert.ok(m >= 5 && m <= 35, `${m} kernels for 140 steps`)
      F.dispose(outs)
    })
    await expectParity(wide, { rtol: 1e-6 })
    await expectParity(long, { rtol: 1e-5, atol: 1e-6 })
  })

  test('host scalars travel as uniforms: thirty distinct constants stay one chain; f32, i32 and bool exact', async () => {
    const scalars = () => {
      let y: Tensor = randn([1001], 30)
      for (let i = 0; i < 15; i++) y = F.add(F.mul(y, 0.9 + i / 1000), 0.01 * i - 0.05)
      return y
    }
    await onGpu((b) => {
      let y: Tensor | undefined
      assert.is(dispatchesOf(b, () => (y = F.scope(scalars))), 1, 'thirty scalars, one kernel')
      F.dispose(y)
    })
    await expectParity(() => F.scope(scalars), { rtol: 1e-6, atol: 1e-6 })
    await expectParity(() => F.scope(() => {
      const i = F.tensor([5, -3, 2147483647, 0], { dtype: 'int32' })
      const m = F.tensor([true, false, true, false])
      return [F.mul(F.add(i, -7), 3), F.logicalAnd(F.logicalOr(m, false), true), F.where(F.logicalNot(F.logicalAnd(m, true)), F.add(F.cast(i, 'float32'), 0.1), -2.5)]
    }))
  })

  test('jit lower() counts only its own kernels, not eager work still pending before it', async () => {
    await onGpu(async () => {
      const x = randn([64, 64], 40)
      const f = F.jit((v: Tensor) => F.sum(F.exp(F.matmul(v, v)), 1))
      const alone = f.lower(x).kernels
      const pending = F.mul(F.add(x, 1), 2)
      assert.is(f.lower(x).kernels, alone)
      assert.is((await F.toArray(pending))[0], Math.fround(Math.fround((await F.toArray(x))[0]! + 1) * 2))
    })
  })

  test('inputs released before the chain is emitted (a scope ending first) are kept until it is', async () => {
    await onGpu(async (b) => {
      const y = F.scope(() => {
        const c = F.add(F.tensor([1, 2, 3]), 10)
        return F.mul(F.neg(c), F.tensor([2, 2, 2]))
      })
      // Scope ended: c and the constants are released, the chain has not run yet.
      const live = b.runtime.pool.liveBytes()
      assert.equal([...(await F.toArray(y))], [-22, -24, -26])
      assert.ok(b.runtime.pool.liveBytes() < live, 'the chain released what it held once emitted')
      F.dispose(y)
    })
  })

  test('eager fusion off (setDeferral, FOVEA_EAGER_FUSION=0): one kernel per op, same values', async () => {
    await onGpu((b) => {
      const x = randn([1000], 5)
      b.runtime.setDeferral(false)
      try {
        assert.is(dispatchesOf(b, () => F.dispose(F.scope(() => w4(x)))), 7)
      } finally {
        b.runtime.setDeferral(true)
      }
    })
    const r = await runChild(`
      import * as F from 'ROOT/index.ts'
      import { webgpuBackend } from 'ROOT/core/backend/registry.ts'
      await F.setBackend('webgpu')
      const b = await webgpuBackend()
      const x = F.tensor([0.5, -1, 2])
      const before = b.runtime.stats().dispatches
      const y = F.scope(() => F.add(F.mul(x, 2), 1))
      const values = [...(await F.toArray(y))]
      console.log(JSON.stringify({ kernels: b.runtime.stats().dispatches - before, values }))
    `, { FOVEA_EAGER_FUSION: '0' })
    assert.is(r.code, 0, r.stderr)
    assert.equal(lastJson(r.stdout), { kernels: 2, values: [2, -1, 5] })
  })
}

test.run()
