/**
 * `profile` on the cpu backend: one entry per op launch, in order, with wall times; the summary adds them
 * up per name; profiles do not nest; a failing function still ends the profile.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { summarize } from '../../core/backend/profile.js'
import { rejectsFovea } from '../util/check.js'

test('profile on cpu: every launch in order with its time, the result, and the summary per name', async () => {
  await F.setBackend('cpu')
  const x = F.tensor([1, 2, 3, 4])
  const p = await F.profile(async () => F.toArray(F.exp(F.add(F.mul(x, x), x))))
  assert.equal(Array.from(p.result as Float32Array), [1, 2, 3, 4].map((v) => Math.fround(Math.exp(v * v + v))))
  assert.equal(p.kernels.map((k) => k.name), ['mul', 'add', 'exp'])
  assert.ok(p.kernels.every((k) => k.ms >= 0))
  assert.ok(Math.abs(p.totalMs - p.kernels.reduce((t, k) => t + k.ms, 0)) < 1e-9)
  // Nothing is timed once the profile has ended.
  F.add(x, x)
  const again = await F.profile(() => F.neg(x))
  assert.equal(again.kernels.map((k) => k.name), ['neg'])
})

test('summarize: launches per name, summed, most time first', () => {
  const s = summarize([{ name: 'a', ms: 1 }, { name: 'b', ms: 5 }, { name: 'a', ms: 2 }])
  assert.equal(s, [{ name: 'b', count: 1, ms: 5 }, { name: 'a', count: 2, ms: 3 }])
})

test('profiles do not nest, and a profile whose function throws is still closed', async () => {
  await F.setBackend('cpu')
  await rejectsFovea(F.profile(() => F.profile(() => 1)), 'profile', 'do not nest')
  const failed = await F.profile(() => { throw new Error('boom') }).then(() => 'resolved', (e: Error) => e.message)
  assert.is(failed, 'boom')
  const p = await F.profile(() => F.neg(F.tensor([1])))
  assert.is(p.kernels.length, 1)
})

test.run()
