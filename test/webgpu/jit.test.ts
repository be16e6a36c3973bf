import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { randn } from '../util/check.js'
import { webgpuBackend } from '../../core/backend/registry.js'
import type { WebGpuBackend } from '../../core/backend/webgpu/backend.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('jit')

/** GPU dispatches one call of `f` makes, from jit's lowering on the webgpu backend. */
const kernelsOnGpu = async (f: (...xs: Tensor[]) => unknown, ...args: (() => Tensor)[]): Promise<number> => {
  await F.setBackend('webgpu')
  try {
    return F.jit(f as (...xs: Tensor[]) => Tensor).lower(...args.map((a) => a())).kernels
  } finally {
    await F.setBackend('cpu')
  }
}

type Mlp = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor }
const mlpLoss = (p: Mlp, x: Tensor, y: Tensor) =>
  F.neg(F.mean(F.sum(F.mul(F.logSoftmax(F.add(F.matmul(F.relu(F.add(F.matmul(x, p.w1), p.b1)), p.w2), p.b2), -1), F.oneHot(y, 10)), -1)))
const mlpStep = (p: Mlp, x: Tensor, y: Tensor) => {
  const [loss, g] = F.valueAndGrad(mlpLoss)(p, x, y)
  return { loss, params: F.treeMap((w: Tensor, d: Tensor) => F.sub(w, F.mul(d, 0.01)), p, g) as Mlp }
}
const mlpArgs = (): [Mlp, Tensor, Tensor] => [
  { w1: randn([64, 32], 1, 0.1), b1: randn([32], 2, 0.1), w2: randn([32, 10], 3, 0.1), b2: randn([10], 4, 0.1) },
  randn([16, 64], 5),
  F.tensor(Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 10), { shape: [16] }),
]

