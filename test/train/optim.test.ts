/**
 * sgd and adamw against test/fixtures/optim_numpy.json: five steps of a NumPy transcription of PyTorch's
 * documented SGD / AdamW update rules (momentum, Nesterov, L2 vs decoupled decay, schedules, detectron2
 * parameter groups, gradient clipping), eager and under jit.
 */
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose } from '../util/check.js'

type Fixture = {
  steps: number
  shapes: Record<string, number[]>
  params: Record<string, number[]>
  noise: Record<string, number[]>[]
  lr: Record<string, number[]>
  cases: Record<string, Record<string, number[]>[]>
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/optim_numpy.json', import.meta.url), 'utf8')) as Fixture

/** detectron2-style names: a conv with a norm inside a ResNet stage, and a linear head. */
const like = { backbone: { res2: [{ conv1: { weight: 0, norm: { weight: 0, bias: 0 } } }] }, head: { fc: { weight: 0, bias: 0 } } }
const treeOf = (values: Record<string, number[]>) =>
  F.treeUnflattenNamed(like, Object.fromEntries(Object.entries(values).map(([n, v]) => [n, F.tensor(Float32Array.from(v), { shape: fx.shapes[n]! })])))

const run = async (name: string, opt: F.train.GradientTransformation<any>, jitted = false): Promise<void> => {
  let params: unknown = treeOf(fx.params)
  let state = opt.init(params)
  const step = (p: unknown, s: unknown, noise: unknown) => {
    const grads = F.treeMap((x: Tensor, n: Tensor) => F.add(F.mul(x, 0.5), n), p, noise)
    const [updates, next] = opt.update(grads, s, p)
    return [F.train.applyUpdates(p, updates), next] as const
  }
  const go = jitted ? F.jit(step) : step
  for (let t = 0; t < fx.steps; t++) {
    ;[params, state] = go(params, state, treeOf(fx.noise[t]!)) as [unknown, unknown]
    for (const [n, leaf] of F.treeFlattenNamed(params)) {
      assertClose(await F.toArray(leaf as Tensor), fx.cases[name]![t]![n]!, { rtol: 2e-5, atol: 2e-6 }, `${name}${jitted ? ' (jit)' : ''} step ${t} ${n}`)
    }
  }
}

const groups = F.train.defaultParamGroups({ weightDecay: 0.01, weightDecayNorm: 0, weightDecayBias: 0, biasLrFactor: 2 })

test('sgd without momentum is p − lr·g', () => run('sgd_plain', F.train.sgd({ lr: 0.1 })))

test('sgd with momentum and L2 weight decay matches torch.optim.SGD', () =>
  run('sgd_momentum_wd', F.train.sgd({ lr: 0.05, momentum: 0.9, weightDecay: 0.01 })))

test('sgd with Nesterov momentum matches torch.optim.SGD(nesterov=True)', () =>
  run('sgd_nesterov_wd', F.train.sgd({ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })))

test('sgd with a warmup multi-step schedule and detectron2 groups matches per-group SGD (eager and jit)', async () => {
  const make = () => F.train.sgd({
    lr: F.train.warmupMultiStep({ base: 0.1, steps: [3], gamma: 0.1, warmupFactor: 0.1, warmupIters: 2 }),
    momentum: 0.9, weightDecay: groups.weightDecay, lrFactor: groups.lrFactor,
  })
  await run('sgd_schedule_groups', make())
  await run('sgd_schedule_groups', make(), true)
})

test('sgd after global-norm clipping matches clip_grad_norm_ then SGD', () =>
  run('sgd_clip', F.train.sgd({ lr: 0.05, momentum: 0.9, maxGradNorm: 1 })))

test('adamw with PyTorch defaults (decoupled decay 0.01) matches torch.optim.AdamW', () => run('adamw_default', F.train.adamw({ lr: 1e-3 })))

test('adamw with a warmup cosine schedule and custom betas/eps matches (eager and jit)', async () => {
  const make = () => F.train.adamw({ lr: F.train.warmupCosine({ base: 0.01, maxIter: 5, warmupFactor: 0.1, warmupIters: 2 }), b1: 0.8, b2: 0.99, eps: 1e-6, weightDecay: 0.1 })
  await run('adamw_schedule', make())
  await run('adamw_schedule', make(), true)
})

test('adamw with detectron2 groups scales decay by the group lr, as a PyTorch group does', () =>
  run('adamw_groups', F.train.adamw({ lr: 0.02, weightDecay: groups.weightDecay, lrFactor: groups.lrFactor })))

test('the fixture schedules agree with ours', () => {
  const ms = F.train.warmupMultiStep({ base: 0.1, steps: [3], gamma: 0.1, warmupFactor: 0.1, warmupIters: 2 })
  const cos = F.train.warmupCosine({ base: 0.01, maxIter: 5, warmupFactor: 0.1, warmupIters: 2 })
  assertClose(fx.lr.warmup_multistep!.map((_, t) => ms(t)), fx.lr.warmup_multistep!, { rtol: 1e-12 })
  assertClose(fx.lr.warmup_cosine!.map((_, t) => cos(t)), fx.lr.warmup_cosine!, { rtol: 1e-12 })
})

test.run()
