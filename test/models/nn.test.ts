// models/nn layers: shapes from init, values against NumPy (test/fixtures/nn_norms.py) or by hand,
// gradients, dropout, purity and the errors a mis-wired layer gives.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

const { nn } = F
const key = F.random.key(0)
const evalCtx = { train: false }
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_norms.json', import.meta.url), 'utf8')) as Record<string, number[]>
const fxX = F.tensor(fx.x!, { shape: fx.shape! })
const vec = (name: string) => F.tensor(fx[name]!)
const initShape = (layer: F.nn.Layer, shape: F.nn.ShapeTree) => layer.init(key, shape).outShape

test('init gives output shapes without data, unknown sizes stay -1', () => {
  assert.equal(initShape(nn.linear({ outFeatures: 7 }), [-1, 5]), [-1, 7])
  assert.equal(initShape(nn.linear({ outFeatures: 7 }), [2, 3, 5]), [2, 3, 7])
  assert.equal(initShape(nn.conv2d({ outChannels: 8, kernelSize: 3, stride: 2, padding: 1 }), [2, 3, 15, 16]), [2, 8, 8, 8])
  assert.equal(initShape(nn.conv2d({ outChannels: 8, kernelSize: 3, dilation: 2, groups: 4, padding: 2 }), [-1, 4, -1, 9]), [-1, 8, -1, 9])
  assert.equal(initShape(nn.conv2d({ outChannels: 32, kernelSize: [1, 3], norm: 'GN' }), [1, 8, 5, 5]), [1, 32, 5, 3])
  assert.equal(initShape(nn.convTranspose2d({ outChannels: 6, kernelSize: 2, stride: 2 }), [-1, 4, 7, 7]), [-1, 6, 14, 14])
  assert.equal(initShape(nn.convTranspose2d({ outChannels: 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }), [1, 4, 7, -1]), [1, 6, 14, -1])
  for (const norm of [nn.batchNorm(), nn.frozenBatchNorm(), nn.groupNorm(2), nn.channelLayerNorm()]) assert.equal(initShape(norm, [-1, 4, 3, 3]), [-1, 4, 3, 3])
  assert.equal(initShape(nn.layerNorm([3, 3]), [-1, 4, 3, 3]), [-1, 4, 3, 3])
  for (const act of [nn.relu, nn.gelu, nn.silu, nn.sigmoid, nn.tanh, nn.softplus, nn.relu6, nn.leakyRelu(), nn.identity, nn.dropout(0.5)]) {
    assert.equal(initShape(act, [-1, 4, 3]), [-1, 4, 3])
  }
  assert.equal(initShape(nn.maxPool2d({ kernelSize: 3, stride: 2, padding: 1 }), [-1, 4, 9, 10]), [-1, 4, 5, 5])
  assert.equal(initShape(nn.maxPool2d({ kernelSize: 3, stride: 2, padding: 1 }), [-1, 4, -1, -1]), [-1, 4, -1, -1])
  assert.equal(initShape(nn.avgPool2d({ kernelSize: 2 }), [1, 4, 9, 10]), [1, 4, 4, 5])
  assert.equal(initShape(nn.adaptiveAvgPool2d(1), [-1, 4, -1, -1]), [-1, 4, 1, 1])
  assert.equal(initShape(nn.adaptiveAvgPool2d([2, 3]), [1, 4, 9, 10]), [1, 4, 2, 3])
  assert.equal(initShape(nn.upsample({ scaleFactor: 2 }), [-1, 4, 5, 6]), [-1, 4, 10, 12])
  assert.equal(initShape(nn.upsample({ size: [7, 8], mode: 'bilinear' }), [-1, 4, -1, -1]), [-1, 4, 7, 8])
  assert.equal(initShape(nn.flatten(), [-1, 4, 3, 2]), [-1, 24])
  assert.equal(initShape(nn.flatten(), [2, 4, -1]), [2, -1])
  assert.equal(initShape(nn.flatten(2), [2, 4, 3, 2]), [2, 4, 6])
})

