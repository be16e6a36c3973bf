/**
 * `train(...)`: the training loop as one async function that drives the caller's callbacks — the step,
 * the data, the hooks, the checkpoint writer — in detectron2's `SimpleTrainer` order. It owns no model
 * code: the state it threads through is whatever the step returns (params, optimizer state, BN state).
 * Iterations are detectron2's (0-based; iteration `i` is the i-th update), so `save(i, state)` receives
 * the state *after* update `i`, and training resumes from it with `startIter: i + 1` — exactly
 * detectron2's `iteration` + 1 rule.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { fail } from '../core/errors.js'
import { type Tensor, describeAval, isTensor } from '../core/tensor.js'
import { item } from '../ops/index.js'
import { type EventStorage, atIter, emptyStorage, latestWithSmoothing, median, putScalar } from './events.js'
import { formatScalar, metricsLine, progressLine } from './progress.js'

/** What one step returns: the next state, the loss (checked for NaN/Inf) and other scalars to log. */
export type StepOutput<S> = {
  readonly state: S
  /** The total loss: a number or a one-element tensor (read back every step). */
  readonly loss: number | Tensor
  readonly scalars?: Readonly<Record<string, number | Tensor>>
}

export type HookContext<S> = {
  readonly iter: number
  readonly startIter: number
  readonly maxIter: number
  readonly state: S
  readonly storage: EventStorage
}

/** One line of the metrics file: detectron2's `JSONWriter` record (`iteration`, smoothed scalars, `eta_seconds`). */
export type MetricsRecord = { readonly iteration: number } & Readonly<Record<string, number>>

type Maybe = void | Promise<void>

/** detectron2 `HookBase`: each callback is optional; hooks run in array order. They observe; they do not change the state. */
export type Hook<S> = {
  readonly beforeTrain?: (ctx: HookContext<S>) => Maybe
  readonly beforeStep?: (ctx: HookContext<S>) => Maybe
  readonly afterStep?: (ctx: HookContext<S>) => Maybe
  /** Called at every logged iteration with the record written to the metrics file. */
  readonly onLog?: (record: MetricsRecord, ctx: HookContext<S>) => Maybe
  /** Called after the last iteration (not when training stopped with an error). */
  readonly afterTrain?: (ctx: HookContext<S>) => Maybe
}

/** Where progress goes; `process.stdout` by default. A bar is drawn only when `isTTY`. */
export type Output = { readonly write: (text: string) => unknown; readonly isTTY?: boolean }

export type TrainOptions<S, B> = {
  readonly step: (state: S, batch: B, iter: number) => StepOutput<S> | Promise<StepOutput<S>>
  readonly state: S
  /** A function of the iteration (deterministic data makes a resumed run continue exactly), or an (async) iterable read from its start. */
  readonly data: ((iter: number) => B | Promise<B>) | Iterable<B> | AsyncIterable<B>
  /** Train until this many iterations have been done in total (iterations startIter … maxIter − 1 run). */
  readonly maxIter: number
  /** The first iteration to run: 0, or a checkpoint's iteration + 1 to resume. */
  readonly startIter?: number
  /** Logged as `lr` (unsmoothed) each iteration, e.g. the schedule the optimizer uses times the base rate. */
  readonly lr?: (iter: number) => number
  /** Write metrics (file, hooks, printed lines) every this many iterations and at the last (default 20). */
  readonly logPeriod?: number
  /** Iterations the logged medians are taken over (detectron2's window, default 20). */
  readonly window?: number
  /** Append one JSON object per logged iteration to this file (JSON lines; each line written straight to the OS). */
  readonly metricsFile?: string
  /** Call `save` every this many iterations (when (iter + 1) % period is 0) and after the last iteration. */
  readonly checkpointPeriod?: number
  readonly save?: (iter: number, state: S) => Maybe
  readonly hooks?: readonly Hook<S>[]
  /** `auto`: a bar on a terminal, lines otherwise (default); `off`: print nothing. */
  readonly progress?: 'auto' | 'bar' | 'lines' | 'off'
  readonly output?: Output
}

export type TrainResult<S> = {
  readonly state: S
  /** The last iteration run (startIter − 1 when there was nothing to run). */
  readonly iter: number
  readonly storage: EventStorage
}

const positiveInteger = (name: string, v: number | undefined): void => {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) fail('train', `${name} must be a positive integer, got ${v}`)
}

