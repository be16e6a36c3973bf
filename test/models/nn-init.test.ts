// models/nn initializers: sample statistics against the formulas of PyTorch's nn.init and detectron2's
// c2 fills, purity in the key, and which bias each layer gets.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'

const { nn } = F
const key = F.random.key(11)

const stats = async (t: Tensor) => {
  const v = Array.from(await F.toArray(t))
  const n = v.length
  const mean = v.reduce((a, b) => a + b, 0) / n
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / n)
  return { mean, std, min: v.reduce((a, b) => Math.min(a, b), Infinity), max: v.reduce((a, b) => Math.max(a, b), -Infinity), n }
}

test('fans follow PyTorch: fan_in = shape[1]·k, fan_out = shape[0]·k', () => {
  assert.equal(nn.fans([256, 64, 3, 3]), { fanIn: 576, fanOut: 2304 })
  assert.equal(nn.fans([10, 7]), { fanIn: 7, fanOut: 10 })
  assert.throws(() => nn.fans([5]))
})

test('c2MsraFill: normal, std √(2 / fan_out), mean 0', async () => {
  const s = await stats(nn.c2MsraFill(key, [256, 64, 3, 3]))
  const std = Math.sqrt(2 / 2304)
  assert.ok(Math.abs(s.std / std - 1) < 0.01, `std ${s.std} vs ${std}`)
  assert.ok(Math.abs(s.mean) < 4 * std / Math.sqrt(s.n), `mean ${s.mean}`)
  assert.ok(s.max > 3.5 * std, 'normal tails, not uniform')
})

test('c2XavierFill: uniform on ±√(3 / fan_in) (kaiming_uniform a=1)', async () => {
  const s = await stats(nn.c2XavierFill(key, [64, 32, 3, 3]))
  const bound = Math.sqrt(3 / 288)
  assert.ok(s.max <= bound && s.min >= -bound, `range [${s.min}, ${s.max}] within ±${bound}`)
  assert.ok(s.max > 0.99 * bound && s.min < -0.99 * bound, 'fills the range')
  assert.ok(Math.abs(s.std / (bound / Math.sqrt(3)) - 1) < 0.02, `std ${s.std}`)
})

test('PyTorch default weight and bias: U(±1/√fan_in)', async () => {
  const w = await stats(nn.torchDefaultWeight(key, [128, 100]))
  assert.ok(w.max <= 0.1 && w.min >= -0.1 && w.max > 0.099, `weight range [${w.min}, ${w.max}]`)
  const b = await stats(nn.torchDefaultBias([16, 8, 3, 3])(key, [16000]))
  const bound = 1 / Math.sqrt(72)
  assert.ok(b.max <= bound && b.min >= -bound && b.max > 0.99 * bound, `bias range [${b.min}, ${b.max}]`)
})

test('normal(std), constant, kaimingNormal fan_in; the same key gives the same tensor', async () => {
  const s = await stats(nn.normal(0.01)(key, [100, 100]))
  assert.ok(Math.abs(s.std / 0.01 - 1) < 0.03 && Math.abs(s.mean) < 5e-4, `std ${s.std}`)
  assert.equal([...(await F.toArray(nn.constant(3)(key, [2, 2])))], [3, 3, 3, 3])
  const k = await stats(nn.kaimingNormal()(key, [64, 50, 2, 2]))
  assert.ok(Math.abs(k.std / Math.sqrt(2 / 200) - 1) < 0.03, `kaiming fan_in std ${k.std}`)
  assert.equal(await F.toArray(nn.c2MsraFill(key, [3, 4])), await F.toArray(nn.c2MsraFill(key, [3, 4])))
  assert.not.equal(await F.toArray(nn.c2MsraFill(key, [3, 4])), await F.toArray(nn.c2MsraFill(F.random.key(12), [3, 4])))
})

test('layers: an explicit weight init zeroes the bias (detectron2); the default draws PyTorch bias', async () => {
  const msra = nn.conv2d({ outChannels: 64, kernelSize: 3, weightInit: nn.c2MsraFill }).init(key, [1, 16, 8, 8])
  assert.ok((await F.toArray(msra.params.bias)).every((v) => v === 0))
  const ws = await stats(msra.params.weight)
  assert.ok(Math.abs(ws.std / Math.sqrt(2 / (64 * 9)) - 1) < 0.05, `conv weight std ${ws.std}`)
  const dflt = nn.conv2d({ outChannels: 64, kernelSize: 3 }).init(key, [1, 16, 8, 8])
  const bs = await stats(dflt.params.bias)
  assert.ok(bs.max <= 1 / 12 && bs.min >= -1 / 12 && bs.std > 0.02, `default bias range [${bs.min}, ${bs.max}]`)
  const custom = nn.linear({ outFeatures: 4, weightInit: nn.normal(0.01), biasInit: nn.constant(-4.59) }).init(key, [1, 8])
  assert.equal([...(await F.toArray(custom.params.bias))].map((v) => Math.round(v * 100) / 100), [-4.59, -4.59, -4.59, -4.59])
  const bn = nn.batchNorm().init(key, [1, 3, 2, 2])
  assert.equal([...(await F.toArray(bn.params.weight)), ...(await F.toArray(bn.params.bias))], [1, 1, 1, 0, 0, 0])
})

test.run()
