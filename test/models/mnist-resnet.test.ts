// The MNIST ResNet (models/mnist/resnet.ts) built by name from configs/mnist/resnet.yaml: golden param and
// buffer names (STYLE 10), shapes through the network, and the errors a mis-written config or input gives.
import * as E from 'fp-ts/Either'
import { readFileSync, writeFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { DEFAULT_MNIST_CONFIG } from '../../cli/mnist-job.js'
import { loadMnistModel, registerMnist } from '../../cli/mnist-config.js'
import { basicBlock, mnistResNet } from '../../models/mnist/resnet.js'
import { randn, throwsFovea } from '../util/check.js'

const goldenPath = new URL('./golden/mnist-resnet.json', import.meta.url)
const key = F.random.key(0)

const build = async (overrides: readonly string[] = []) => {
  const built = await loadMnistModel(DEFAULT_MNIST_CONFIG, overrides)
  if (E.isLeft(built)) throw new Error(built.left.message)
  return built.right
}

test('the configured model keeps the param and buffer names and shapes of its golden file', async () => {
  const { model } = await build()
  const r = model.init(key, [-1, 1, 28, 28])
  assert.equal(r.outShape, [-1, 10])
  const shapes = F.nn.paramShapes(r.params, r.state)
  // Regenerate only after checking the new names by hand: FOVEA_WRITE_GOLDEN=1 node scripts/test.mjs mnist-resnet
  if (process.env.FOVEA_WRITE_GOLDEN === '1') writeFileSync(goldenPath, `${JSON.stringify(shapes, null, 2)}\n`)
  assert.equal(shapes, JSON.parse(readFileSync(goldenPath, 'utf8')))
  assert.is(shapes['res3.0.shortcut.weight'], 'f32[24,12,1,1]', 'stride-2 stages project their shortcut')
  assert.not.ok('res2.0.shortcut.weight' in shapes, 'a stage that keeps shape and width has an identity shortcut')
  assert.is(shapes['stem.conv1.norm.num_batches_tracked'], 'i32[]')
})

test('forward: logits [N,10] in both modes; training returns state with the same names', async () => {
  const { model } = await build()
  const r = model.init(key, [3, 1, 28, 28])
  const x = F.random.uniform(F.random.key(1), [3, 1, 28, 28])
  const [y, s] = model.apply(r.params, r.state, x, { train: true })
  assert.equal([...(y as Tensor).shape], [3, 10])
  assert.equal(F.nn.paramShapes(r.params, s), F.nn.paramShapes(r.params, r.state))
  assert.ok(!(await F.toArray(s.stem.conv1.norm.running_mean)).every((v: number) => v === 0), 'BatchNorm statistics moved')
  const [z] = model.apply(r.params, r.state, x, { train: false })
  assert.ok((await F.toArray(z as Tensor)).every(Number.isFinite))
})

test('config keys reach the model: widths double from RES2_OUT_CHANNELS, STAGE_BLOCKS counts blocks', async () => {
  const { model } = await build(['MODEL.RESNETS.RES2_OUT_CHANNELS=4', 'MODEL.MNIST_RESNET.STAGE_BLOCKS=[2,1]', 'MODEL.MNIST_RESNET.NUM_CLASSES=3'])
  const shapes = F.nn.paramShapes(model.init(key, [1, 1, 28, 28]).params)
  assert.is(shapes['res2.1.conv2.weight'], 'f32[4,4,3,3]')
  assert.is(shapes['res3.0.conv1.weight'], 'f32[8,4,3,3]')
  assert.not.ok('res4.0.conv1.weight' in shapes)
  assert.is(shapes['linear.weight'], 'f32[3,8]')
})

test('an unknown META_ARCH or config key is a Left naming it', async () => {
  const wrong = await loadMnistModel(DEFAULT_MNIST_CONFIG, ['MODEL.META_ARCHITECTURE=MnistResNt'])
  assert.ok(E.isLeft(wrong) && wrong.left.message.includes('did you mean "MnistResNet"'), E.isLeft(wrong) ? wrong.left.message : 'Right')
  const key2 = await loadMnistModel(DEFAULT_MNIST_CONFIG, ['MODEL.MNIST_RESNET.STAGE_BLOKS=[1]'])
  assert.ok(E.isLeft(key2) && key2.left.message.includes('STAGE_BLOCKS'), E.isLeft(key2) ? key2.left.message : 'Right')
  const regs = registerMnist(F.registry.emptyRegistries)
  assert.ok(E.isRight(regs) && regs.right.META_ARCH.list().includes('MnistResNet'))
})

test('bad shapes fail naming the layer path, shapes and options', () => {
  const model = mnistResNet({ stemChannels: 4, stageChannels: [4, 8], stageBlocks: [1, 1], numClasses: 10 })
  throwsFovea(() => model.init(key, [2, 3, 28, 28]), 'normalizePixels', '[N,1,H,W]')
  throwsFovea(() => mnistResNet({ stemChannels: 4, stageChannels: [4, 8], stageBlocks: [1], numClasses: 10 }), 'mnistResNet', 'stageBlocks [1]')
  throwsFovea(() => mnistResNet({ stemChannels: 4, stageChannels: [4], stageBlocks: [1], numClasses: 10, pixelMean: [0], pixelStd: [0] }), 'pixelStd [0]')
  const block = basicBlock(4, 8, 2, 'BN')
  throwsFovea(() => block.init(key, [2, 5, 8, 8]), 'conv2d', '[2,5,8,8]', 'conv1')
  const r = block.init(key, [2, 4, 8, 8])
  throwsFovea(() => block.apply(r.params, r.state, randn([2, 6, 8, 8], 2), { train: false }), 'conv2d', 'f32[2,6,8,8]')
})

test.run()
