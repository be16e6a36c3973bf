// The main job (cli/mnist-job.ts) on WebGPU: a tiny configuration trains, saves (reading every tensor back
// from the GPU), reloads into a fresh model and scores the same as the trained one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import { runMnistJob } from '../../cli/mnist-job.js'
import { gpuAvailable } from './gpu.js'

test('a tiny MNIST run on WebGPU reloads to the same accuracy', async () => {
  if (!(await gpuAvailable('mnist'))) return
  const dir = mkdtempSync(join(tmpdir(), 'fovea-mnist-gpu-'))
  await F.setBackend('webgpu')
  try {
    const tiny = ['DATASETS.MNIST.PER_CLASS=20', 'SOLVER.IMS_PER_BATCH=17', 'MODEL.RESNETS.STEM_OUT_CHANNELS=4', 'MODEL.RESNETS.RES2_OUT_CHANNELS=4', 'MODEL.MNIST_RESNET.STAGE_BLOCKS=[1,1]']
    const r = await runMnistJob({ overrides: tiny, epochs: 1, outDir: dir, progress: 'off', log: () => {} })
    assert.is(r.backend, 'webgpu')
    assert.is(r.iterations, 10)
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1)
    assert.is(r.reloadedAccuracy, r.accuracy)
  } finally {
    await F.setBackend('cpu')
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