test('init shapes agree with what apply returns', () => {
  const cases: [F.nn.Layer, number[]][] = [
    [nn.conv2d({ outChannels: 5, kernelSize: 3, stride: 2, padding: [1, 0] }), [2, 3, 9, 7]],
    [nn.convTranspose2d({ outChannels: 2, kernelSize: 3, stride: 2, groups: 1 }), [1, 3, 4, 5]],
    [nn.maxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }), [1, 2, 8, 8]],
    [nn.upsample({ scaleFactor: 1.5, mode: 'bilinear' }), [1, 2, 5, 4]],
  ]
  for (const [layer, shape] of cases) {
    const r = layer.init(key, shape)
    const [y] = layer.apply(r.params, r.state, randn(shape, 1), evalCtx)
    assert.equal([...(y as Tensor).shape], r.outShape)
  }
})

test('param names, layouts and init of linear/conv2d/convTranspose2d follow PyTorch and detectron2', () => {
  const lin = nn.linear({ outFeatures: 3 }).init(key, [-1, 5])
  assert.equal(nn.paramShapes(lin.params, lin.state), { bias: 'f32[3]', weight: 'f32[3,5]' })
  assert.equal(nn.paramShapes(nn.linear({ outFeatures: 3, bias: false }).init(key, [1, 5]).params), { weight: 'f32[3,5]' })
  const bn = nn.conv2d({ outChannels: 4, kernelSize: 3, norm: 'BN' }).init(key, [1, 2, 5, 5])
  assert.equal(nn.paramShapes(bn.params, bn.state), {
    'norm.bias': 'f32[4]', 'norm.num_batches_tracked': 'i32[]', 'norm.running_mean': 'f32[4]',
    'norm.running_var': 'f32[4]', 'norm.weight': 'f32[4]', weight: 'f32[4,2,3,3]',
  })
  const frozen = nn.conv2d({ outChannels: 4, kernelSize: 1, norm: 'FrozenBN', groups: 2 }).init(key, [1, 2, 5, 5])
  assert.equal(nn.paramShapes(frozen.params), { weight: 'f32[4,1,1,1]' })
  assert.equal(Object.keys(frozen.state.norm).sort(), ['bias', 'running_mean', 'running_var', 'weight'])
  assert.equal(Object.keys(nn.conv2d({ outChannels: 4, kernelSize: 1 }).init(key, [1, 2, 5, 5]).params).sort(), ['bias', 'weight'])
  assert.equal(nn.paramShapes(nn.conv2d({ outChannels: 4, kernelSize: 1, norm: 'BN', bias: true }).init(key, [1, 2, 3, 3]).params).bias, 'f32[4]')
  const deconv = nn.convTranspose2d({ outChannels: 6, kernelSize: 2, stride: 2, groups: 2 }).init(key, [1, 4, 3, 3])
  assert.equal(nn.paramShapes(deconv.params), { bias: 'f32[6]', weight: 'f32[4,3,2,2]' })
})

test('linear and conv2d values by hand', async () => {
  const lin = nn.linear({ outFeatures: 2 })
  const params = { weight: F.tensor([[1, 2, 3], [0, -1, 0.5]]), bias: F.tensor([10, 20]) }
  const [y] = lin.apply(params, {}, F.tensor([[1, 1, 1], [2, 0, -2]]), evalCtx)
  await expectTensor(y, [[16, 19.5], [6, 19]], {}, [2, 2])
  // 1x1 conv with bias, then eval-mode BN (mean 1, var 4 - eps -> scale 1/2), then relu.
  const conv = nn.conv2d({ outChannels: 1, kernelSize: 1, bias: true, norm: 'BN', activation: F.relu })
  const p = { weight: F.reshape(F.tensor([2, -1]), [1, 2, 1, 1]), bias: F.tensor([1]), norm: { weight: F.tensor([1]), bias: F.tensor([0]) } }
  const s = { norm: { running_mean: F.tensor([1]), running_var: F.tensor([4 - 1e-5]), num_batches_tracked: F.zeros([], 'int32') } }
  const x = F.reshape(F.tensor([1, 3, 0, 1]), [1, 2, 1, 2]) // channel 0: [1, 3], channel 1: [0, 1]
  const [z] = conv.apply(p, s, x, evalCtx)
  // conv: 2*[1,3] - [0,1] + 1 = [3, 6]; BN: ([3,6] - 1) / 2 = [1, 2.5]; relu keeps them.
  await expectTensor(z, [1, 2.5], { rtol: 1e-5 }, [1, 1, 1, 2])
  const neg = conv.apply({ ...p, bias: F.tensor([-10]) }, s, x, evalCtx)[0]
  await expectTensor(neg, [0, 0])
})

