/**
 * subsampleLabels: detectron2/modeling/sampling.py with static shapes. Counts follow its docstring;
 * the distribution is checked by drawing many keys: every candidate must be picked (and come first)
 * equally often, as with `randperm(...)[:k]`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { throwsFovea } from '../../util/check.js'

const i32 = (data: number[]) => F.tensor(data, { dtype: 'int32' })

const sample = async (seed: number, labels: number[], num: number, fraction: number, bg: number) => {
  const s = D.subsampleLabels(F.random.key(seed), i32(labels), num, fraction, bg)
  return {
    pos: [...(await F.toArray(s.positiveIndices))], neg: [...(await F.toArray(s.negativeIndices))],
    numPos: await F.item(s.numPositive), numNeg: await F.item(s.numNegative),
    posMask: [...(await F.toArray(s.positiveMask))], negMask: [...(await F.toArray(s.negativeMask))],
    shapes: [s.positiveIndices.shape[0], s.negativeIndices.shape[0]],
  }
}

/** Every sample: real entries first, of the right class, distinct, -1 after, masks equal to the lists. */
const checkSample = (s: Awaited<ReturnType<typeof sample>>, labels: number[], bg: number) => {
  const real = (xs: number[], n: number) => {
    assert.ok(xs.slice(n).every((v) => v === -1), `padding is -1: ${xs}`)
    assert.is(new Set(xs.slice(0, n)).size, n, `distinct: ${xs}`)
    return xs.slice(0, n)
  }
  const pos = real(s.pos, s.numPos)
  const neg = real(s.neg, s.numNeg)
  assert.ok(pos.every((i) => labels[i] !== -1 && labels[i] !== bg), `positives ${pos}`)
  assert.ok(neg.every((i) => labels[i] === bg), `negatives ${neg}`)
  assert.equal(s.posMask, labels.map((_, i) => (pos.includes(i) ? 1 : 0)))
  assert.equal(s.negMask, labels.map((_, i) => (neg.includes(i) ? 1 : 0)))
}

test('counts: positives up to num·fraction, negatives fill the rest, both bounded by what exists', async () => {
  // 3 positives (1, 2, 5), 4 negatives (0), 2 ignored.
  const labels = [1, 0, -1, 2, 0, 5, 0, -1, 0]
  const a = await sample(0, labels, 4, 0.5, 0)
  assert.equal([a.numPos, a.numNeg, ...a.shapes], [2, 2, 2, 4])
  checkSample(a, labels, 0)
  // Not enough positives: 3 of int(10·0.5) = 5, then 7 negatives wanted but only 4 exist.
  const b = await sample(1, labels, 10, 0.5, 0)
  assert.equal([b.numPos, b.numNeg, ...b.shapes], [3, 4, 5, 9])
  checkSample(b, labels, 0)
  // int(num·fraction) floors: int(5·0.25) = 1 positive, 4 negatives.
  const c = await sample(2, labels, 5, 0.25, 0)
  assert.equal([c.numPos, c.numNeg], [1, 4])
  checkSample(c, labels, 0)
})

test('bgLabel need not be 0 (ROI heads use bg = numClasses; class 0 is then a positive)', async () => {
  const labels = [80, 0, 3, 80, -1, 80]
  const s = await sample(3, labels, 4, 0.5, 80)
  assert.equal([s.numPos, s.numNeg], [2, 2])
  checkSample(s, labels, 80)
})

test('the same key gives the same sample; the samples follow the key, not a global state', async () => {
  const labels = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0))
  const [a, b, c] = [await sample(7, labels, 8, 0.25, 0), await sample(7, labels, 8, 0.25, 0), await sample(8, labels, 8, 0.25, 0)]
  assert.equal(a, b)
  assert.not.equal(a.pos.concat(a.neg), c.pos.concat(c.neg))
})

test('uniform without replacement: each positive is picked, and comes first, equally often', async () => {
  const labels = [0, 1, 1, 0, 1, 1, 0, 1, 0, 0]
  const positives = [1, 2, 4, 5, 7]
  const draws = 1500
  const picked = new Map<number, number>()
  const first = new Map<number, number>()
  for (let k = 0; k < draws; k++) {
    const s = D.subsampleLabels(F.random.key(1000 + k), i32(labels), 4, 0.5, 0)
    const pos = [...(await F.toArray(s.positiveIndices))]
    for (const i of pos) picked.set(i, (picked.get(i) ?? 0) + 1)
    first.set(pos[0]!, (first.get(pos[0]!) ?? 0) + 1)
  }
  // Each of 5 positives is in a 2-subset with probability 2/5 (600 of 1500, sd ≈ 19), first with 1/5 (300, sd ≈ 15.5).
  for (const i of positives) {
    assert.ok(Math.abs(picked.get(i)! - 600) < 80, `positive ${i} picked ${picked.get(i)} times of ${draws}`)
    assert.ok(Math.abs(first.get(i)! - 300) < 70, `positive ${i} first ${first.get(i)} times of ${draws}`)
  }
  assert.equal([...picked.keys()].sort((x, y) => x - y), positives)
})

test('empty labels and numSamples 0 give empty lists', async () => {
  const e = await sample(0, [], 8, 0.5, 0)
  assert.equal([e.numPos, e.numNeg, ...e.shapes], [0, 0, 0, 0])
  const z = await sample(0, [1, 0, 0], 0, 0.5, 0)
  assert.equal([z.numPos, z.numNeg, ...z.shapes], [0, 0, 0, 0])
  assert.equal(z.posMask, [0, 0, 0])
})

test('subsampleLabels checks its arguments', () => {
  const key = F.random.key(0)
  throwsFovea(() => D.subsampleLabels(key, F.zeros([4]), 2, 0.5, 0), 'subsampleLabels', 'i32[N]', 'f32[4]')
  throwsFovea(() => D.subsampleLabels(key, i32([0, 1]), 2.5, 0.5, 0), 'subsampleLabels', 'numSamples')
  throwsFovea(() => D.subsampleLabels(key, i32([0, 1]), 2, 1.5, 0), 'subsampleLabels', 'positiveFraction')
})

test.run()
