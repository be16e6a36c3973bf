// models/nn combinators: shapes from init, parameter names, values, keys per child and the errors of a
// mis-wired composition.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

const { nn } = F
const key = F.random.key(0)
const evalCtx = { train: false }
const values = (t: unknown) => F.toArray(t as Tensor)

test('serial threads shapes, names children 0..n-1 like nn.Sequential and splits the key per child', async () => {
  const model = nn.serial(nn.linear({ outFeatures: 4 }), nn.relu, nn.linear({ outFeatures: 4 }))
  const r = model.init(key, [-1, 4])
  assert.equal(r.outShape, [-1, 4])
  assert.equal(Object.keys(nn.paramShapes(r.params, r.state)), ['0.bias', '0.weight', '2.bias', '2.weight'])
  assert.not.equal(await values(r.params[0].weight), await values(r.params[2].weight), 'children get different keys')
  const x = randn([3, 4], 1)
  const [y] = model.apply(r.params, r.state, x, evalCtx)
  const by = (i: number, v: Tensor) => F.add(F.matmul(v, F.transpose(r.params[i].weight)), r.params[i].bias)
  assertClose(await values(y), await values(by(2, F.relu(by(0, x)))), { rtol: 1e-5, atol: 1e-6 })
  const empty = nn.serial().init(key, [2, 3])
  assert.equal([empty.outShape, empty.params], [[2, 3], []])
})

test('repeat builds n children named 0..n-1; repeat(0) is the identity', () => {
  const stage = nn.repeat(3, (i) => nn.conv2d({ outChannels: 4, kernelSize: 3, stride: i === 0 ? 2 : 1, padding: 1 }))
  const r = stage.init(key, [-1, 2, 16, 16])
  assert.equal(r.outShape, [-1, 4, 8, 8])
  assert.equal(nn.paramShapes(r.params)['2.weight'], 'f32[4,4,3,3]')
  assert.equal(nn.paramShapes(r.params)['0.weight'], 'f32[4,2,3,3]')
  assert.equal(nn.repeat(0, () => nn.relu).init(key, [1, 2]).outShape, [1, 2])
  throwsFovea(() => nn.repeat(-1, () => nn.relu), 'repeat', '-1')
})

test('fanOut, parallel, fanInSum and fanInConcat: shapes and values', async () => {
  const model = nn.serial(nn.fanOut(2), nn.parallel(nn.identity, nn.relu), nn.fanInSum)
  const r = model.init(key, [-1, 3])
  assert.equal(r.outShape, [-1, 3])
  assert.equal(nn.fanOut(3).init(key, [2, 5]).outShape, [[2, 5], [2, 5], [2, 5]])
  assert.equal(nn.parallel(nn.flatten(), nn.identity).init(key, [[2, 3, 4], [5]]).outShape, [[2, 12], [5]])
  const x = F.tensor([[-1, 2, -3]])
  await expectTensor(model.apply(r.params, r.state, x, evalCtx)[0] as Tensor, [[-1, 4, -3]])
  const cat = nn.serial(nn.fanOut(2), nn.parallel(nn.identity, nn.conv2d({ outChannels: 5, kernelSize: 1 })), nn.fanInConcat())
  assert.equal(cat.init(key, [-1, 3, -1, 7]).outShape, [-1, 8, -1, 7])
  throwsFovea(() => nn.fanInSum.init(key, [[2, 3], [2, 4]]), 'fanInSum', '([2,3], [2,4])', 'add')
  throwsFovea(() => nn.fanInConcat().init(key, [[2, 3, 4], [2, 3, 5]]), 'fanInConcat', '([2,3,4], [2,3,5])')
  throwsFovea(() => nn.parallel(nn.relu, nn.relu).init(key, [2, 3]), 'parallel', 'list of 2 input shapes', '[2,3]')
})

test('parallel children draw different dropout masks from one ctx.key', async () => {
  const model = nn.serial(nn.fanOut(2), nn.parallel(nn.dropout(0.5), nn.dropout(0.5)))
  const [[a, b]] = model.apply([{}, [{}, {}]], [{}, [{}, {}]], F.ones([64]), { train: true, key: F.random.key(4) }) as unknown as [[Tensor, Tensor]]
  assert.not.equal(await values(a), await values(b))
})

