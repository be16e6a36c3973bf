/**
 * The training loop on a tiny quadratic: convergence, the metrics file, hook and checkpoint iterations,
 * exact resume, the NaN stop, progress output, and the event storage it records into.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, rng } from '../util/check.js'

const T = F.train
type Params = { readonly w: Tensor }
type State = { readonly params: Params; readonly opt: readonly unknown[] }

const target = F.tensor([1, -2, 3])
/** A noisy target per iteration, a pure function of the iteration so a resumed run sees the same data. */
const data = (iter: number): Tensor => {
  const r = rng(1000 + iter)
  return F.add(target, F.tensor([r() - 0.5, r() - 0.5, r() - 0.5].map((v) => v * 0.01)))
}
const loss = (p: Params, y: Tensor) => F.mean(F.square(F.sub(p.w, y)))
const lr = T.warmupMultiStep({ base: 0.3, steps: [30], gamma: 0.5, warmupFactor: 0.1, warmupIters: 5 })
const opt = T.sgd({ lr, momentum: 0.5, weightDecay: 1e-4 })
const init = (): State => ({ params: { w: F.zeros([3]) }, opt: opt.init({ w: F.zeros([3]) }) })
const step = (s: State, y: Tensor) => {
  const [value, grads] = F.valueAndGrad(loss)(s.params, y)
  const [u, next] = opt.update(grads, s.opt, s.params)
  return { state: { params: T.applyUpdates(s.params, u), opt: next }, loss: value, scalars: { w0: F.slice(s.params.w, [0], [1]) } }
}
const quiet = { progress: 'off' as const }
const tmp = () => mkdtempSync(join(tmpdir(), 'fovea-train-'))
const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, number>)

test('converges on a quadratic and returns the last iteration', async () => {
  const result = await T.train({ step, state: init(), data, maxIter: 60, lr, ...quiet })
  assert.is(result.iter, 59)
  assertClose(await F.toArray(result.state.params.w), [1, -2, 3], { atol: 0.01 })
  assert.ok(result.storage.histories.loss!.latest < 1e-4, `final loss ${result.storage.histories.loss!.latest}`)
  assert.is(result.storage.histories.loss!.count, 60)
})

test('metrics file: one JSON object per logged iteration with windowed medians, lr as is, eta until the last', async () => {
  const dir = tmp()
  const file = join(dir, 'metrics.json')
  const losses: number[] = []
  const record = { afterStep: (ctx: F.train.HookContext<State>) => void losses.push(ctx.storage.histories.loss!.latest) }
  await T.train({ step, state: init(), data, maxIter: 12, lr, logPeriod: 5, window: 3, metricsFile: file, hooks: [record], ...quiet })
  const lines = readLines(file)
  assert.equal(lines.map((l) => l.iteration), [4, 9, 11])
  assert.equal(Object.keys(lines[0]!).sort(), ['data_time', 'eta_seconds', 'iteration', 'loss', 'lr', 'time', 'w0'])
  assert.not.ok('eta_seconds' in lines[2]!, 'no eta on the last line')
  const median3 = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!
  lines.forEach((l) => {
    const i = l.iteration!
    assertClose([l.loss!], [median3(losses.slice(i - 2, i + 1))], { rtol: 1e-12 }, `loss median at ${i}`)
    assertClose([l.lr!], [lr(i)], { rtol: 1e-12 }, `lr at ${i}`)
    assert.ok(l.time! >= 0 && l.data_time! >= 0 && l.data_time! <= l.time!)
  })
  // a second run (a resume) appends
  await T.train({ step, state: init(), data, startIter: 12, maxIter: 15, metricsFile: file, logPeriod: 5, ...quiet })
  assert.equal(readLines(file).map((l) => l.iteration), [4, 9, 11, 14])
  rmSync(dir, { recursive: true })
})

test('hooks and checkpoints are called at the right iterations, in detectron2 order', async () => {
  const events: string[] = []
  const log = (what: string) => (ctx: F.train.HookContext<State>) => void events.push(`${what}@${ctx.iter}`)
  const saved: number[] = []
  await T.train({
    step, state: init(), data, maxIter: 8, logPeriod: 4, checkpointPeriod: 3, ...quiet,
    save: (iter) => void saved.push(iter),
    hooks: [
      { beforeTrain: log('beforeTrain'), beforeStep: log('before'), afterStep: log('after'), afterTrain: log('afterTrain'), onLog: (r) => void events.push(`log@${r.iteration}`) },
      T.every(3, log('every3')),
    ],
  })
  assert.equal(saved, [2, 5, 7])
  assert.equal(events, [
    'beforeTrain@0', 'before@0', 'after@0', 'before@1', 'after@1', 'before@2', 'after@2', 'every3@2', 'before@3', 'after@3', 'log@3',
    'before@4', 'after@4', 'before@5', 'after@5', 'every3@5', 'before@6', 'after@6', 'before@7', 'after@7', 'log@7', 'afterTrain@7',
  ])
  const once: number[] = []
  await T.train({ step, state: init(), data, maxIter: 6, checkpointPeriod: 3, save: (i) => void once.push(i), ...quiet })
  assert.equal(once, [2, 5], 'the last iteration is saved once even when it is also periodic')
})