const readScalar = async (name: string, iter: number, v: number | Tensor): Promise<number> => {
  if (typeof v === 'number') return v
  if (!isTensor(v)) return fail('train', `scalar ${name} at iteration ${iter} is ${typeof v}; expected a number or a one-element tensor`)
  if (v.shape.reduce((a, b) => a * b, 1) !== 1) fail('train', `scalar ${name} at iteration ${iter} is ${describeAval(v)}; expected one element (reduce it first)`)
  return item(v)
}

/** Batches by iteration, from a function of the iteration or from an iterator started once. */
const batchSource = <B>(data: TrainOptions<unknown, B>['data']): ((iter: number) => Promise<B>) => {
  if (typeof data === 'function') return async (iter) => data(iter)
  const it: Iterator<B> | AsyncIterator<B> | undefined =
    data !== null && typeof data === 'object' && Symbol.asyncIterator in data ? (data as AsyncIterable<B>)[Symbol.asyncIterator]()
      : data !== null && typeof data === 'object' && Symbol.iterator in data ? (data as Iterable<B>)[Symbol.iterator]() : undefined
  if (it === undefined) return fail('train', `data must be a function of the iteration or an (async) iterable, got ${data === null ? 'null' : typeof data}`)
  return async (iter) => {
    const r = await it.next()
    if (r.done) fail('train', `the data ran out at iteration ${iter}; give at least maxIter − startIter batches or a function of the iteration`)
    return r.value as B
  }
}

/** "loss 0.5 (iteration 6), lr 0.01 (iteration 6)" */
const describeLastFinite = (last: ReadonlyMap<string, { value: number; iter: number }>): string =>
  last.size === 0 ? 'none (no step finished)' : [...last].map(([n, { value, iter }]) => `${n} ${formatScalar(value)} (iteration ${iter})`).join(', ')

/**
 * Runs `step` for iterations `startIter … maxIter − 1`, threading the state, recording scalars (loss,
 * the step's scalars, `time`, `data_time`, `lr`) in an `EventStorage`, logging smoothed medians every
 * `logPeriod` iterations (metrics file, `onLog` hooks, printed lines or a progress bar with ETA), and
 * calling `save(iter, state)` periodically and at the end. A NaN or infinite loss stops training with a
 * FoveaError naming the iteration and the last finite value of every scalar; the bad state reaches
 * neither `save` nor any hook, so the last good checkpoint stays the newest.
 */
