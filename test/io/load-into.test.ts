import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { expected, fixture, left, right, scratch } from './helpers.js'

const model = () => ({
  params: {
    conv1: { weight: F.zeros([2, 3, 1, 1]), bias: F.zeros([2]) },
    fc: { weight: F.zeros([3, 4]) },
    res2: [{ conv: { weight: F.zeros([2]) } }],
  },
  state: { bn1: { running_mean: F.zeros([2]), num_batches_tracked: F.zeros([], 'int32') } },
})

const checkpoint = (prefix = ''): Map<string, Tensor> =>
  new Map<string, Tensor>([
    [`${prefix}conv1.weight`, F.reshape(F.arange(1, 7, 1, 'float32'), [2, 3, 1, 1])],
    [`${prefix}fc.weight`, F.ones([4, 3])],
    [`${prefix}res2.0.conv.weight`, F.tensor([5, 6])],
    [`${prefix}bn1.running_mean`, F.tensor([0.5, -0.5])],
    [`${prefix}bn1.num_batches_tracked`, F.tensor(7)],
    [`${prefix}head.weight`, F.ones([1])],
  ])

test('report: loaded, missing, unexpected, shape mismatch and casts; mismatched entries are not applied', async () => {
  const m = model()
  const out = right(F.io.loadInto(m, checkpoint()))
  const r = out.report
  assert.equal(r.loaded, ['conv1.weight', 'res2.0.conv.weight', 'bn1.num_batches_tracked', 'bn1.running_mean'])
  assert.equal(r.missing, ['conv1.bias'])
  assert.equal(r.unexpected, ['head.weight'])
  assert.equal(r.shapeMismatch, [{ name: 'fc.weight', checkpointShape: [4, 3], modelShape: [3, 4] }])
  assert.equal(r.dtypeCast, [{ name: 'bn1.num_batches_tracked', from: 'float32', to: 'int32' }])
  assert.is(r.strippedPrefix, undefined)
  // Skipped and missing entries keep the model's own tensors; loaded ones take the checkpoint's.
  assert.is(out.params.fc.weight, m.params.fc.weight)
  assert.is(out.params.conv1.bias, m.params.conv1.bias)
  assert.equal(Array.from(await F.toArray(out.params.conv1.weight)), [1, 2, 3, 4, 5, 6])
  assert.equal(await F.toNested(out.params.res2[0]!.conv.weight), [5, 6])
  assert.equal(await F.toNested(out.state.bn1.running_mean), [0.5, -0.5])
  assert.is(out.state.bn1.num_batches_tracked.dtype, 'int32')
  assert.is(await F.item(out.state.bn1.num_batches_tracked), 7)
  // The input trees are values: unchanged.
  assert.equal(Array.from(await F.toArray(m.params.conv1.weight)), [0, 0, 0, 0, 0, 0])
  const text = F.io.formatLoadReport(r)
  assert.ok(text.startsWith('loaded 4 of 6 model tensors'), text)
  assert.ok(text.includes('missing from the checkpoint (kept initial values): conv1.bias'), text)
  assert.ok(text.includes('not in the model (ignored): head.weight'), text)
  assert.ok(text.includes('shape mismatch (skipped): fc.weight: checkpoint [4,3], model [3,4]'), text)
})

test('a module. prefix (DistributedDataParallel) is stripped only when every name has it', () => {
  const stripped = right(F.io.loadInto(model(), checkpoint('module.'))).report
  assert.is(stripped.strippedPrefix, 'module.')
  assert.equal(stripped.unexpected, ['head.weight'])
  assert.is(stripped.loaded.length, 4)
  const mixed = checkpoint('module.')
  mixed.set('other', F.ones([1]))
  const kept = right(F.io.loadInto(model(), mixed)).report
  assert.is(kept.strippedPrefix, undefined)
  assert.is(kept.loaded.length, 0)
  const off = right(F.io.loadInto(model(), checkpoint('module.'), { stripPrefix: false })).report
  assert.is(off.loaded.length, 0)
  const custom = right(F.io.loadInto(model(), checkpoint('backbone.'), { stripPrefix: 'backbone.' })).report
  assert.is(custom.loaded.length, 4)
})

test('strict loading and malformed models are Left values naming the file and key', () => {
  const strict = left(F.io.loadInto(model(), checkpoint(), { strict: true }))
  assert.is(strict.reason, 'incompatible')
  assert.ok(strict.message.includes('strict load failed') && strict.message.includes('conv1.bias') && strict.message.includes('head.weight'), strict.message)
  const exact = new Map([...checkpoint()].filter(([n]) => n !== 'head.weight' && n !== 'fc.weight'))
  exact.set('conv1.bias', F.ones([2]))
  exact.set('fc.weight', F.ones([3, 4]))
  assert.is(right(F.io.loadInto(model(), exact, { strict: true })).report.loaded.length, 6)
  const both = left(F.io.loadInto({ params: { a: F.ones([1]) }, state: { a: F.ones([1]) } }, checkpoint()))
  assert.ok(both.key === 'a' && both.message.includes('both its params and its state'), both.message)
  const notTensor = left(F.io.loadInto({ params: { a: F.ones([1]), lr: 0.1 }, state: {} }, checkpoint()))
  assert.ok(notTensor.key === 'lr' && notTensor.message.includes('not a tensor'), notTensor.message)
})

test('loadCheckpointInto: a detectron2 .pkl into a model with a different class count', async () => {
  const names = expected['d2_p2.pkl']!
  const zeros = (name: string) => F.zeros(names[name]!.shape)
  const m = {
    params: {
      backbone: { bottom_up: { stem: { conv1: { weight: zeros('backbone.bottom_up.stem.conv1.weight'), norm: { weight: zeros('backbone.bottom_up.stem.conv1.norm.weight'), bias: zeros('backbone.bottom_up.stem.conv1.norm.bias') } } } } },
      roi_heads: { box_predictor: { cls_score: { weight: F.zeros([5, 8]), bias: F.zeros([5]) } } },
    },
    state: { backbone: { bottom_up: { stem: { conv1: { norm: { running_mean: zeros('backbone.bottom_up.stem.conv1.norm.running_mean'), running_var: zeros('backbone.bottom_up.stem.conv1.norm.running_var') } } } } } },
  }
  // params and state share the `backbone.bottom_up.stem.conv1.norm` prefix but not leaf names.
  const out = right(await F.io.loadCheckpointInto(fixture('d2_p2.pkl'), m))
  assert.equal(out.report.missing, [])
  assert.equal(out.report.unexpected, [])
  assert.equal(out.report.shapeMismatch.map((s) => s.name), ['roi_heads.box_predictor.cls_score.bias', 'roi_heads.box_predictor.cls_score.weight'])
  assert.is(out.report.loaded.length, 5)
  assert.ok(out.report.notes.some((n) => n.includes('matching heuristics')))
  const want = names['backbone.bottom_up.stem.conv1.norm.running_var']!.values.map((v) => Math.fround(v as number))
  assert.equal(Array.from(await F.toArray(out.state.backbone.bottom_up.stem.conv1.norm.running_var)), want)
})

test('a damaged file is rejected before anything is loaded', async () => {
  const path = join(scratch(), 'cut.pth')
  const bytes = readFileSync(fixture('state_dict.pth'))
  writeFileSync(path, bytes.subarray(0, bytes.length - 100))
  const e = left(await F.io.loadCheckpointInto(path, model()))
  assert.is(e.kind, 'LoadError')
  assert.is(e.file, path)
  assert.is(e.reason, 'truncated')
})

test.run()
