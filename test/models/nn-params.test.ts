// models/nn param-tree utilities: golden param shapes of a small ResNet (STYLE 10), numParams, and
// freezing as a partition of the param tree.
import { readFileSync, writeFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { randn, throwsFovea } from '../util/check.js'
import { tinyResNet } from './tiny-resnet.js'

const { nn } = F
const key = F.random.key(0)
const goldenPath = new URL('./golden/nn-tiny-resnet.json', import.meta.url)

test('a small ResNet keeps the param and buffer names and shapes of its golden file', async () => {
  const model = tinyResNet()
  const r = model.init(key, [-1, 3, -1, -1])
  assert.equal(r.outShape, [-1, 10])
  const shapes = nn.paramShapes(r.params, r.state)
  // Regenerate only after checking the new names by hand: FOVEA_WRITE_GOLDEN=1 node scripts/test.mjs nn-params
  if (process.env.FOVEA_WRITE_GOLDEN === '1') writeFileSync(goldenPath, `${JSON.stringify(shapes, null, 2)}\n`)
  assert.equal(shapes, JSON.parse(readFileSync(goldenPath, 'utf8')))
  assert.equal(model.init(key, [2, 3, 64, 64]).outShape, [2, 10])
  const [y, s] = model.apply(r.params, r.state, randn([2, 3, 32, 32], 1), { train: true })
  assert.equal([...(y as Tensor).shape], [2, 10])
  assert.equal(nn.paramShapes(r.params, s), shapes, 'training returns state with the same names')
})

test('numParams counts scalars; paramShapes refuses a name in both trees', () => {
  const r = nn.linear({ outFeatures: 3 }).init(key, [1, 5])
  assert.is(nn.numParams(r.params), 18)
  assert.is(nn.numParams({ a: [F.zeros([2, 3]), null], b: {} }), 6)
  const t = tinyResNet().init(key, [1, 3, 32, 32])
  // stem 8·3·49; res2.0: 4·8 + 4·4·9 + 16·4 + 16·8; res2.1: 4·16 + 144 + 64; norms only in res3 (BN);
  // res3.0: 8·16 + 8·8·9 + 32·8 + 32·16 + BN 2·(8+8+32+32); res3.1: 8·32 + 576 + 256 + BN 2·(8+8+32); fc 32·10 + 10.
  const expected = 1176 + (32 + 144 + 64 + 128) + (64 + 144 + 64) + (128 + 576 + 256 + 512 + 160) + (256 + 576 + 256 + 96) + 330
  assert.is(nn.numParams(t.params), expected)
  throwsFovea(() => nn.paramShapes({ w: F.zeros([1]) }, { w: F.zeros([1]) }), 'paramShapes', "'w'")
})

test('freezeAt partitions params by prefix or predicate; combine restores them; grads skip frozen leaves', async () => {
  const r = tinyResNet().init(key, [1, 3, 32, 32])
  assert.equal(nn.stagePrefixes(2), ['stem', 'res2'])
  assert.equal(nn.stagePrefixes(0), [])
  assert.equal(nn.stagePrefixes(1, 'backbone.bottom_up'), ['backbone.bottom_up.stem'])
  const { trainable, frozen } = nn.freezeAt(r.params, nn.stagePrefixes(3))
  const frozenNames = Object.keys(nn.paramShapes(frozen))
  const trainableNames = Object.keys(nn.paramShapes(trainable))
  assert.ok(frozenNames.length > 0 && frozenNames.every((n) => /^(stem|res2|res3)\./.test(n)), frozenNames.join())
  assert.equal(trainableNames, ['head.fc.bias', 'head.fc.weight'])
  assert.is(nn.numParams(trainable) + nn.numParams(frozen), nn.numParams(r.params))
  const back = nn.combine(trainable, frozen)
  assert.equal(F.treeFlattenNamed(back).map(([n]) => n), F.treeFlattenNamed(r.params).map(([n]) => n))
  assert.ok(F.treeLeaves(back).every((t, i) => t === F.treeLeaves(r.params)[i]), 'the same tensors come back')
  // Prefixes are whole path segments: 'res2' does not match 'res20'.
  assert.ok(nn.hasPrefix('res2.0.conv1.weight', 'res2') && !nn.hasPrefix('res20.weight', 'res2'))
  const byPredicate = nn.freezeAt(r.params, (name) => name.endsWith('.weight') && name.includes('conv'))
  assert.ok(Object.keys(nn.paramShapes(byPredicate.trainable)).every((n) => !n.includes('conv') || !n.endsWith('.weight')))
  const mask = nn.trainableMask(r.params, ['stem'])
  assert.is(mask.stem.conv1.weight, false)
  assert.is(mask.res2[0].conv1.weight, true)
  // The loss differentiates the trainable tree only.
  const x = randn([1, 3, 32, 32], 2)
  const loss = (p: unknown) => F.sum(F.square(tinyResNet().apply(nn.combine(p, frozen), r.state, x, { train: false })[0] as Tensor))
  const g = F.grad(loss)(trainable)
  assert.equal(Object.keys(nn.paramShapes(g)), ['head.fc.bias', 'head.fc.weight'])
  throwsFovea(() => nn.combine(r.params, r.params), 'combine', 'both trees hold a value')
})

test.run()