export const train = async <S, B>(options: TrainOptions<S, B>): Promise<TrainResult<S>> => {
  const { step, maxIter, startIter = 0, logPeriod = 20, window = 20, checkpointPeriod, save, hooks = [], lr } = options
  if (typeof step !== 'function') fail('train', 'step must be a function (state, batch, iter) → { state, loss, scalars? }')
  if (!(Number.isInteger(maxIter) && maxIter >= 0)) fail('train', `maxIter must be a non-negative integer, got ${maxIter}`)
  if (!(Number.isInteger(startIter) && startIter >= 0)) fail('train', `startIter must be a non-negative integer, got ${startIter}`)
  positiveInteger('logPeriod', logPeriod)
  positiveInteger('window', window)
  positiveInteger('checkpointPeriod', checkpointPeriod)
  if (checkpointPeriod !== undefined && save === undefined) fail('train', 'checkpointPeriod is set but no save(iter, state) function was given')
  const output = options.output ?? process.stdout
  const mode = options.progress ?? 'auto'
  const bar = mode === 'bar' || (mode === 'auto' && output.isTTY === true)
  const lines = mode === 'lines' || (mode === 'auto' && output.isTTY !== true)
  const nextBatch = batchSource<B>(options.data)

  let state = options.state
  let storage = emptyStorage(startIter, Math.max(100, window))
  const context = (iter: number): HookContext<S> => ({ iter, startIter, maxIter, state, storage })
  const runHooks = async (pick: (h: Hook<S>) => ((ctx: HookContext<S>) => Maybe) | undefined, iter: number): Promise<void> => {
    for (const h of hooks) await pick(h)?.(context(iter))
  }
  const lastFinite = new Map<string, { value: number; iter: number }>()
  let lastSaved: number | undefined
  let lastWrite = startIter - 1
  let barDrawnAt = -Infinity
  let barShown = false
  const trainStart = performance.now()
  const fd = options.metricsFile === undefined ? undefined : openSync(options.metricsFile, 'a')

  const etaSeconds = (iter: number): number => {
    const time = storage.histories.time
    return time === undefined ? Number.NaN : median(time, storage.capacity) * (maxIter - iter - 1)
  }
  const drawBar = (iter: number, force: boolean): void => {
    const now = performance.now()
    if (!force && now - barDrawnAt < 100) return
    barDrawnAt = now
    barShown = true
    const values = Object.fromEntries(Object.entries(latestWithSmoothing(storage, window)).map(([n, v]) => [n, v.value]))
    const speed = (iter + 1 - startIter) / ((now - trainStart) / 1000)
    output.write(`\r${progressLine(iter + 1, maxIter, values, speed, etaSeconds(iter))}\x1b[K`)
  }
  const endBar = (): void => {
    if (barShown) output.write('\n')
    barShown = false
  }

  try {
    await runHooks((h) => h.beforeTrain, startIter)
    for (let iter = startIter; iter < maxIter; iter++) {
      storage = atIter(storage, iter)
      await runHooks((h) => h.beforeStep, iter)
      const started = performance.now()
      const batch = await nextBatch(iter)
      const dataTime = (performance.now() - started) / 1000
      const out = await step(state, batch, iter)
      if (out === null || typeof out !== 'object' || !('state' in out) || !('loss' in out)) fail('train', `step returned ${out === null ? 'null' : typeof out} at iteration ${iter}; expected { state, loss, scalars? }`)
      const loss = await readScalar('loss', iter, out.loss)
      const scalars: [string, number][] = []
      for (const [name, v] of Object.entries(out.scalars ?? {})) scalars.push([name, await readScalar(name, iter, v)])
      const time = (performance.now() - started) / 1000
      if (!Number.isFinite(loss)) {
        endBar()
        const now = [['loss', loss] as const, ...scalars].map(([n, v]) => `${n} ${formatScalar(v)}`).join(', ')
        const checkpoint = save === undefined ? '' : lastSaved === undefined ? ' No checkpoint was saved in this run.' : ` The last checkpoint is from iteration ${lastSaved}.`
        fail('train', `the loss became ${loss} at iteration ${iter}; training stopped and this step's state was not saved.${checkpoint} This step: ${now}. Last finite values: ${describeLastFinite(lastFinite)}.`)
      }
      state = out.state
      const recorded: [string, number, boolean][] = [['loss', loss, true], ...scalars.map(([n, v]) => [n, v, true] as [string, number, boolean]), ['time', time, true], ['data_time', dataTime, true]]
      if (lr !== undefined) recorded.push(['lr', lr(iter), false])
      for (const [name, value, smooth] of recorded) {
        storage = putScalar(storage, name, value, smooth)
        if (Number.isFinite(value)) lastFinite.set(name, { value, iter })
      }
      await runHooks((h) => h.afterStep, iter)
      if (save !== undefined && ((checkpointPeriod !== undefined && (iter + 1) % checkpointPeriod === 0) || iter === maxIter - 1)) {
        await save(iter, state)
        lastSaved = iter
      }
      if ((iter + 1) % logPeriod === 0 || iter === maxIter - 1) {
        const fresh = Object.entries(latestWithSmoothing(storage, window)).filter(([, v]) => v.iter > lastWrite)
        const eta = etaSeconds(iter)
        const record = { iteration: iter, ...Object.fromEntries(fresh.map(([n, v]) => [n, v.value])), ...(iter < maxIter - 1 && Number.isFinite(eta) ? { eta_seconds: eta } : {}) } as MetricsRecord
        lastWrite = iter
        if (fd !== undefined) writeSync(fd, `${JSON.stringify(record)}\n`)
        for (const h of hooks) await h.onLog?.(record, context(iter))
        if (lines) {
          const { iteration: _, eta_seconds: __, ...values } = record
          output.write(`${metricsLine(iter, values, iter < maxIter - 1 ? eta : undefined)}\n`)
        }
      }
      if (bar) drawBar(iter, iter === maxIter - 1)
    }
    endBar()
    const last = Math.max(startIter, maxIter) - 1
    await runHooks((h) => h.afterTrain, last)
    return { state, iter: last, storage }
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** A hook that calls `fn` after every `period`-th iteration ((iter + 1) % period is 0), e.g. a periodic evaluation. */
export const every = <S>(period: number, fn: (ctx: HookContext<S>) => Maybe): Hook<S> => {
  positiveInteger('period', period)
  return { afterStep: (ctx) => ((ctx.iter + 1) % period === 0 ? fn(ctx) : undefined) }
}
