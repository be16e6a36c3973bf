// Smoke test of the main job (cli/mnist-job.ts): a tiny configuration (40 digits per class, one short
// epoch) runs end to end — config, registry, jitted training, checkpoint, reload — and the model reloaded
// from the safetensors file scores exactly what the trained one scored.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as E from 'fp-ts/Either'
import * as F from '../../index.js'
import { runMnistJob } from '../../cli/mnist-job.js'

// The job runs on whatever backend is current; this suite is the cpu one (test/webgpu has the GPU run).
test.before(() => F.setBackend('cpu'))

test('a tiny run trains, saves, reloads into a fresh model and scores the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fovea-mnist-'))
  const lines: string[] = []
  const tiny = ['DATASETS.MNIST.PER_CLASS=40', 'SOLVER.IMS_PER_BATCH=34', 'MODEL.RESNETS.STEM_OUT_CHANNELS=4', 'MODEL.RESNETS.RES2_OUT_CHANNELS=4', 'MODEL.MNIST_RESNET.STAGE_BLOCKS=[1,1]']
  const r = await runMnistJob({ overrides: tiny, epochs: 1, outDir: dir, progress: 'off', log: (l) => void lines.push(l) })
  assert.is(r.trainCount, 340)
  assert.is(r.testCount, 60)
  assert.is(r.iterations, 10)
  assert.is(r.epochSeconds.length, 1)
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1)
  assert.is(r.reloadedAccuracy, r.accuracy)
  assert.ok(lines.some((l) => l.includes('loaded 38 of 38 model tensors')), lines.join('\n'))
  const metrics = readFileSync(join(dir, 'metrics.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
  assert.equal(metrics.map((m) => m.iteration), [9])
  assert.ok(Number.isFinite(metrics[0]!.loss) && metrics[0]!.lr! >= 0)
  // the checkpoint holds params and BatchNorm state under detectron2-style dotted names
  assert.ok(existsSync(r.checkpoint))
  const saved = await F.io.loadSafetensors(r.checkpoint)
  assert.ok(E.isRight(saved))
  const names = [...(saved as E.Right<F.io.Checkpoint>).right.tensors.keys()]
  for (const n of ['stem.conv1.weight', 'res3.0.shortcut.norm.running_var', 'res2.0.conv1.norm.num_batches_tracked', 'linear.bias']) assert.ok(names.includes(n), n)
  assert.is(await F.item((saved as E.Right<F.io.Checkpoint>).right.tensors.get('stem.conv1.norm.num_batches_tracked')!), 10)
  rmSync(dir, { recursive: true })
})

test('a bad config fails before training, naming the key', async () => {
  let message = ''
  try {
    await runMnistJob({ overrides: ['SOLVER.IMS_PER_BATCH=1'], progress: 'off', log: () => {} })
  } catch (e) {
    message = (e as Error).message
  }
  assert.ok(message.includes('SOLVER.IMS_PER_BATCH'), message)
})

test.run()