test('residual: identity or projection shortcut, detectron2 names, mismatch names both shapes', async () => {
  const lin = nn.linear({ outFeatures: 2 })
  const res = nn.residual(lin)
  const r = res.init(key, [-1, 2])
  assert.equal(Object.keys(r.params).sort(), ['bias', 'weight'])
  const params = { weight: F.tensor([[1, 2], [3, 4]]), bias: F.tensor([0.5, -0.5]) }
  await expectTensor(res.apply(params, {}, F.tensor([[1, -1]]), evalCtx)[0] as Tensor, [[1 - 1 + 0.5 - 1 + 1, 3 - 4 - 0.5 - 1]])
  const block = nn.residual(
    nn.named({ conv1: nn.conv2d({ outChannels: 8, kernelSize: 3, stride: 2, padding: 1, norm: 'BN', activation: F.relu }), conv2: nn.conv2d({ outChannels: 8, kernelSize: 3, padding: 1, norm: 'BN' }) }),
    nn.conv2d({ outChannels: 8, kernelSize: 1, stride: 2, norm: 'BN' }),
  )
  const b = block.init(key, [-1, 4, 8, 8])
  assert.equal(b.outShape, [-1, 8, 4, 4])
  const names = Object.keys(nn.paramShapes(b.params, b.state))
  for (const n of ['conv1.weight', 'conv2.norm.running_var', 'shortcut.weight', 'shortcut.norm.num_batches_tracked']) assert.ok(names.includes(n), n)
  const x = randn([2, 4, 8, 8], 2)
  const [y, s] = block.apply(b.params, b.state, x, { train: true })
  assert.equal([...(y as Tensor).shape], [2, 8, 4, 4])
  assert.equal(Object.keys(s).sort(), ['conv1', 'conv2', 'shortcut'])
  assert.is(await F.item(s.shortcut.norm.num_batches_tracked), 1)
  const manual = F.add(block.apply(b.params, b.state, x, evalCtx)[0] as Tensor, 0)
  const viaParts = F.add(
    nn.named({ conv1: nn.conv2d({ outChannels: 8, kernelSize: 3, stride: 2, padding: 1, norm: 'BN', activation: F.relu }), conv2: nn.conv2d({ outChannels: 8, kernelSize: 3, padding: 1, norm: 'BN' }) })
      .apply({ conv1: b.params.conv1, conv2: b.params.conv2 }, { conv1: b.state.conv1, conv2: b.state.conv2 }, x, evalCtx)[0] as Tensor,
    nn.conv2d({ outChannels: 8, kernelSize: 1, stride: 2, norm: 'BN' }).apply(b.params.shortcut, b.state.shortcut, x, evalCtx)[0] as Tensor,
  )
  assertClose(await values(manual), await values(viaParts), { rtol: 1e-5, atol: 1e-6 })
  throwsFovea(() => nn.residual(nn.conv2d({ outChannels: 8, kernelSize: 1 })).init(key, [1, 4, 3, 3]), 'residual', '[1,8,3,3]', '[1,4,3,3]')
  throwsFovea(() => nn.residual(nn.serial(nn.relu), nn.relu).init(key, [1, 4]), 'residual', "'shortcut'")
})

test('named: record order without forward; a forward function sets the data flow and init traces it', async () => {
  const plain = nn.named({ fc1: nn.linear({ outFeatures: 3 }), act: nn.tanh, fc2: nn.linear({ outFeatures: 2 }) })
  const p = plain.init(key, [-1, 4])
  assert.equal(p.outShape, [-1, 2])
  assert.equal(Object.keys(nn.paramShapes(p.params)), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight'])
  const block = nn.named(
    { conv1: nn.conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, padding: 1, activation: F.relu }), conv2: nn.conv2d({ outChannels: 6, kernelSize: 3, stride: 2, padding: 1 }), shortcut: nn.conv2d({ outChannels: 6, kernelSize: 1, stride: 2 }) },
    (call, x) => F.relu(F.add(call('conv2', call('conv1', x)), call('shortcut', x))),
  )
  const r = block.init(key, [-1, 3, -1, -1])
  assert.equal(r.outShape, [-1, 6, -1, -1])
  assert.equal(block.init(key, [2, 3, 10, 12]).outShape, [2, 6, 5, 6])
  assert.equal(nn.paramShapes(r.params)['conv2.weight'], 'f32[6,6,3,3]')
  const x = randn([1, 3, 6, 6], 4)
  const [y] = block.apply(r.params, r.state, x, evalCtx)
  const c = (name: string, layer: F.nn.Layer, v: Tensor) => layer.apply(r.params[name], r.state[name], v, evalCtx)[0] as Tensor
  const expected = F.relu(F.add(c('conv2', nn.conv2d({ outChannels: 6, kernelSize: 3, stride: 2, padding: 1 }), c('conv1', nn.conv2d({ outChannels: 6, kernelSize: 3, padding: 1, activation: F.relu }), x)), c('shortcut', nn.conv2d({ outChannels: 6, kernelSize: 1, stride: 2 }), x)))
  assertClose(await values(y), await values(expected), { rtol: 1e-5, atol: 1e-6 })
  // A child called twice shares its params and threads its state.
  const twice = nn.named({ bn: nn.batchNorm() }, (call, v) => call('bn', call('bn', v)))
  const t = twice.init(key, [4, 2])
  const [, s] = twice.apply(t.params, t.state, randn([4, 2], 5), { train: true })
  assert.is(await F.item(s.bn.num_batches_tracked), 2)
  throwsFovea(() => nn.named({ a: nn.relu }, (call, v) => call('b', v)).init(key, [1, 2]), 'named', "unknown child 'b'", 'a')
  throwsFovea(() => nn.named({ a: nn.relu, b: nn.relu }, (call, v) => call('a', v)).init(key, [1, 2]), 'named', "'b'")
  throwsFovea(() => block.init(key, [1, 4, 8, 8]), 'conv2d', '[1,4,8,8]', '(at conv1)')
})

test('shapeDependent builds the layer from the input shape', () => {
  const layer = nn.shapeDependent((s) => nn.linear({ outFeatures: 2 * (s as number[])[1]! }))
  const r = layer.init(key, [-1, 3])
  assert.equal(r.outShape, [-1, 6])
  const [y] = layer.apply(r.params, r.state, F.ones([2, 3]), evalCtx)
  assert.equal([...(y as Tensor).shape], [2, 6])
})

test('gradients through named, residual and parallel combinators match finite differences', async () => {
  const model = nn.serial(
    nn.residual(nn.named({ fc: nn.linear({ outFeatures: 3 }), act: nn.gelu })),
    nn.fanOut(2),
    nn.parallel(nn.linear({ outFeatures: 2 }), nn.named({ ln: nn.layerNorm(3), fc: nn.linear({ outFeatures: 2 }) })),
    nn.fanInConcat(-1),
  )
  const r = model.init(key, [2, 3])
  const [leaves, def] = F.treeFlatten(r.params)
  const f = (x: Tensor, ...ps: Tensor[]) => model.apply(F.treeUnflatten(def, ps), r.state, x, evalCtx)[0] as Tensor
  await checkGrads(f, [randn([2, 3], 6), ...(leaves as Tensor[])], { secondOrder: true })
})

test.run()
