/**
 * fovea's CPU backend against the pure-JS peer, @tensorflow/tfjs-backend-cpu, on the workloads in
 * ./workloads.ts. Checks that both libraries agree, then times each side (warm-up, then N repetitions,
 * each including the readback) and writes bench/results/cpu-vs-tfjs.json.
 *
 *   npm run bench -- [--only W1,W3] [--reps N] [--warmup N] [--out path.json | --out -]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import * as F from '../index.js'
import { type Timing, commandLine, formatTable, maxAbs, maxAbsDiff, parseCli, timeAsync } from './harness.js'
import { setUpTfjsCpu } from './tfjs-setup.js'
import { workloads } from './workloads.js'

type Result = {
  readonly id: string
  readonly title: string
  readonly maxAbsDiff: number
  readonly maxAbsValue: number
  readonly agree: boolean
  readonly fovea: { readonly medianMs: number; readonly minMs: number; readonly samplesMs: readonly number[] }
  readonly tfjs: { readonly medianMs: number; readonly minMs: number; readonly samplesMs: readonly number[] }
  /** tfjs median / fovea median: above 1 means fovea is faster. */
  readonly ratio: number
  readonly ratioOfMins: number
}

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
// A partial run (--only) writes beside the full results instead of replacing them.
const onlyIds = parseCli(argv, { reps: 1, warmup: 0, out: '' }).only
const defaultOut = resolve(here, onlyIds === null ? 'results/cpu-vs-tfjs.json' : `results/cpu-vs-tfjs.only-${onlyIds.join('-')}.json`)
const cli = parseCli(argv, { reps: 10, warmup: 2, out: defaultOut })

const ms = (t: Timing) => ({ medianMs: round(t.medianMs), minMs: round(t.minMs), samplesMs: t.samplesMs.map((x) => round(x, 1)) })
const round = (x: number, digits = 2) => Number(x.toFixed(digits))

const main = async (): Promise<void> => {
  // Other processes on the machine skew every number; the load at the start says how busy it was.
  const loadAtStart = os.loadavg().map((x) => round(x))
  await F.setBackend('cpu')
  await setUpTfjsCpu()
  const unknown = (cli.only ?? []).filter((id) => !workloads.some((w) => w.id === id))
  if (unknown.length > 0) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${workloads.map((w) => w.id).join(', ')}`)
  const selected = workloads.filter((w) => cli.only === null || cli.only.includes(w.id))
  console.log(`fovea cpu vs tfjs-backend-cpu ${tf.version_core}: node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'}, warm-up ${cli.warmup}, reps ${cli.reps}`)

  const results: Result[] = []
  for (const w of selected) {
    const { fovea, tfjs } = w.prepare()
    const fOut = await fovea.run()
    const tOut = await tfjs.run()
    const diff = maxAbsDiff(fOut, (tfjs.canonical ?? ((o) => o))(tOut))
    const scale = maxAbs(fOut)
    const agree = diff <= w.tolerance * Math.max(scale, 1)
    console.log(`${w.id} ${w.title}: max |fovea - tfjs| = ${diff.toExponential(2)} (max |value| ${scale.toPrecision(3)})${agree ? '' : '  MISMATCH'}`)
    const tensorsBefore = tf.memory().numTensors
    const f = await timeAsync(fovea.run, cli)
    const t = await timeAsync(tfjs.run, cli)
    const leaked = tf.memory().numTensors - tensorsBefore
    if (leaked !== 0) console.log(`  warning: tfjs tensor count grew by ${leaked} during timing`)
    tfjs.dispose?.()
    results.push({
      id: w.id, title: w.title, maxAbsDiff: diff, maxAbsValue: scale, agree,
      fovea: ms(f), tfjs: ms(t), ratio: round(t.medianMs / f.medianMs, 3), ratioOfMins: round(t.minMs / f.minMs, 3),
    })
    console.log(`  fovea ${f.medianMs.toFixed(1)} ms (min ${f.minMs.toFixed(1)}), tfjs ${t.medianMs.toFixed(1)} ms (min ${t.minMs.toFixed(1)})`)
  }

  console.log()
  console.log(formatTable(
    ['workload', 'fovea median', 'fovea min', 'tfjs median', 'tfjs min', 'tfjs/fovea', 'agree'],
    results.map((r) => [
      `${r.id} ${r.title}`, `${r.fovea.medianMs.toFixed(1)} ms`, `${r.fovea.minMs.toFixed(1)} ms`,
      `${r.tfjs.medianMs.toFixed(1)} ms`, `${r.tfjs.minMs.toFixed(1)} ms`, `${r.ratio.toFixed(2)}x`, r.agree ? 'yes' : 'NO',
    ]),
  ))
  if (cli.out !== null) {
    const report = {
      benchmark: 'cpu-vs-tfjs',
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpuCount: os.cpus().length,
      loadAverageAtStart: loadAtStart,
      tfjs: tf.version_core,
      warmup: cli.warmup,
      reps: cli.reps,
      command: commandLine('bench/cpu-vs-tfjs.ts', argv),
      workloads: results,
    }
    mkdirSync(dirname(cli.out), { recursive: true })
    writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`\nwrote ${cli.out}`)
  }
  if (results.some((r) => !r.agree)) process.exitCode = 1
}

await main()
