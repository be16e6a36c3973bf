/**
 * Detection speed: NMS (fovea against tfjs `tf.image.nonMaxSuppression`), multi-level ROIAlign, and the
 * RPN proposal step (workloads in ./detection-workloads.ts), on the CPU backends and on WebGPU (Dawn;
 * tfjs-backend-webgpu for tfjs) in one run. Every repetition includes reading the result back. Before
 * timing, the sides are compared: NMS indices must be identical (fovea cpu, fovea webgpu, tfjs cpu, tfjs
 * webgpu); ROIAlign and proposals are compared cpu vs webgpu (max |difference|). A workload whose fovea op
 * has not landed is recorded as missing.
 *
 *   npm run bench:detection -- [--only NMS,ROI,RPN] [--reps N] [--warmup N] [--out path.json | --out -]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname } from 'node:path'
import * as F from '../index.js'
import type { Tensor } from '../index.js'
import { type Timing, commandLine, formatTable, maxAbsDiff, parseCli, timeAsync } from './harness.js'
import { type AdapterInfo, installNavigatorGpu } from './gpu-setup.js'
import { IMAGE, clusteredHostBoxes, foveaNms, roiInputs, rpnInputs, rpnProposals } from './detection-workloads.js'

type Side = { readonly status: 'ok'; readonly medianMs: number; readonly minMs: number; readonly samplesMs: readonly number[] } | { readonly status: 'missing' | 'error'; readonly reason: string }
type Row = { readonly id: string; readonly title: string; readonly sides: Record<string, Side>; readonly agreement: Record<string, unknown>; readonly agree: boolean }

const argv = process.argv.slice(2)
const cli = parseCli(argv, { reps: 5, warmup: 1, out: 'bench/results/detection.json' })
const wanted = (id: string) => cli.only === null || cli.only.includes(id)
const round = (x: number) => Math.round(x * 1000) / 1000
const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300)

const timed = async (run: () => Promise<unknown>): Promise<Side> => {
  try {
    const t: Timing = await timeAsync(run, cli)
    return { status: 'ok', medianMs: round(t.medianMs), minMs: round(t.minMs), samplesMs: t.samplesMs.map(round) }
  } catch (e) {
    return { status: 'error', reason: reasonOf(e) }
  }
}

const sameInts = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((v, i) => v === b[i])

type Tf = typeof import('@tensorflow/tfjs-core')

/** tfjs-core with the cpu and (when an adapter exists) webgpu backends; tfjs's Node build needs `require`. */
const setUpTfjs = async (webgpu: boolean): Promise<Tf> => {
  const global = globalThis as { require?: NodeJS.Require }
  global.require ??= createRequire(import.meta.url)
  const tf = await import('@tensorflow/tfjs-core')
  await import('@tensorflow/tfjs-backend-cpu')
  if (webgpu) await import('@tensorflow/tfjs-backend-webgpu')
  tf.enableProdMode()
  return tf
}