test('resume from a checkpoint continues exactly (momentum, schedule count and data included)', async () => {
  const checkpoints = new Map<number, State>()
  const full = await T.train({ step, state: init(), data, maxIter: 40, checkpointPeriod: 10, save: (i, s) => void checkpoints.set(i, s), ...quiet })
  assert.equal([...checkpoints.keys()], [9, 19, 29, 39])
  const iterSeen: number[] = []
  const resumed = await T.train({
    step: (s: State, y: Tensor, iter: number) => (iterSeen.push(iter), step(s, y)),
    state: checkpoints.get(19)!, startIter: 20, data, maxIter: 40, ...quiet,
  })
  assert.is(iterSeen[0], 20)
  assert.is(resumed.iter, 39)
  assert.equal(Array.from(await F.toArray(resumed.state.params.w)), Array.from(await F.toArray(full.state.params.w)))
  assert.equal(await F.item((resumed.state.opt[2] as { count: Tensor }).count), 40)
  const nothing = await T.train({ step, state: full.state, startIter: 40, data, maxIter: 40, ...quiet })
  assert.is(nothing.iter, 39)
  assert.is(nothing.state, full.state)
})

test('resume through a safetensors checkpoint written by F.io (optimizer state included) continues exactly', async () => {
  const dir = tmp()
  const full = await T.train({ step, state: init(), data, maxIter: 20, ...quiet })
  await T.train({
    step, state: init(), data, maxIter: 10, checkpointPeriod: 10, ...quiet,
    save: async (iter, s) => {
      const saved = await F.io.saveSafetensors(join(dir, `model_${String(iter).padStart(7, '0')}.safetensors`), s, { iteration: String(iter) })
      assert.is(saved._tag, 'Right')
    },
  })
  const loaded = await F.io.loadSafetensors(join(dir, 'model_0000009.safetensors'))
  if (loaded._tag !== 'Right') return assert.unreachable(String(loaded.left))
  const state = F.treeUnflattenNamed(init(), loaded.right.tensors)
  assert.equal(F.treeFlattenNamed(state).map(([n]) => n), ['opt.1.trace.w', 'opt.2.count', 'params.w'])
  const resumed = await T.train({ step, state, startIter: Number(loaded.right.metadata.iteration) + 1, data, maxIter: 20, ...quiet })
  assert.equal(Array.from(await F.toArray(resumed.state.params.w)), Array.from(await F.toArray(full.state.params.w)))
  rmSync(dir, { recursive: true })
})

test('a NaN loss stops training with the iteration and the last finite values; the bad state is never saved', async () => {
  const dir = tmp()
  const file = join(dir, 'metrics.json')
  const saved: number[] = []
  const after: number[] = []
  const poisoned = (s: State, y: Tensor, iter: number) => {
    const out = step(s, y)
    return iter === 6 ? { ...out, loss: F.mul(out.loss, Number.NaN) } : out
  }
  let error: unknown
  await T.train({
    step: poisoned, state: init(), data, maxIter: 20, lr, logPeriod: 3, metricsFile: file, checkpointPeriod: 2, ...quiet,
    save: (iter) => void saved.push(iter), hooks: [{ afterStep: (ctx) => void after.push(ctx.iter) }],
  }).catch((e) => (error = e))
  assert.ok(F.isFoveaError(error), String(error))
  const message = (error as Error).message
  for (const fragment of ['train: the loss became NaN at iteration 6', 'this step\'s state was not saved', 'The last checkpoint is from iteration 5', 'This step: loss NaN, w0 ', 'Last finite values: loss ', '(iteration 5)', `lr ${lr(5)} (iteration 5)`]) {
    assert.ok(message.includes(fragment), `"${message}" should contain "${fragment}"`)
  }
  assert.equal(saved, [1, 3, 5])
  assert.equal(after, [0, 1, 2, 3, 4, 5])
  assert.equal(readLines(file).map((l) => l.iteration), [2, 5])
  rmSync(dir, { recursive: true })

  let inf: unknown
  await T.train({ step: (s: State, y: Tensor) => ({ ...step(s, y), loss: Number.POSITIVE_INFINITY }), state: init(), data, maxIter: 3, ...quiet }).catch((e) => (inf = e))
  assert.match((inf as Error).message, /loss became Infinity at iteration 0; .*Last finite values: none \(no step finished\)/)
})