test('batchNorm: training uses batch statistics and updates running stats like PyTorch; eval uses them', async () => {
  const bn = nn.batchNorm()
  const params = { weight: vec('weight'), bias: vec('bias') }
  const state = { running_mean: vec('running_mean'), running_var: vec('running_var'), num_batches_tracked: F.tensor([3], { dtype: 'int32', shape: [] }) }
  const [y, s] = bn.apply(params, state, fxX, { train: true })
  await expectTensor(y, fx.bn_train!, { rtol: 1e-4, atol: 1e-4 })
  await expectTensor(s.running_mean, fx.new_running_mean!, { rtol: 1e-5, atol: 1e-6 })
  await expectTensor(s.running_var, fx.new_running_var!, { rtol: 1e-5, atol: 1e-6 })
  assert.is(await F.item(s.num_batches_tracked), 4)
  assert.is(s.num_batches_tracked.dtype, 'int32')
  const [ye, se] = bn.apply(params, state, fxX, evalCtx)
  await expectTensor(ye, fx.bn_eval!, { rtol: 1e-4, atol: 1e-4 })
  assert.is(se, state, 'eval returns the state unchanged')
  const fresh = bn.init(key, [1, 4, 1, 1])
  await expectTensor(fresh.state.running_var, [1, 1, 1, 1])
  throwsFovea(() => bn.apply(params, state, F.zeros([1, 4, 1, 1]), { train: true }), 'batchNorm', 'more than one value per channel', 'f32[1,4,1,1]')
})

test('frozenBatchNorm is the fixed affine map of detectron2 (all state, no params) in both modes', async () => {
  const layer = nn.frozenBatchNorm()
  const r = layer.init(key, [-1, 4, 2, 3])
  assert.equal(r.params, {})
  await expectTensor(r.state.running_var, [1 - 1e-5, 1 - 1e-5, 1 - 1e-5, 1 - 1e-5])
  const [id] = layer.apply(r.params, r.state, fxX, { train: true })
  await expectTensor(id, fx.x!, { rtol: 1e-6, atol: 1e-6 })
  const state = { weight: vec('weight'), bias: vec('bias'), running_mean: vec('running_mean'), running_var: vec('running_var') }
  for (const train of [false, true]) {
    const [y, s] = layer.apply({}, state, fxX, { train })
    await expectTensor(y, fx.frozen!, { rtol: 1e-4, atol: 1e-4 })
    assert.is(s, state)
  }
})

test('groupNorm, layerNorm and detectron2 channel LayerNorm against NumPy', async () => {
  const affine = { weight: vec('weight'), bias: vec('bias') }
  await expectTensor(nn.groupNorm(2).apply(affine, {}, fxX, evalCtx)[0], fx.gn!, { rtol: 1e-4, atol: 1e-4 })
  const ln = { weight: F.tensor(fx.ln_weight!, { shape: [2, 3] }), bias: F.tensor(fx.ln_bias!, { shape: [2, 3] }) }
  await expectTensor(nn.layerNorm([2, 3]).apply(ln, {}, fxX, evalCtx)[0], fx.ln!, { rtol: 1e-4, atol: 1e-4 })
  await expectTensor(nn.channelLayerNorm().apply(affine, {}, fxX, evalCtx)[0], fx.channel_ln!, { rtol: 1e-4, atol: 1e-4 })
  throwsFovea(() => nn.groupNorm(3).init(key, [1, 4, 2, 2]), 'groupNorm', '3 groups', '[1,4,2,2]')
  assert.is(nn.getNorm('', 4), null)
  assert.is(nn.getNorm('GN', 64)!.name, 'groupNorm')
  assert.is(nn.getNorm('SyncBN', 64)!.name, 'batchNorm')
  throwsFovea(() => nn.getNorm('XN' as never, 4), 'getNorm', 'XN', "'FrozenBN'")
})

