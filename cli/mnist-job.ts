/**
 * The MNIST job as a function: config → model (by registry name) → jitted training with `F.train.train`
 * → test accuracy → safetensors checkpoint → reload into a freshly initialised model through `F.io` →
 * the same test accuracy again. `cli/mnist.ts` is its command line; the smoke test calls it directly.
 */
import * as E from 'fp-ts/Either'
import { rmSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getBackend } from '../core/backend/registry.js'
import type { Tensor } from '../core/tensor.js'
import { treeFlattenNamed, treeMap } from '../core/tree.js'
import { randomShift } from '../data/augment.js'
import { loadMnist, type MnistSplit } from '../data/mnist.js'
import { formatLoadReport, loadCheckpointInto, saveSafetensors } from '../io/index.js'
import { type Layer, type Params, type State, evalContext, trainContext } from '../models/nn/layer.js'
import { numParams } from '../models/nn/params.js'
import * as F from '../ops/index.js'
import * as T from '../train/index.js'
import { type MnistConfig, loadMnistModel } from './mnist-config.js'

export const DEFAULT_MNIST_CONFIG = fileURLToPath(new URL('../configs/mnist/resnet.yaml', import.meta.url))

export type MnistJobOptions = {
  /** A YAML/JSON config (default configs/mnist/resnet.yaml). */
  readonly config?: string
  /** detectron2-style `KEY VALUE` / `KEY=VALUE` overrides, applied after the file. */
  readonly overrides?: readonly string[]
  /** Shorthands for `SOLVER.EPOCHS` and `OUTPUT_DIR`. */
  readonly epochs?: number
  readonly outDir?: string
  readonly progress?: T.TrainOptions<unknown, unknown>['progress']
  readonly output?: T.Output
  /** Where the job's own lines go (default console.log). */
  readonly log?: (line: string) => void
}

export type MnistJobResult = {
  readonly backend: string
  readonly trainCount: number
  readonly testCount: number
  readonly iterations: number
  /** Test accuracy of the trained model, and of a fresh model loaded from the saved checkpoint. */
  readonly accuracy: number
  readonly reloadedAccuracy: number
  /** Wall time of each epoch in seconds (the first includes compiling the train step). */
  readonly epochSeconds: readonly number[]
  /** CPU time of this process (every thread) in each epoch, in seconds. */
  readonly epochCpuSeconds: readonly number[]
  readonly checkpoint: string
}

type TrainState = { readonly params: Params; readonly bn: State; readonly opt: readonly unknown[] }

/** Mean softmax cross-entropy. logits: f32[N,K], labels: i32[N] → f32[] */
const crossEntropy = (logits: Tensor, labels: Tensor): Tensor =>
  F.neg(F.mean(F.sum(F.mul(F.logSoftmax(logits, -1), F.oneHot(labels, logits.shape[1]!)), -1)))

/** detectron2's SOLVER.LR_SCHEDULER_NAME over an epoch-derived maxIter, times BASE_LR. */
const learningRate = (s: MnistConfig['SOLVER'], maxIter: number): T.Schedule => {
  const warmup = { warmupFactor: s.WARMUP_FACTOR, warmupIters: Math.min(s.WARMUP_ITERS, maxIter), warmupMethod: s.WARMUP_METHOD as 'linear' | 'constant' }
  switch (s.LR_SCHEDULER_NAME) {
    case 'WarmupCosineLR':
      return T.warmupCosine({ base: s.BASE_LR, final: s.BASE_LR_END, maxIter, ...warmup })
    case 'WarmupMultiStepLR':
      return T.warmupMultiStep({ base: s.BASE_LR, steps: s.STEPS.filter((k) => k < maxIter), gamma: s.GAMMA, ...warmup })
    default:
      throw new Error(`SOLVER.LR_SCHEDULER_NAME: the MNIST job knows WarmupCosineLR and WarmupMultiStepLR, got ${JSON.stringify(s.LR_SCHEDULER_NAME)}`)
  }
}

/** SGD (momentum, Nesterov) or AdamW with detectron2's parameter groups (no decay on norms by default). */
const optimizer = (s: MnistConfig['SOLVER'], lr: T.Schedule): T.GradientTransformation<readonly unknown[]> => {
  const groups = T.defaultParamGroups({
    weightDecay: s.WEIGHT_DECAY,
    weightDecayNorm: s.WEIGHT_DECAY_NORM,
    ...(s.WEIGHT_DECAY_BIAS === null ? {} : { weightDecayBias: s.WEIGHT_DECAY_BIAS }),
    biasLrFactor: s.BIAS_LR_FACTOR,
  })
  const common = { lr, weightDecay: groups.weightDecay, lrFactor: groups.lrFactor }
  return s.OPTIMIZER === 'AdamW' ? T.adamw(common) : T.sgd({ ...common, momentum: s.MOMENTUM, nesterov: s.NESTEROV })
}

