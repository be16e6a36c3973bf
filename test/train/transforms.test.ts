/**
 * Each gradient transformation on hand-computed values; chain state layout; jit without retracing; errors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, expectTensor, throwsFovea } from '../util/check.js'

const T = F.train
const tree = () => ({ a: F.tensor([1, -2]), b: { bias: F.tensor([0.5]) } })
const grads = () => ({ a: F.tensor([3, 4]), b: { bias: F.tensor([-1]) } })
type Tree = ReturnType<typeof tree>

const values = async (t: unknown): Promise<number[][]> => Promise.all(F.treeLeaves(t).map(async (x) => Array.from(await F.toArray(x as Tensor))))

test('identity and applyUpdates', async () => {
  const [u, s] = T.identity().update(grads(), {})
  assert.equal(s, {})
  assert.equal(await values(T.applyUpdates(tree(), u)), [[4, 2], [-0.5]])
})

test('scale: one factor, a function of the dotted name, or a tree of factors', async () => {
  const byName = T.scale((name) => (name.endsWith('bias') ? 10 : 1))
  assert.equal(await values(byName.update(grads(), byName.init(tree()))[0]), [[3, 4], [-10]])
  assert.equal(await values(T.scale(0.5).update(grads(), {})[0]), [[1.5, 2], [-0.5]])
  assert.equal(await values(T.scale({ a: 2, b: { bias: 0 } }).update(grads(), {})[0]), [[6, 8], [-0]])
  throwsFovea(() => T.scale({ a: 2 }).update(grads(), {}), 'scale', 'per-parameter tree has 1 leaves but the params have 2')
})

test('scaleByLearningRate: a number negates and scales; a schedule reads the step count from the state', async () => {
  assert.equal(await values(T.scaleByLearningRate(0.1).update(grads(), {})[0]), [[-0.30000001192092896, -0.4000000059604645], [0.10000000149011612]])
  const sched = T.scaleByLearningRate(T.multiStep({ base: 1, steps: [1, 2], gamma: 0.5 }))
  let state = sched.init(tree())
  const seen: number[] = []
  for (let k = 0; k < 4; k++) {
    const [u, s] = sched.update({ x: F.tensor([2]) }, state)
    seen.push((await F.toArray(u.x))[0]!)
    state = s
  }
  assert.equal(seen, [-2, -1, -0.5, -0.5])
  assert.is(await F.item((state as { count: Tensor }).count), 4)
  assert.is((state as { count: Tensor }).count.dtype, 'int32')
  const numberOnly = T.scaleByLearningRate(((k: number) => (k < 10 ? 0.1 : 0.01)) as unknown as F.train.Schedule)
  throwsFovea(() => numberOnly.update(grads(), numberOnly.init(tree())), 'scaleByLearningRate', 'returned number for a tensor step')
  throwsFovea(() => sched.update(grads(), {} as never), 'scaleByLearningRate', 'no scalar step count')
  throwsFovea(() => T.scaleByLearningRate(-1), 'scaleByLearningRate', 'lr must be a non-negative number, got -1')
})

test('traceMomentum: PyTorch buffers, heavy ball and Nesterov', async () => {
  const heavy = T.traceMomentum({ momentum: 0.5 })
  const nesterov = T.traceMomentum({ momentum: 0.5, nesterov: true })
  let [sh, sn] = [heavy.init({ x: F.zeros([2]) }), nesterov.init({ x: F.zeros([2]) })]
  const g1 = { x: F.tensor([1, 2]) }
  const g2 = { x: F.tensor([1, 1]) }
  let [uh, un] = [heavy.update(g1, sh), nesterov.update(g1, sn)]
  await expectTensor(uh[0].x, [1, 2]) // buf = g on the first step
  await expectTensor(un[0].x, [1.5, 3]) // g + m·buf
  ;[sh, sn] = [uh[1], un[1]]
  ;[uh, un] = [heavy.update(g2, sh), nesterov.update(g2, sn)]
  await expectTensor(uh[0].x, [1.5, 2]) // 0.5·[1,2] + [1,1]
  await expectTensor(un[0].x, [1.75, 2]) // [1,1] + 0.5·[1.5,2]
  await expectTensor((uh[1].trace as { x: Tensor }).x, [1.5, 2])
  throwsFovea(() => heavy.update({ x: F.ones([2]), y: F.ones([1]) }, sh), 'traceMomentum', 'traces 1 tensors but the updates have 2')
  throwsFovea(() => T.traceMomentum({ momentum: -0.1 }), 'traceMomentum', 'momentum must be a non-negative number')
})

test('addDecayedWeights: per-parameter decay and masks (function or boolean tree)', async () => {
  const p = tree()
  const all = T.addDecayedWeights(0.1)
  assertClose((await values(all.update(grads(), {}, p)[0])).flat(), [3.1, 3.8, -0.95], { rtol: 1e-6 })
  const noBias = T.addDecayedWeights(0.1, (name) => !name.endsWith('bias'))
  assertClose((await values(noBias.update(grads(), {}, p)[0])).flat(), [3.1, 3.8, -1], { rtol: 1e-6 })
  const maskTree = T.addDecayedWeights(0.1, F.treeMap((_: Tensor) => false, p))
  assertClose((await values(maskTree.update(grads(), {}, p)[0])).flat(), [3, 4, -1])
  const perName = T.addDecayedWeights((name) => (name === 'a' ? 1 : 0))
  assertClose((await values(perName.update(grads(), {}, p)[0])).flat(), [4, 2, -1])
  throwsFovea(() => all.update(grads(), {}), 'addDecayedWeights', 'needs the params')
  throwsFovea(() => T.addDecayedWeights((n) => (n === 'a' ? -1 : 0)).update(grads(), {}, p), 'addDecayedWeights', 'the weight decay of a must be a non-negative number, got -1')
})

test('scaleByAdam: bias-corrected first step is g/(|g|+eps); second step by hand', async () => {
  const adam = T.scaleByAdam({ b1: 0.9, b2: 0.999, eps: 1 })
  const s0 = adam.init({ x: F.zeros([2]) })
  const [u1, s1] = adam.update({ x: F.tensor([2, -0.5]) }, s0)
  await expectTensor(u1.x, [2 / 3, -0.5 / 1.5], { rtol: 1e-5 })
  const [u2, s2] = adam.update({ x: F.tensor([1, 1]) }, s1)
  const m = [0.9 * 0.1 * 2 + 0.1 * 1, 0.9 * 0.1 * -0.5 + 0.1 * 1]
  const v = [0.999 * 0.001 * 4 + 0.001, 0.999 * 0.001 * 0.25 + 0.001]
  const expected = m.map((mi, i) => mi / (1 - 0.81) / (Math.sqrt(v[i]! / (1 - 0.999 ** 2)) + 1))
  await expectTensor(u2.x, expected, { rtol: 1e-5 })
  assert.is(await F.item(s2.count), 2)
  // eps is added after the square root: with a tiny gradient the step is far from ±1
  const [tiny] = T.scaleByAdam({ eps: 1e-8 }).update({ x: F.tensor([1e-8]) }, T.scaleByAdam().init({ x: F.zeros([1]) }))
  await expectTensor(tiny.x, [0.5], { rtol: 1e-4 })
  throwsFovea(() => T.scaleByAdam({ b1: 1 }), 'scaleByAdam', 'b1 must be in [0, 1), got 1')
  throwsFovea(() => T.scaleByAdam({ eps: -1 }), 'scaleByAdam', 'eps must be a non-negative number')
})

test('clipByGlobalNorm: scales all leaves together, leaves small gradients alone', async () => {
  const g = { a: F.tensor([3]), b: F.tensor([4]) }
  const [clipped] = T.clipByGlobalNorm(1).update(g, {})
  await expectTensor(clipped.a, [0.6 * 5 / (5 + 1e-6)], { rtol: 1e-6 })
  await expectTensor(clipped.b, [0.8 * 5 / (5 + 1e-6)], { rtol: 1e-6 })
  const [kept] = T.clipByGlobalNorm(10).update(g, {})
  await expectTensor(kept.a, [3])
  throwsFovea(() => T.clipByGlobalNorm(0), 'clipByGlobalNorm', 'maxNorm must be a positive number, got 0')
  throwsFovea(() => T.clipByGlobalNorm(1).update({ a: 3 }, {}), 'clipByGlobalNorm', 'update leaf a is number, not a tensor')
})

test('freeze: zero updates for frozen parameters, even with decay and momentum before it', async () => {
  const opt = T.sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.5, frozen: (name) => name.startsWith('b.') })
  const p = tree()
  const [u] = opt.update(grads(), opt.init(p), p)
  assert.equal((await values(u))[1], [0])
})

test('chain threads updates in order and names its state by position', async () => {
  const opt = T.chain(T.scale(2), T.traceMomentum({ momentum: 0.9 }), T.scaleByLearningRate(T.constantSchedule(0.5)))
  const p = tree()
  const state = opt.init(p)
  assert.equal(F.treeFlattenNamed(state).map(([n]) => n), ['1.trace.a', '1.trace.b.bias', '2.count'])
  const [u] = opt.update(grads(), state, p)
  assert.equal(await values(u), [[-3, -4], [1]])
  throwsFovea(() => opt.update(grads(), [] as never, p), 'chain', 'expected a state array of 3 entries')
})

test('sgd/adamw states are tensors only: jit traces the update once and replays it', async () => {
  const opt = T.adamw({ lr: T.warmupCosine({ base: 0.1, maxIter: 10, warmupIters: 3 }) })
  const step = F.jit((p: Tree, s: readonly unknown[], g: Tree) => {
    const [u, next] = opt.update(g, s, p)
    return [T.applyUpdates(p, u), next] as const
  })
  let [p, s] = [tree(), opt.init(tree())] as [Tree, readonly unknown[]]
  let [pe, se] = [tree(), opt.init(tree())] as [Tree, readonly unknown[]]
  for (let k = 0; k < 4; k++) {
    ;[p, s] = step(p, s, grads())
    const [u, next] = opt.update(grads(), se, pe)
    ;[pe, se] = [T.applyUpdates(pe, u), next]
  }
  assert.is(step.traceCount(), 1)
  assertClose((await values(p)).flat(), (await values(pe)).flat(), { rtol: 1e-6 })
})

test('sgd and adamw reject PyTorch-invalid settings', () => {
  throwsFovea(() => T.sgd({ lr: 0.1, nesterov: true }), 'sgd', 'nesterov momentum needs a positive momentum')
  throwsFovea(() => T.sgd({ lr: 0.1, momentum: -1 }), 'sgd', 'momentum must be non-negative, got -1')
  throwsFovea(() => T.adamw({ lr: 0.1, b2: 1.5 }), 'scaleByAdam', 'b2 must be in [0, 1), got 1.5')
})

test.run()
