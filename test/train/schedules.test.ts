/**
 * Schedules at their boundaries (detectron2 WarmupMultiStepLR / WarmupCosineLR semantics), and the tensor
 * form agreeing with the number form, eagerly and under jit.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { assertClose, throwsFovea } from '../util/check.js'

const T = F.train
const close = (a: number, b: number, what: string) => assertClose([a], [b], { rtol: 1e-12, atol: 1e-15 }, what)

/** Number form vs tensor form (int32 and float32 steps) vs jitted tensor form. */
const agree = async (s: F.train.Schedule, steps: readonly number[], rtol = 1e-6) => {
  const jitted = F.jit((k: F.Tensor) => s(k))
  for (const k of steps) {
    const n = s(k)
    assertClose([await F.item(s(F.tensor(k, { dtype: 'int32' })))], [n], { rtol, atol: 1e-9 }, `int32 step ${k}`)
    assertClose([await F.item(s(F.tensor(k)))], [n], { rtol, atol: 1e-9 }, `float32 step ${k}`)
    assertClose([await F.item(jitted(F.tensor(k, { dtype: 'int32' })))], [n], { rtol, atol: 1e-9 }, `jit step ${k}`)
  }
  assert.is(jitted.traceCount(), 1)
}

test('constantSchedule', async () => {
  const s = T.constantSchedule(0.02)
  assert.equal([0, 5, 1e6].map((k) => s(k)), [0.02, 0.02, 0.02])
  await agree(s, [0, 7])
})

test('multiStep drops by gamma at each milestone itself (bisect_right)', async () => {
  const s = T.multiStep({ base: 2, steps: [10, 20], gamma: 0.1 })
  const at = [0, 9, 10, 19, 20, 1000].map((k) => s(k))
  ;[2, 2, 0.2, 0.2, 0.02, 0.02].forEach((e, i) => close(at[i]!, e, `step index ${i}`))
  const dup = T.multiStep({ steps: [5, 5] })
  close(dup(5), 0.01, 'a repeated milestone drops twice')
  await agree(s, [0, 9, 10, 19, 20, 1000])
  throwsFovea(() => T.multiStep({ steps: [20, 10] }), 'multiStep', 'steps must be increasing, got [20, 10]')
  throwsFovea(() => T.multiStep({ steps: [1.5] }), 'multiStep', 'non-negative integers, got 1.5')
})

test('warmupMultiStep: detectron2 defaults (linear, factor 0.001, 1000 iterations, gamma 0.1)', async () => {
  const s = T.warmupMultiStep({ base: 0.02, steps: [1500, 2000] })
  close(s(0), 0.02 * 0.001, 'iteration 0 is base·warmupFactor')
  close(s(500), 0.02 * (0.001 * 0.5 + 0.5), 'halfway')
  close(s(999), 0.02 * (0.001 * (1 - 0.999) + 0.999), 'last warmup iteration')
  close(s(1000), 0.02, 'warmup over')
  close(s(1499), 0.02, 'before the first drop')
  close(s(1500), 0.002, 'first drop')
  close(s(2000), 0.0002, 'second drop')
  await agree(s, [0, 1, 500, 999, 1000, 1499, 1500, 2000])
})

test('warmupMultiStep: a milestone inside the warmup multiplies the warmup factor; constant warmup; no warmup', async () => {
  const inside = T.warmupMultiStep({ base: 1, steps: [2], gamma: 0.5, warmupFactor: 0.1, warmupIters: 4 })
  close(inside(1), 0.1 * 0.75 + 0.25, 'before the milestone')
  close(inside(2), (0.1 * 0.5 + 0.5) * 0.5, 'milestone during warmup')
  close(inside(4), 0.5, 'after warmup')
  const constant = T.warmupMultiStep({ base: 1, steps: [], warmupFactor: 0.25, warmupIters: 3, warmupMethod: 'constant' })
  assert.equal([0, 2, 3].map((k) => constant(k)), [0.25, 0.25, 1])
  const none = T.warmupMultiStep({ base: 3, steps: [1], warmupIters: 0 })
  close(none(0), 3, 'no warmup at iteration 0')
  await agree(inside, [0, 1, 2, 3, 4])
  await agree(constant, [0, 2, 3])
  await agree(none, [0, 1])
  throwsFovea(() => T.warmupMultiStep({ steps: [], warmupMethod: 'exp' as 'linear' }), 'warmupFactorSchedule', 'unknown warmupMethod "exp"')
})

test('cosineSchedule and warmupCosine: base at 0, midpoint, final at and after maxIter', async () => {
  const s = T.cosineSchedule({ base: 0.1, final: 0.01, maxIter: 100 })
  close(s(0), 0.1, 'start')
  close(s(50), 0.055, 'midpoint')
  close(s(100), 0.01, 'end')
  close(s(150), 0.01, 'after the end')
  close(s(25), 0.01 + 0.09 * 0.5 * (1 + Math.cos(Math.PI / 4)), 'quarter')
  const w = T.warmupCosine({ base: 0.1, maxIter: 100, warmupFactor: 0.01, warmupIters: 10 })
  close(w(0), 0.1 * 0.01, 'warmup start (cos 0 = 1)')
  close(w(5), 0.1 * (0.01 * 0.5 + 0.5) * 0.5 * (1 + Math.cos(Math.PI * 0.05)), 'warmup multiplies the cosine')
  close(w(10), 0.1 * 0.5 * (1 + Math.cos(Math.PI * 0.1)), 'warmup over')
  close(w(100), 0, 'end')
  await agree(s, [0, 25, 50, 100, 150], 2e-6)
  await agree(w, [0, 5, 9, 10, 60, 100], 2e-6)
  throwsFovea(() => T.cosineSchedule({ maxIter: 0 }), 'cosineSchedule', 'maxIter must be positive, got 0')
})

test('schedules reject a non-scalar tensor step and a non-finite number', () => {
  const s = T.multiStep({ steps: [1] })
  throwsFovea(() => s(F.zeros([2]) as never), 'multiStep', 'scalar tensor', 'shape [2]')
  throwsFovea(() => s(Number.NaN), 'multiStep', 'finite number, got NaN')
})

test.run()
