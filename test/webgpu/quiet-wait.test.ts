/**
 * The quiet wait (core/backend/webgpu/quiet-wait.ts): `setImmediate` is rerouted only while fovea awaits
 * a Dawn promise, only Dawn's native poll callbacks move to timer turns (and only after SPIN_MS), and
 * everything is put back afterwards — also when the wait rejects or nests, when someone else replaced
 * `setImmediate` meanwhile, and when a lost device ends waits that never settle. `Function.prototype`
 * stands in for Dawn's poll: like it, a native function with no name and no parameters. On WebGPU, a
 * long readback is checked to be rerouted and still right.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { SPIN_MS, endQuietWaits, quietWaitActive, quietly, reroutedPolls } from '../../core/backend/webgpu/quiet-wait.js'
import { gpuAvailable, onGpu } from './gpu.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const kindOf = (handle: unknown): string => (handle as object).constructor.name
const dawnLikePoll = Function.prototype as () => void

test('outside a wait, setImmediate is untouched; inside, it is rerouted and afterwards restored', async () => {
  const before = globalThis.setImmediate
  let inside: typeof setImmediate | undefined
  await quietly(sleep(SPIN_MS + 5).then(() => { inside = globalThis.setImmediate }))
  assert.ok(inside !== undefined && inside !== before, 'rerouted during the wait')
  assert.is(globalThis.setImmediate, before, 'restored after the wait')
  assert.not.ok(quietWaitActive())
})

test('only a Dawn-like native poll moves to a timer, and only after SPIN_MS', async () => {
  const kinds: Record<string, string> = {}
  const start = reroutedPolls()
  await quietly((async () => {
    kinds.earlyPoll = kindOf(setImmediate(dawnLikePoll))
    await sleep(SPIN_MS + 5)
    kinds.latePoll = kindOf(setImmediate(dawnLikePoll))
    kinds.arrow = kindOf(setImmediate(() => undefined))
    kinds.bound = kindOf(setImmediate(dawnLikePoll.bind(null)))
    await new Promise((resolve) => { kinds.resolve = kindOf(setImmediate(resolve)) })
  })())
  assert.equal(kinds, { earlyPoll: 'Immediate', latePoll: 'Timeout', arrow: 'Immediate', bound: 'Immediate', resolve: 'Immediate' })
  assert.is(reroutedPolls() - start, 1)
})

test('a JS callback scheduled during a wait still runs, with its arguments', async () => {
  const got = await quietly(new Promise<number>((resolve) => setImmediate((a: number, b: number) => resolve(a + b), 2, 3)))
  assert.is(got, 5)
})

test('nested waits restore once the last settles; a rejected wait restores too', async () => {
  const before = globalThis.setImmediate
  const outer = quietly(sleep(20))
  await quietly(sleep(1))
  assert.ok(quietWaitActive(), 'still rerouted while the outer wait runs')
  await outer
  assert.is(globalThis.setImmediate, before)
  try {
    await quietly(Promise.reject(new Error('mapping failed')))
    assert.unreachable('the rejection passes through')
  } catch (e) {
    assert.is((e as Error).message, 'mapping failed')
  }
  assert.is(globalThis.setImmediate, before, 'restored after a rejection')
})

test('a setImmediate replaced by someone else during the wait is left in place', async () => {
  const before = globalThis.setImmediate
  const foreign = ((fn: () => void) => before(fn)) as unknown as typeof setImmediate
  await quietly((async () => {
    globalThis.setImmediate = foreign
    await sleep(1)
  })())
  assert.is(globalThis.setImmediate, foreign)
  globalThis.setImmediate = before
})

test('endQuietWaits (a lost device) restores setImmediate under waits that never settle', async () => {
  const before = globalThis.setImmediate
  let settle: () => void = () => undefined
  const stuck = quietly(new Promise<void>((resolve) => { settle = resolve }))
  void quietly(new Promise(() => undefined))
  assert.ok(quietWaitActive())
  endQuietWaits()
  assert.is(globalThis.setImmediate, before, 'restored at once')
  // A later wait starts afresh, and the forgotten one settling does not end it.
  const fresh = quietly(sleep(10))
  settle()
  await stuck
  assert.ok(quietWaitActive(), 'the fresh wait is still quiet')
  await fresh
  assert.is(globalThis.setImmediate, before)
})

test('FOVEA_GPU_WAIT=spin leaves setImmediate alone', async () => {
  process.env.FOVEA_GPU_WAIT = 'spin'
  try {
    const before = globalThis.setImmediate
    let inside: typeof setImmediate | undefined
    await quietly(sleep(SPIN_MS + 2).then(() => { inside = globalThis.setImmediate }))
    assert.is(inside, before)
  } finally {
    delete process.env.FOVEA_GPU_WAIT
  }
})

if (await gpuAvailable('quiet-wait')) {
  test('a long WebGPU readback has its polls rerouted, and reads back the right values', async () => {
    await onGpu(async () => {
      const n = 512
      const a = F.full([n, n], 1 / n)
      const b = F.full([n, n], 2)
      let x = F.matmul(a, b)
      for (let i = 0; i < 8; i++) x = F.matmul(a, x)
      const start = reroutedPolls()
      const t0 = performance.now()
      const values = await F.toArray(x)
      const waited = performance.now() - t0
      assert.ok(values.every((v) => Math.abs(v - 2) < 1e-4), `every value is 2 (got ${values[0]})`)
      // A GPU fast enough to finish within the spin budget never needs a timer turn.
      assert.ok(reroutedPolls() > start || waited < SPIN_MS, `no poll was rerouted during a ${waited.toFixed(1)} ms readback`)
      assert.not.ok(quietWaitActive(), 'restored after the readback')
    })
  })
}

test.run()