test('gradients of a small composed model (conv + BN train + GN + relu + pool + linear) match finite differences', async () => {
  const model = nn.serial(
    nn.conv2d({ outChannels: 4, kernelSize: 3, padding: 1, norm: 'BN', activation: F.tanh }),
    nn.conv2d({ outChannels: 4, kernelSize: 1, norm: (c: number) => nn.groupNorm(2, { channels: c }) }),
    nn.silu,
    nn.adaptiveAvgPool2d(1),
    nn.flatten(),
    nn.linear({ outFeatures: 3 }),
  )
  const r = model.init(key, [2, 2, 4, 4])
  const [leaves, def] = F.treeFlatten(r.params)
  const x = randn([2, 2, 4, 4], 3)
  const f = (xi: Tensor, ...ps: Tensor[]) => model.apply(F.treeUnflatten(def, ps), r.state, xi, { train: true })[0] as Tensor
  await checkGrads(f, [x, ...(leaves as Tensor[])], { rtol: 3e-2, atol: 3e-3 })
})

test('dropout: identity in eval, keyed inverted dropout in training', async () => {
  const layer = nn.dropout(0.25)
  const x = F.ones([4000])
  assert.is(layer.apply({}, {}, x, evalCtx)[0], x)
  throwsFovea(() => layer.apply({}, {}, x, { train: true }), 'dropout', 'ctx.key', 'f32[4000]')
  const k = F.random.key(3)
  const [y] = layer.apply({}, {}, x, { train: true, key: k })
  const values = await F.toArray(y as Tensor)
  const kept = values.filter((v) => v !== 0)
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6), 'survivors are scaled by 1/(1 - rate)')
  assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03, `kept fraction ${kept.length / 4000}`)
  assertClose(await F.toArray(layer.apply({}, {}, x, { train: true, key: k })[0] as Tensor), values)
  throwsFovea(() => nn.dropout(1), 'dropout', 'rate')
})

test('a layer given the wrong input shape names the layer path and both shapes, at init and at apply', () => {
  const model = nn.named({
    stem: nn.conv2d({ outChannels: 8, kernelSize: 3 }),
    res2: nn.repeat(2, () => nn.named({ conv1: nn.conv2d({ inChannels: 8, outChannels: 8, kernelSize: 1 }) })),
    head: nn.linear({ inFeatures: 9, outFeatures: 2 }),
  })
  throwsFovea(() => model.init(key, [1, 3, 8]), 'conv2d', '[?,C,?,?]', '[1,3,8]', '(at stem)')
  throwsFovea(() => model.init(key, [1, 3, 8, 8]), 'linear', '[…,9]', '[1,8,6,6]', '(at head)')
  const ok = nn.named({ stem: nn.conv2d({ outChannels: 8, kernelSize: 3 }), res2: nn.repeat(2, () => nn.named({ conv1: nn.conv2d({ inChannels: 8, outChannels: 8, kernelSize: 1 }) })) })
  const r = ok.init(key, [1, 3, 8, 8])
  const bad = { ...r.params, res2: [r.params.res2[0], { conv1: { ...r.params.res2[1].conv1, weight: F.zeros([8, 5, 1, 1]) } }] }
  throwsFovea(() => ok.apply(bad, r.state, F.zeros([1, 3, 8, 8]), evalCtx), 'conv2d', '[?,5,?,?]', 'f32[1,8,6,6]', '(at res2.1.conv1)')
  throwsFovea(() => nn.maxPool2d({ kernelSize: 2 }).init(key, [-1, 3, 8]), 'maxPool2d', 'input [?,3,8] does not fit')
  throwsFovea(() => nn.batchNorm({ channels: 4 }).init(key, [1, 3, 2, 2]), 'batchNorm', '[?,4,…]', '[1,3,2,2]')
  throwsFovea(() => nn.layerNorm(5).init(key, [1, 3, 4]), 'layerNorm', '[…,5]', '[1,3,4]')
  throwsFovea(() => nn.conv2d({ outChannels: 3, kernelSize: 1, groups: 2 }).init(key, [1, 4, 2, 2]), 'conv2d', 'groups=2')
  throwsFovea(() => nn.conv2d({ outChannels: 3, kernelSize: 1 }).init(key, [1, -1, 2, 2]), 'conv2d', 'known channel count', '[1,?,2,2]')
})