if (run) {
  test('kernel counts: relu(x*2+1) is 1, the W4 chain is 1, softmax is 3', async () => {
    assert.is(await kernelsOnGpu((x) => F.relu(F.add(F.mul(x, 2), 1)), () => randn([1000], 1)), 1)
    assert.is(await kernelsOnGpu((x) => F.sub(F.mul(F.tanh(F.add(F.mul(x, 1.5), 0.5)), F.sigmoid(x)), F.mul(x, x)), () => randn([1000], 1)), 1)
    assert.is(await kernelsOnGpu((x) => F.softmax(x, -1), () => randn([8, 100], 1)), 3)
  })

  test('an MLP training step: jit equals eager on webgpu, and its kernel count is reported', async () => {
    await expectParity(() => F.jit(mlpStep)(...mlpArgs()), { rtol: 1e-4, atol: 1e-6 })
    await F.setBackend('webgpu')
    const [p, x, y] = mlpArgs()
    const step = F.jit(mlpStep)
    const lowered = step.lower(p, x, y)
    console.log(`\n  MLP 64-32-10 train step (value-and-grad + SGD): ${lowered.kernels} GPU kernels per jitted call`)
    assert.ok(lowered.kernels > 0 && lowered.kernels < 60, `${lowered.kernels} kernels`)
    await F.setBackend('cpu')
  })

  test('a jitted call is one submission; replays reuse their buffers and bind groups', async () => {
    await F.setBackend('webgpu')
    try {
      const runtime = ((await webgpuBackend()) as WebGpuBackend).runtime
      // Reductions between elementwise chains keep this from fusing into one kernel.
      const f = F.jit((x: Tensor) => {
        let h = x
        for (let r = 0; r < 5; r++) h = F.add(F.tanh(F.mul(h, 0.9)), F.reshape(F.sum(h, -1), [4, 1]))
        return h
      })
      const x = randn([4, 4], 12)
      const kernels = f.lower(x).kernels
      for (let i = 0; i < 3; i++) F.dispose(f(x))
      const before = runtime.stats()
      for (let i = 0; i < 3; i++) F.dispose(f(x))
      const steady = runtime.stats()
      assert.is(steady.submits - before.submits, 3, 'one submission per call')
      assert.is(steady.dispatches - before.dispatches, 3 * kernels)
      assert.is(steady.bindGroupsCreated, before.bindGroupsCreated, 'replays whose result is dropped create no bind group')
      // Results kept alive hold their buffers, so at most the dispatch writing each result binds a new one.
      const outs = [f(x), f(x), f(x)]
      assert.ok(runtime.stats().bindGroupsCreated - steady.bindGroupsCreated <= 3, 'at most one new bind group per kept result')
      const values = await Promise.all(outs.map((o) => F.toArray(o)))
      assert.equal(Array.from(values[2]!), Array.from(values[0]!))
    } finally {
      await F.setBackend('cpu')
    }
  })

  test('a jitted function first called inside F.scope keeps its constants for later calls', async () => {
    await F.setBackend('webgpu')
    try {
      const f = F.jit((w: Tensor, x: Tensor) => F.grad((v: Tensor) => F.mean(F.logSoftmax(F.matmul(x, v), -1)))(w))
      const w = randn([8, 10], 8)
      const x = randn([4, 8], 9)
      const first = await F.toArray(F.scope(() => f(w, x)))
      const second = await F.toArray(F.scope(() => f(w, x)))
      assert.equal(Array.from(second), Array.from(first))
    } finally {
      await F.setBackend('cpu')
    }
  })

  test('jit results equal eager results on webgpu (fused chains, fused reductions)', async () => {
    const f = (x: Tensor, y: Tensor) => [F.softmax(x, -1), F.sum(F.exp(F.sub(x, 1)), -1), F.relu(F.add(F.mul(x, y), 1)), F.logSoftmax(x)]
    const x = () => randn([33, 257], 6)
    const y = () => randn([257], 7)
    await expectParity(() => F.jit(f)(x(), y()), { rtol: 2e-5, atol: 1e-6 })
  })

  // Convolutions with their elementwise readers fused into the store (ops/linalg/conv-epilogue.ts): the
  // positions-major and channels-major tiles, the transposed-weight stem, groups, a residual, several
  // chain outputs including a bool; one kernel per convolution (the stem's weights are first copied
  // transposed, K = 3·7·7 not being a multiple of 4), equal to the CPU reference.
  test('conv2d epilogues: one kernel each, equal to the cpu reference on every tile layout', async () => {
    const cases: [string, number[], number[], F.Conv2dOptions, number][] = [
      ['positions-major 64→64 @ 20²', [1, 64, 20, 20], [64, 64, 3, 3], { padding: 1 }, 1],
      ['channels-major 64→128 @ 4²', [1, 64, 4, 4], [128, 64, 3, 3], { padding: 1 }, 1],
      ['3-channel stem 7×7 / 2', [2, 3, 23, 23], [16, 3, 7, 7], { stride: 2, padding: 3 }, 2],
      ['groups = 2', [1, 8, 9, 9], [12, 4, 3, 3], { padding: 1, groups: 2 }, 1],
    ]
    for (const [what, xs, ws, options, kernels] of cases) {
      const o = ws[0]!
      const block = (x: Tensor, w: Tensor, b: Tensor, r: Tensor) => {
        const z = F.add(F.add(F.conv2d(x, w, options), F.reshape(b, [1, o, 1, 1])), r)
        return [F.relu(z), z, F.greater(z, 0.5)]
      }
      const outShape = F.conv2d(F.zeros(xs), F.zeros(ws), options).shape
      const args = () => [randn(xs, 1), randn(ws, 2, 0.2), randn([o], 3), randn([...outShape], 4)] as const
      assert.is(await kernelsOnGpu((x, w, b, r) => block(x, w, b, r), ...args().map((a) => () => a)), kernels, `${what}: kernels`)
      await expectParity(() => F.jit(block)(...args()), { rtol: 1e-4, atol: 1e-4 }, what)
    }
  })
}

test.run()