/**
 * One jitted update. BatchNorm's new running statistics come out of the same forward pass as the loss:
 * `vjp` returns `[loss, newState]` as primal values, and the pullback gets a zero cotangent for the state.
 */
const makeTrainStep = (model: Layer, opt: T.GradientTransformation<readonly unknown[]>) =>
  F.jit((s: TrainState, images: Tensor, labels: Tensor) => {
    const forward = (params: Params): [Tensor, State] => {
      const [logits, bn] = model.apply(params, s.bn, images, trainContext())
      return [crossEntropy(logits, labels), bn]
    }
    const [[loss, bn], pullback] = F.vjp(forward, s.params) as [[Tensor, State], (ct: unknown) => Params[]]
    const [grads] = pullback([F.ones([]), treeMap((t: Tensor) => F.zeros(t.shape, t.dtype), bn)])
    const [updates, opt2] = opt.update(grads, s.opt, s.params)
    return { state: { params: T.applyUpdates(s.params, updates), bn, opt: opt2 }, loss }
  })

/** Fraction of `split` classified correctly, evaluated in chunks of up to 500 images. */
const makeEvaluate = (model: Layer) => {
  const correct = F.jit((params: Params, bn: State, images: Tensor, labels: Tensor) => {
    const [logits] = model.apply(params, bn, images, evalContext)
    return F.sum(F.cast(F.equal(F.argmax(logits, -1), labels), 'int32'))
  })
  return async (params: Params, bn: State, split: MnistSplit): Promise<number> => {
    let hits = 0
    for (let from = 0; from < split.count; from += 500) {
      const to = Math.min(split.count, from + 500)
      hits += await F.item(correct(params, bn, F.slice(split.images, [from], [to]), F.slice(split.labels, [from], [to])))
    }
    return hits / split.count
  }
}

const orThrow = <L extends { readonly message: string }, R>(e: E.Either<L, R>): R => {
  if (E.isLeft(e)) throw new Error(e.left.message)
  return e.right
}

