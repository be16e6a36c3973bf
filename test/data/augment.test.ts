// randomShift (data/augment.ts): every image is its input moved by one whole-pixel offset within range,
// the same key gives the same batch, the offsets vary, and bad arguments fail by name.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { randomShift } from '../../data/augment.js'
import { throwsFovea } from '../util/check.js'

const [N, C, H, W] = [64, 2, 5, 6]
const x = F.reshape(F.add(F.arange(0, N * C * H * W, 1), 1), [N, C, H, W])

/** The (dy, dx) with |dy|, |dx| ≤ s that maps image n of x onto y (zeros uncovered), or null. */
const findShift = (xs: Float32Array, ys: Float32Array, n: number, s: number): [number, number] | null => {
  for (let dy = -s; dy <= s; dy++) {
    for (let dx = -s; dx <= s; dx++) {
      let ok = true
      for (let c = 0; c < C && ok; c++) {
        for (let i = 0; i < H && ok; i++) {
          for (let j = 0; j < W && ok; j++) {
            const [si, sj] = [i - dy, j - dx]
            const want = si >= 0 && si < H && sj >= 0 && sj < W ? xs[((n * C + c) * H + si) * W + sj]! : -1
            ok = ys[((n * C + c) * H + i) * W + j] === want
          }
        }
      }
      if (ok) return [dy, dx]
    }
  }
  return null
}

test('each image is its input moved by one offset in [-s, s]², uncovered pixels filled', async () => {
  const y = randomShift(F.random.key(1), x, 2, -1)
  assert.equal([...y.shape], [N, C, H, W])
  const [xs, ys] = [(await F.toArray(x)) as Float32Array, (await F.toArray(y)) as Float32Array]
  const seen = new Set<string>()
  for (let n = 0; n < N; n++) {
    const shift = findShift(xs, ys, n, 2)
    assert.ok(shift !== null, `image ${n} is not a shift of its input`)
    seen.add(shift.join(','))
  }
  assert.ok(seen.size >= 12, `offsets should vary across 64 images; saw ${[...seen].join(' ')}`)
})

test('the same key gives the same batch, another key another; maxShift 0 is the identity', async () => {
  const a = await F.toArray(randomShift(F.random.key(3), x, 1))
  assert.equal(a, await F.toArray(randomShift(F.random.key(3), x, 1)))
  assert.not.equal(a, await F.toArray(randomShift(F.random.key(4), x, 1)))
  assert.is(randomShift(F.random.key(3), x, 0), x)
})

test('bad arguments fail naming the op and the input', () => {
  throwsFovea(() => randomShift(F.random.key(0), x, 1.5), 'randomShift', 'maxShift', '1.5')
  throwsFovea(() => randomShift(F.random.key(0), F.zeros([2, 3]), 1), 'randomShift', 'f32[2,3]')
})

test.run()
