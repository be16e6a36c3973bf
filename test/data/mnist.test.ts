// The MNIST split (data/mnist.ts): sizes, order, value ranges, determinism, and bad options.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { loadMnist } from '../../data/mnist.js'
import { throwsFovea } from '../util/check.js'

test('the whole package splits 85/15 per class into 8,495 training and 1,505 test digits', async () => {
  const { train, test: held } = loadMnist()
  assert.equal([...train.images.shape], [8495, 1, 28, 28])
  assert.equal([...held.labels.shape], [1505])
  assert.is(train.labels.dtype, 'int32')
  const labels = await F.toArray(train.labels)
  const perClass = Array.from({ length: 10 }, (_, d) => labels.filter((l) => l === d).length)
  assert.equal(perClass, [850, 957, 842, 877, 833, 733, 861, 909, 802, 831])
  const pixels = await F.toArray(held.images)
  assert.ok(pixels.every((v) => v >= 0 && v <= 1))
  assert.ok(pixels.some((v) => v === 1))
})

test('the split is deterministic and disjoint: the test set starts where training stops', async () => {
  const a = loadMnist({ perClass: 20 })
  const b = loadMnist({ perClass: 20, trainFraction: 0.5 })
  assert.is(a.train.count, 170)
  assert.is(a.test.count, 30)
  const img = async (t: F.Tensor, i: number) => [...(await F.toArray(F.slice(t, [i], [i + 1])))]
  // digit 0 #17 is the first test image of a and the 8th test image of b (digits 10…19 of class 0)
  assert.equal(await img(a.test.images, 0), await img(b.test.images, 7))
  assert.equal(await img(a.train.images, 0), await img(b.train.images, 0))
  assert.equal(await F.toArray(a.test.labels), await F.toArray(loadMnist({ perClass: 20 }).test.labels))
})

test('bad options fail naming the option', () => {
  throwsFovea(() => loadMnist({ trainFraction: 1 }), 'loadMnist', 'trainFraction')
  throwsFovea(() => loadMnist({ perClass: 1 }), 'loadMnist', 'perClass')
})

test.run()