test('apply is pure: same inputs give the same outputs; state is returned, never mutated', async () => {
  const model = nn.serial(nn.conv2d({ outChannels: 3, kernelSize: 3, norm: 'BN', activation: F.relu }), nn.dropout(0.5), nn.flatten())
  const r = model.init(key, [2, 2, 5, 5])
  const snapshot = async (tree: unknown) => Promise.all(F.treeLeaves(tree).map((t) => F.toArray(t as Tensor)))
  const [p0, s0] = [await snapshot(r.params), await snapshot(r.state)]
  const x = randn([2, 2, 5, 5], 9)
  const ctx = { train: true, key: F.random.key(1) }
  const [y1, s1] = model.apply(r.params, r.state, x, ctx)
  const [y2, s2] = model.apply(r.params, r.state, x, ctx)
  assertClose(await F.toArray(y1 as Tensor), await F.toArray(y2 as Tensor))
  assert.equal(await snapshot(s1), await snapshot(s2))
  assert.equal(await snapshot(r.params), p0)
  assert.equal(await snapshot(r.state), s0)
  assert.is.not(s1, r.state)
  assert.ok((await F.toArray(s1[0].norm.running_mean)).some((v, i) => v !== s0[0]![i]), 'training moved the running mean')
  const [y3, s3] = model.apply(r.params, s1, x, ctx)
  assert.is((await F.toArray(s3[0].norm.num_batches_tracked))[0], 2)
  assertClose(await F.toArray(y3 as Tensor), await F.toArray(y1 as Tensor), { rtol: 1e-5, atol: 1e-5 }, 'train output ignores running stats')
  // jit traces apply like any other function.
  const jitted = F.jit((p: unknown, s: unknown, xi: Tensor) => model.apply(p, s, xi, evalCtx)[0] as Tensor)
  assertClose(await F.toArray(jitted(r.params, r.state, x)), await F.toArray(model.apply(r.params, r.state, x, evalCtx)[0] as Tensor), { rtol: 1e-5, atol: 1e-6 })
  // init is a pure function of the key.
  assert.equal(await snapshot(model.init(key, [2, 2, 5, 5]).params), p0)
  assert.not.equal(await snapshot(model.init(F.random.key(1), [2, 2, 5, 5]).params), p0)
})

test('ShapeSpec converts to and from NCHW shapes; layer errors carry their path as a list', () => {
  assert.equal(nn.shapeSpecOf([-1, 256, 50, -1], 16), { channels: 256, height: 50, stride: 16 })
  assert.equal(nn.shapeOfSpec({ channels: 256, stride: 16 }), [-1, 256, -1, -1])
  throwsFovea(() => nn.shapeSpecOf([2, 3]), 'shapeSpecOf', '[2,3]')
  // Channels and strides follow from init's shapes alone: a stride-4 conv, then a 2x2 pool.
  const stem = nn.serial(nn.conv2d({ outChannels: 16, kernelSize: 3, stride: 4, padding: 1 }), nn.maxPool2d({ kernelSize: 2, stride: 2 }))
  const inShape = [-1, 3, 64, 96]
  assert.equal(nn.outputSpecs(inShape, stem.init(key, inShape).outShape), { channels: 16, height: 8, width: 12, stride: 8 })
  // A record of feature maps gives a record of specs.
  assert.equal(nn.outputSpecs(inShape, { res2: [-1, 8, 16, 24], res3: [-1, 16, 8, 12] }), {
    res2: { channels: 8, height: 16, width: 24, stride: 4 },
    res3: { channels: 16, height: 8, width: 12, stride: 8 },
  })
  assert.equal(nn.outputSpecs([1, 8, 16, 16], [[1, 8, 8, 8], [1, 4, 5, 5]], 4), [{ channels: 8, height: 8, width: 8, stride: 8 }, { channels: 4, height: 5, width: 5 }])
  throwsFovea(() => nn.outputSpecs([1, 3, 8, 8], [1, 10]), 'outputSpecs', '[1,10]')
  assert.equal(nn.showShape({ p2: [-1, 256, 8, 8], p3: [[1], [2]] }), '{p2: [?,256,8,8], p3: ([1], [2])}')
  try {
    nn.atPath('backbone', () => nn.atPath('res2', () => nn.atPath('0', () => F.add(F.zeros([2]), F.zeros([3])))))
    assert.unreachable('should throw')
  } catch (e) {
    assert.equal((e as { layerPath: string[] }).layerPath, ['backbone', 'res2', '0'])
    assert.ok((e as Error).message.startsWith('add: ') && (e as Error).message.endsWith('(at backbone.res2.0)'), (e as Error).message)
  }
  assert.equal(nn.trainContext(), { train: true })
  assert.equal(nn.evalContext, { train: false })
})

test.run()