/** Runs the whole job on the current backend (set it first: `F.initBackend()` or `F.setBackend`). */
export const runMnistJob = async (options: MnistJobOptions = {}): Promise<MnistJobResult> => {
  const log = options.log ?? console.log
  const overrides = [
    ...(options.overrides ?? []),
    ...(options.epochs === undefined ? [] : ['SOLVER.EPOCHS', String(options.epochs)]),
    ...(options.outDir === undefined ? [] : ['OUTPUT_DIR', options.outDir]),
  ]
  const { cfg, model } = orThrow(await loadMnistModel(options.config ?? DEFAULT_MNIST_CONFIG, overrides))
  const { train: trainSet, test: testSet } = loadMnist({
    trainFraction: cfg.DATASETS.MNIST.TRAIN_FRACTION,
    ...(cfg.DATASETS.MNIST.PER_CLASS > 0 ? { perClass: cfg.DATASETS.MNIST.PER_CLASS } : {}),
  })
  const batch = cfg.SOLVER.IMS_PER_BATCH
  if (!(batch >= 2 && batch <= trainSet.count)) throw new Error(`SOLVER.IMS_PER_BATCH must be between 2 (BatchNorm) and the ${trainSet.count} training images, got ${batch}`)
  // A partial last batch is dropped (a new shape would mean a second compile); each epoch drops different images.
  const itersPerEpoch = Math.floor(trainSet.count / batch)
  const maxIter = cfg.SOLVER.EPOCHS * itersPerEpoch
  const seed = cfg.SEED >= 0 ? cfg.SEED : Math.floor(Math.random() * 2 ** 31)
  const root = F.random.key(seed)
  const [initKey, dataKey, reloadKey, augmentKey] = [0, 1, 2, 3].map((i) => F.random.foldIn(root, i)) as [Tensor, Tensor, Tensor, Tensor]

  const inShape = [batch, 1, 28, 28]
  const init = model.init(initKey, inShape)
  const lr = learningRate(cfg.SOLVER, maxIter)
  const opt = optimizer(cfg.SOLVER, lr)
  const trainStep = makeTrainStep(model, opt)
  const evaluate = makeEvaluate(model)
  log(`fovea mnist on ${getBackend()}: ${cfg.MODEL.META_ARCHITECTURE} (${numParams(init.params).toLocaleString('en-US')} params), ` +
    `${trainSet.count} training / ${testSet.count} test digits, ${cfg.SOLVER.EPOCHS} epochs × ${itersPerEpoch} iterations of ${batch}, ` +
    `${cfg.SOLVER.OPTIMIZER} lr ${cfg.SOLVER.BASE_LR} (${cfg.SOLVER.LR_SCHEDULER_NAME}), seed ${seed}`)

  const outDir = cfg.OUTPUT_DIR
  mkdirSync(outDir, { recursive: true })
  const metricsFile = join(outDir, 'metrics.json')
  rmSync(metricsFile, { force: true })
  const checkpoint = join(outDir, 'model_final.safetensors')
  const save = async (iter: number, s: TrainState): Promise<void> => {
    const file = iter === maxIter - 1 ? checkpoint : join(outDir, `model_${String(iter).padStart(7, '0')}.safetensors`)
    const named = new Map([...treeFlattenNamed(s.params), ...treeFlattenNamed(s.bn)] as [string, Tensor][])
    orThrow(await saveSafetensors(file, named, { iteration: String(iter), config: cfg.MODEL.META_ARCHITECTURE }))
  }

  let permutation: { epoch: number; indices: Tensor } | undefined
  const data = (iter: number): [Tensor, Tensor] => {
    const epoch = Math.floor(iter / itersPerEpoch)
    if (permutation?.epoch !== epoch) permutation = { epoch, indices: F.random.permutation(F.random.foldIn(dataKey, epoch), trainSet.count) }
    const from = (iter % itersPerEpoch) * batch
    const indices = F.slice(permutation.indices, [from], [from + batch])
    const images = randomShift(F.random.foldIn(augmentKey, iter), F.take(trainSet.images, indices, 0), cfg.INPUT.RANDOM_SHIFT)
    return [images, F.take(trainSet.labels, indices, 0)]
  }

  // Wall time, and this process's CPU time (all its threads), which a shared machine does not inflate.
  const epochSeconds: number[] = []
  const epochCpuSeconds: number[] = []
  let epochStart = { wall: 0, cpu: process.cpuUsage() }
  const cpuSeconds = (since: NodeJS.CpuUsage): number => {
    const d = process.cpuUsage(since)
    return (d.user + d.system) / 1e6
  }
  const epochTimer: T.Hook<TrainState> = {
    beforeTrain: () => void (epochStart = { wall: performance.now(), cpu: process.cpuUsage() }),
    afterStep: ({ iter }) => {
      if ((iter + 1) % itersPerEpoch !== 0) return
      const now = performance.now()
      epochSeconds.push((now - epochStart.wall) / 1000)
      epochCpuSeconds.push(cpuSeconds(epochStart.cpu))
      epochStart = { wall: now, cpu: process.cpuUsage() }
    },
  }

  const result = await T.train<TrainState, [Tensor, Tensor]>({
    step: (s, [images, labels]) => trainStep(s, images, labels),
    state: { params: init.params, bn: init.state, opt: opt.init(init.params) },
    data,
    maxIter,
    lr: (i) => lr(i),
    logPeriod: Math.min(20, itersPerEpoch),
    metricsFile,
    checkpointPeriod: cfg.SOLVER.CHECKPOINT_PERIOD,
    save,
    hooks: [epochTimer],
    ...(options.progress === undefined ? {} : { progress: options.progress }),
    ...(options.output === undefined ? {} : { output: options.output }),
  })
  const { params, bn } = result.state
  const accuracy = await evaluate(params, bn, testSet)

  const fresh = model.init(reloadKey, inShape)
  const reloaded = orThrow(await loadCheckpointInto(checkpoint, { params: fresh.params, state: fresh.state }, { strict: true }))
  const reloadedAccuracy = await evaluate(reloaded.params, reloaded.state, testSet)
  log(`checkpoint ${checkpoint}: ${formatLoadReport(reloaded.report).split('\n')[0]}`)
  return { backend: getBackend(), trainCount: trainSet.count, testCount: testSet.count, iterations: maxIter, accuracy, reloadedAccuracy, epochSeconds, epochCpuSeconds, checkpoint }
}