/** tfjs NMS on `backend`: boxes as [y1, x1, y2, x2]; the async form reads inputs back where a backend has no sync read. */
const tfjsNms = async (tf: Tf, backend: string, boxes: Float32Array, scores: Float32Array, threshold: number) => {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs could not start its ${backend} backend`)
  await tf.ready()
  const n = scores.length
  const yxyx = new Float32Array(n * 4)
  for (let i = 0; i < n; i++) yxyx.set([boxes[4 * i + 1]!, boxes[4 * i]!, boxes[4 * i + 3]!, boxes[4 * i + 2]!], 4 * i)
  const b = tf.tensor2d(yxyx, [n, 4])
  const s = tf.tensor1d(scores)
  return async (): Promise<Int32Array> => {
    const kept = backend === 'cpu' ? tf.image.nonMaxSuppression(b, s, n, threshold) : await tf.image.nonMaxSuppressionAsync(b, s, n, threshold)
    const out = (await kept.data()) as Int32Array
    kept.dispose()
    return Int32Array.from(out)
  }
}

const nmsWorkload = async (tf: Tf | null, backends: readonly string[]): Promise<Row> => {
  const { boxes, scores } = clusteredHostBoxes(10_000, 400, 7)
  const sides: Record<string, Side> = {}
  const results: Record<string, Int32Array> = {}
  const measure = async (name: string, run: () => Promise<Int32Array>) => {
    try {
      results[name] = await run()
    } catch (e) {
      sides[name] = { status: 'error', reason: reasonOf(e) }
      return
    }
    sides[name] = await timed(run)
  }
  for (const b of backends) {
    await F.setBackend(b as 'cpu' | 'webgpu')
    await measure(`fovea ${b}`, foveaNms(F.tensor(boxes, { shape: [10_000, 4] }), F.tensor(scores), 0.5))
  }
  if (tf !== null) {
    for (const b of backends) await measure(`tfjs ${b}`, await tfjsNms(tf, b, boxes, scores, 0.5))
  }
  const reference = results['fovea cpu']
  const agreement = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { kept: v.length, sameIndicesAsFoveaCpu: reference !== undefined && sameInts(v, reference) }]))
  return { id: 'NMS', title: 'nms 10k clustered boxes, IoU 0.5', sides, agreement, agree: Object.values(agreement).every((a) => a.sameIndicesAsFoveaCpu) }
}

const roiWorkload = async (backends: readonly string[]): Promise<Row> => {
  const title = 'roiPooler 1000 boxes x 256 ch -> 7x7 from P2-P5 (ROIAlignV2)'
  let poolerOf: ((o: object) => (features: readonly Tensor[], boxes: readonly Tensor[]) => Tensor) | undefined
  try {
    // A variable specifier: the pooler may not have landed; then the workload is recorded as missing.
    const path = './../ops/detection/poolers.js'
    poolerOf = ((await import(path)) as { roiPooler?: typeof poolerOf }).roiPooler
  } catch {}
  if (poolerOf === undefined) {
    const missing: Side = { status: 'missing', reason: 'roiPooler has not landed in ops/detection/poolers.ts' }
    return { id: 'ROI', title, sides: Object.fromEntries(backends.map((b) => [`fovea ${b}`, missing])), agreement: {}, agree: true }
  }
  const pooler = poolerOf({ outputSize: 7, scales: [1 / 4, 1 / 8, 1 / 16, 1 / 32], samplingRatio: 0, type: 'ROIAlignV2' })
  const inputs = roiInputs(11)
  const sides: Record<string, Side> = {}
  const outs: Float32Array[] = []
  for (const b of backends) {
    await F.setBackend(b as 'cpu' | 'webgpu')
    const features = inputs.features.map((f) => F.tensor(f.data, { shape: f.shape }))
    const boxes = F.tensor(inputs.boxes, { shape: [1000, 4] })
    const run = async () => F.toArray(pooler(features, [boxes])) as Promise<Float32Array>
    try {
      outs.push(await run())
      sides[`fovea ${b}`] = await timed(run)
    } catch (e) {
      sides[`fovea ${b}`] = { status: 'error', reason: reasonOf(e) }
    }
  }
  const diff = outs.length === 2 ? maxAbsDiff([outs[0]!], [outs[1]!]) : null
  return { id: 'ROI', title, sides, agreement: { maxAbsDiffCpuWebgpu: diff }, agree: diff === null || diff < 1e-4 }
}

const rpnWorkload = async (backends: readonly string[]): Promise<Row> => {
  const inputs = rpnInputs(21)
  const sides: Record<string, Side> = {}
  const outs: { boxes: Float32Array; count: number }[] = []
  for (const b of backends) {
    await F.setBackend(b as 'cpu' | 'webgpu')
    const logits = inputs.logits.map((l) => F.tensor(l))
    const deltas = inputs.deltas.map((d) => F.tensor(d, { shape: [d.length / 4, 4] }))
    const run = async () => {
      const p = rpnProposals(logits, deltas)
      return { boxes: (await F.toArray(p.boxes)) as Float32Array, count: await F.item(p.count) }
    }
    try {
      outs.push(await run())
      sides[`fovea ${b}`] = await timed(run)
    } catch (e) {
      sides[`fovea ${b}`] = { status: 'error', reason: reasonOf(e) }
    }
  }
  const [a, b] = outs
  const agreement = a === undefined || b === undefined ? {} : { counts: [a.count, b.count], maxAbsDiffCpuWebgpu: maxAbsDiff([a.boxes], [b.boxes]) }
  const agree = a === undefined || b === undefined || (a.count === b.count && maxAbsDiff([a.boxes], [b.boxes]) < 1e-2)
  return { id: 'RPN', title: `proposals ${IMAGE.height}x${IMAGE.width}, P2-P6 x 3 anchors, top 1000/level, nms 0.7, keep 1000`, sides, agreement, agree }
}

const main = async (): Promise<void> => {
  const loadAtStart = os.loadavg().map(round)
  const backends: string[] = ['cpu']
  let adapter: AdapterInfo | null = null
  let foveaAdapter: string | null = null
  try {
    adapter = await installNavigatorGpu()
    await F.setBackend('webgpu')
    foveaAdapter = F.backendInfo().adapter ?? 'unknown'
    backends.push('webgpu')
    if (adapter.software) console.log('note: a software WebGPU adapter — webgpu timings are not GPU figures')
  } catch (e) {
    console.log(`no WebGPU (${reasonOf(e)}): cpu only`)
  }
  await F.setBackend('cpu')
  const tf = await setUpTfjs(backends.includes('webgpu')).catch((e) => (console.log(`tfjs unavailable: ${reasonOf(e)}`), null))
  const rows: Row[] = []
  if (wanted('NMS')) rows.push(await nmsWorkload(tf, backends))
  if (wanted('ROI')) rows.push(await roiWorkload(backends))
  if (wanted('RPN')) rows.push(await rpnWorkload(backends))

  const names = [...new Set(rows.flatMap((r) => Object.keys(r.sides)))]
  const cell = (s: Side | undefined) => (s === undefined ? '-' : s.status === 'ok' ? `${s.medianMs.toFixed(1)} / ${s.minMs.toFixed(1)}` : s.status)
  console.log(`\n${formatTable(['workload', ...names, 'agree'], rows.map((r) => [`${r.id} ${r.title}`, ...names.map((n) => cell(r.sides[n])), r.agree ? 'yes' : 'NO']))}`)
  console.log('ms, median / min over the timed reps, readback included')
  if (cli.out !== null) {
    const report = {
      benchmark: 'detection', date: new Date().toISOString(), adapter, foveaAdapter, node: process.version,
      platform: `${os.platform()} ${os.arch()}`, cpu: os.cpus()[0]?.model ?? 'unknown', cpuCount: os.cpus().length,
      loadAverageAtStart: loadAtStart, tfjs: tf?.version_core ?? null, warmup: cli.warmup, reps: cli.reps,
      command: commandLine('bench/detection.ts', argv), workloads: rows,
    }
    mkdirSync(dirname(cli.out), { recursive: true })
    writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`wrote ${cli.out}`)
  }
  if (rows.some((r) => !r.agree || Object.values(r.sides).some((s) => s.status === 'error'))) process.exitCode = 1
}

await main()
