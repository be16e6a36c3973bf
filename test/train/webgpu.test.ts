/**
 * Optimizer updates on WebGPU agree with the CPU reference (eager and jitted, schedules evaluated on the
 * device from the i32 step count), and the loop runs there. Skips, saying so, without an adapter.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { expectParity, gpuAvailable } from '../webgpu/gpu.js'
import { randn } from '../util/check.js'

const T = F.train
const params = () => ({ conv: { weight: randn([4, 3, 3, 3], 1), norm: { weight: randn([4], 2), bias: randn([4], 3) } }, fc: { weight: randn([10, 4], 4), bias: randn([10], 5) } })
const groups = T.defaultParamGroups({ weightDecay: 1e-2, biasLrFactor: 2 })
const optimizers = {
  sgd: () => T.sgd({ lr: T.warmupMultiStep({ base: 0.1, steps: [2], warmupIters: 2, warmupFactor: 0.1 }), momentum: 0.9, nesterov: true, weightDecay: groups.weightDecay, lrFactor: groups.lrFactor, maxGradNorm: 5 }),
  adamw: () => T.adamw({ lr: T.warmupCosine({ base: 0.01, maxIter: 4, warmupIters: 1 }), weightDecay: groups.weightDecay, lrFactor: groups.lrFactor }),
}

/** Four steps with gradients 0.5·p + noise; returns the final params and optimizer state. */
const trajectory = (make: () => F.train.GradientTransformation<any>, jitted: boolean) => () => {
  const opt = make()
  const step = (p: unknown, s: unknown, k: Tensor) => {
    const g = F.treeMap((x: Tensor) => F.add(F.mul(x, 0.5), F.mul(F.cos(F.add(x, k)), 0.1)), p)
    const [u, next] = opt.update(g, s, p)
    return [T.applyUpdates(p, u), next] as const
  }
  const run = jitted ? F.jit(step) : step
  let [p, s]: [unknown, unknown] = [params(), opt.init(params())]
  for (let k = 0; k < 4; k++) [p, s] = run(p, s, F.tensor(k)) as [unknown, unknown]
  return [p, s]
}

test('sgd and adamw with schedules and groups: WebGPU matches the CPU, eager and jitted', async () => {
  if (!(await gpuAvailable('train'))) return
  for (const [name, make] of Object.entries(optimizers)) {
    await expectParity(trajectory(make, false), { rtol: 2e-5, atol: 2e-6 }, `${name} eager`)
    await expectParity(trajectory(make, true), { rtol: 2e-5, atol: 2e-6 }, `${name} jit`)
  }
})

test('the loop trains on WebGPU', async () => {
  if (!(await gpuAvailable('train'))) return
  await F.setBackend('webgpu')
  try {
    const opt = T.sgd({ lr: 0.5, momentum: 0.1 })
    const target = F.tensor([1, -2, 3])
    const loss = (p: { w: Tensor }) => F.mean(F.square(F.sub(p.w, target)))
    const r = await T.train({
      state: { p: { w: F.zeros([3]) }, s: opt.init({ w: F.zeros([3]) }) },
      data: () => null,
      step: (st) => {
        const [v, g] = F.valueAndGrad(loss)(st.p)
        const [u, s] = opt.update(g, st.s, st.p)
        return { state: { p: T.applyUpdates(st.p, u), s }, loss: v }
      },
      maxIter: 40, progress: 'off',
    })
    assert.ok(r.storage.histories.loss!.latest < 1e-3, `loss ${r.storage.histories.loss!.latest}`)
  } finally {
    await F.setBackend('cpu')
  }
})

test.run()