test('progress: a redrawn bar with ETA on a terminal, detectron2-style lines otherwise, nothing when off', async () => {
  let tty = ''
  await T.train({ step, state: init(), data, maxIter: 5, lr, progress: 'auto', output: { isTTY: true, write: (s) => (tty += s) } })
  assert.match(tty, /^\r\[/)
  assert.match(tty, /\[#{24}\] 100% 5\/5 {2}loss \S+ {2}w0 \S+ {2}lr 0\.246 .*eta 0:00:00\x1b\[K\n$/)
  let plain = ''
  await T.train({ step, state: init(), data, maxIter: 5, lr, logPeriod: 2, output: { isTTY: false, write: (s) => (plain += s) } })
  const lines = plain.trimEnd().split('\n')
  assert.is(lines.length, 3)
  assert.match(lines[0]!, /^eta: \d+:\d\d:\d\d {2}iter: 1 {2}loss: \S+ {2}w0: \S+ {2}time: \d\.\d{4} {2}data_time: \d\.\d{4} {2}lr: 0\.084$/)
  assert.match(lines[2]!, /^iter: 4 {2}loss: /)
  assert.not.match(plain, /\r/)
  let off = ''
  await T.train({ step, state: init(), data, maxIter: 3, progress: 'off', output: { isTTY: true, write: (s) => (off += s) } })
  assert.is(off, '')
})

test('data as an iterable or async iterable; running out is an error naming the iteration', async () => {
  const batches = [0, 1, 2].map(data)
  const r = await T.train({ step, state: init(), data: batches, maxIter: 3, ...quiet })
  assert.is(r.iter, 2)
  async function* gen() {
    for (let i = 0; i < 2; i++) yield data(i)
  }
  let error: unknown
  await T.train({ step, state: init(), data: gen(), maxIter: 3, ...quiet }).catch((e) => (error = e))
  assert.match((error as Error).message, /train: the data ran out at iteration 2/)
})

test('bad options and bad step results fail with the reason', async () => {
  const reject = async (options: Partial<F.train.TrainOptions<State, Tensor>>, fragment: string) => {
    let error: unknown
    await T.train({ step, state: init(), data, maxIter: 2, ...quiet, ...options } as F.train.TrainOptions<State, Tensor>).catch((e) => (error = e))
    assert.ok(F.isFoveaError(error) && (error as Error).message.includes(fragment), `${String(error)} should contain "${fragment}"`)
  }
  await reject({ maxIter: -1 }, 'maxIter must be a non-negative integer, got -1')
  await reject({ startIter: 1.5 }, 'startIter must be a non-negative integer, got 1.5')
  await reject({ logPeriod: 0 }, 'logPeriod must be a positive integer, got 0')
  await reject({ checkpointPeriod: 5 }, 'checkpointPeriod is set but no save(iter, state) function was given')
  await reject({ data: 3 as never }, 'data must be a function of the iteration or an (async) iterable, got number')
  await reject({ step: (s: State) => ({ state: s, loss: F.zeros([2]) }) }, 'scalar loss at iteration 0 is f32[2]; expected one element')
  await reject({ step: () => 5 as never }, 'step returned number at iteration 0')
})

test('event storage: medians over a window, averages, smoothing hints, bounded history', () => {
  let s = T.emptyStorage(0, 4)
  for (const [i, v] of [5, 1, 4, 2, 3].entries()) s = T.putScalars(T.putScalar(T.atIter(s, i), 'lr', v / 10, false), { loss: v })
  const loss = s.histories.loss!
  assert.equal(loss.values, [1, 4, 2, 3])
  assert.is(T.median(loss, 3), 3)
  assert.is(T.median(loss, 4), 2.5)
  assert.is(T.average(loss, 2), 2.5)
  assert.is(T.globalAverage(loss), 3)
  assert.equal(T.latestWithSmoothing(s, 3), { lr: { value: 0.3, iter: 4 }, loss: { value: 3, iter: 4 } })
  assert.ok(Number.isNaN(T.median({ ...loss, values: [] })))
})

test('formatting: durations like timedelta, progress lines', () => {
  assert.is(T.formatDuration(3725.9), '1:02:05')
  assert.is(T.formatDuration(0), '0:00:00')
  assert.is(T.formatDuration(Number.NaN), '?')
  assert.is(T.metricsLine(19, { lr: 0.01, time: 0.5, loss_b: 2, acc: 1, loss_a: 1e-5 }, 61), 'eta: 0:01:01  iter: 19  loss_a: 1.000e-5  loss_b: 2  acc: 1  time: 0.5000  lr: 0.01')
  assert.is(T.progressLine(5, 10, { loss: 0.12345 }, 2.5, 2, 10), '[#####-----]  50% 5/10  loss 0.1235  2.50 it/s  eta 0:00:02')
})

test.run()
