/**
 * fovea's WebGPU backend against the WebGPU peers — @tensorflow/tfjs-backend-webgpu and jax-js (webgpu)
 * — in Node on Dawn, on one adapter, over the workloads in ./gpu-workloads.ts (W1–W5). Checks that the
 * libraries agree (max |a − b| against fovea, or against the first peer when fovea cannot run a
 * workload), then times the sides in interleaved rounds (warm-up, then N repetitions, each including
 * the readback) and writes bench/results/gpu-vs-peers.json. A fovea workload that needs a primitive
 * without a WebGPU lowering is recorded as missing, with the reason, and the peers are still measured.
 * fovea runs eager and jitted (`foveajit`, the workload's function under `F.jit`). Peers by default:
 * tfjs and jax-js eager (`jax`); `jaxjit` adds jax-js with each workload's function under `jax.jit`.
 *
 *   npm run bench:gpu -- [--only W1,W5] [--reps N] [--warmup N] [--peers tfjs,jax,jaxjit] [--out path.json | --out -]
 *
 * One self-contained entry (plus imports, no Python): the remote-GPU packer bundles it with esbuild, and
 * there `--out $OUT/gpu-vs-peers.json` puts the results where they come back.
 */
// First: a global `require` for CommonJS dependencies once this entry is bundled as ESM (see the file).
import './gpu-bundle-require.js'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import * as F from '../index.js'
import { collect, commandLine, formatTable, maxAbs, maxAbsDiff, parseCli } from './harness.js'
import { type AdapterInfo, type PeerName, installNavigatorGpu, setUpJaxWebgpu, setUpTfjsWebgpu } from './gpu-setup.js'
import { type GpuSide, type GpuWorkload, type Libraries, type LibraryName, gpuWorkloads } from './gpu-workloads.js'

/** How one library fared on one workload. */
type SideResult =
  | { readonly status: 'ok'; readonly medianMs: number; readonly minMs: number; readonly samplesMs: readonly number[]; readonly leak?: string }
  | { readonly status: 'missing'; readonly reason: string }
  | { readonly status: 'error'; readonly reason: string }
  | { readonly status: 'skipped'; readonly reason: string }

type Result = {
  readonly id: string
  readonly title: string
  readonly tolerance: number
  readonly toleranceWhy: string
  /** The library the others are compared with: fovea when it ran, else the first peer that did. */
  readonly reference: LibraryName | null
  /** max |reference − library| per compared library, and max |reference value| for scale. */
  readonly maxAbsDiff: Partial<Record<LibraryName, number>>
  readonly maxAbsValue: number | null
  readonly agree: boolean
  /** Per library: timings, or why it has none. */
  readonly sides: Record<LibraryName, SideResult>
  /** Peer median / fovea median (above 1: fovea is faster); absent when either side did not run. */
  readonly ratio: Partial<Record<Peer, number>>
  readonly ratioOfMins: Partial<Record<Peer, number>>
  /** Peer median / jitted fovea median. */
  readonly ratioJit: Partial<Record<Peer, number>>
  readonly ratioOfMinsJit: Partial<Record<Peer, number>>
}

/** A peer as measured: `jaxjit` is jax-js with each workload's function under `jax.jit`. */
type Peer = Exclude<LibraryName, 'fovea' | 'foveajit'>

const allPeers: readonly Peer[] = ['tfjs', 'jax', 'jaxjit']
/** What runs without --peers: tfjs and jax-js eager; `jaxjit` is opt-in to keep a software-adapter run short. */
const defaultPeers: readonly Peer[] = ['tfjs', 'jax']
/** fovea runs eager (`fovea`) and with the workload's function under `F.jit` (`foveajit`). */
const libraries: readonly LibraryName[] = ['fovea', 'foveajit', ...allPeers]
const peerPackage = (p: Peer): PeerName => (p === 'tfjs' ? 'tfjs' : 'jax')

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)

const peersFromCli = (): readonly Peer[] => {
  const i = argv.findIndex((a) => a === '--peers' || a.startsWith('--peers='))
  if (i < 0) return defaultPeers
  const text = argv[i]!.includes('=') ? argv[i]!.slice('--peers='.length) : argv[i + 1] ?? ''
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '' && s !== 'none')
  const unknown = names.filter((s) => !allPeers.includes(s as Peer))
  if (unknown.length > 0) throw new Error(`--peers: unknown peer(s) ${unknown.join(', ')}; known: ${allPeers.join(', ')} (or none)`)
  return allPeers.filter((p) => names.includes(p))
}

const peers = peersFromCli()
// A partial run (--only, --peers) writes beside the full results instead of replacing them.
const onlyIds = parseCli(argv, { reps: 1, warmup: 0, out: '' }).only
const defaultPeerSet = peers.length === defaultPeers.length && peers.every((p) => defaultPeers.includes(p))
const suffix = [onlyIds === null ? '' : `.only-${onlyIds.join('-')}`, defaultPeerSet ? '' : `.peers-${peers.join('-') || 'none'}`].join('')
const cli = parseCli(argv, { reps: 7, warmup: 1, out: resolve(here, `results/gpu-vs-peers${suffix}.json`) })

const round = (x: number, digits = 2) => Number(x.toFixed(digits))
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!

/** A fovea primitive with no WebGPU lowering yet is a gap in fovea, not a failure of the benchmark. */
const isMissingLowering = (lib: LibraryName, e: unknown) => lib === 'fovea' && /has no WebGPU lowering/.test(message(e))

/** Exact versions when node_modules is there (tsx); a bundle carries no package.json. */
const packageVersion = (name: string): string => {
  try {
    const require = createRequire(import.meta.url)
    let dir = dirname(require.resolve(name))
    while (dir !== dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
        if (pkg.name === name) return pkg.version ?? 'unknown'
      } catch { /* keep climbing */ }
      dir = dirname(dir)
    }
  } catch { /* bundled */ }
  return 'bundled'
}

/** A side that built and passed its first run: its outputs for the agreement check and its samples so far. */
type Live = { readonly lib: LibraryName; readonly side: GpuSide; readonly first: Float32Array[]; readonly samplesMs: number[] }

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * Builds every side and runs it once (its output is the agreement check; the run also compiles its
 * kernels), then warms up and times the sides in rounds — repetition r runs every side once, starting
 * at a rotating one — so a change in machine load (other processes on a shared host) falls on all
 * libraries alike instead of on whichever ran during it.
 */
const measureSides = async (builders: ReadonlyArray<readonly [LibraryName, () => GpuSide]>): Promise<{ live: Live[]; failed: Map<LibraryName, SideResult> }> => {
  const failed = new Map<LibraryName, SideResult>()
  const fail = (lib: LibraryName, e: unknown, side?: GpuSide) => {
    failed.set(lib, { status: isMissingLowering(lib, e) ? 'missing' : 'error', reason: message(e) })
    try { side?.dispose() } catch { /* a failed side may hold nothing */ }
  }
  let live: Live[] = []
  for (const [lib, build] of builders) {
    let side: GpuSide | undefined
    try {
      side = build()
      const outs = await side.run()
      live.push({ lib, side, first: (side.canonical ?? ((o) => o))(outs), samplesMs: [] })
    } catch (e) {
      fail(lib, e, side)
    }
  }
  const runRound = async (timed: boolean, r: number) => {
    const order = live.map((_, k) => live[(k + r) % live.length]!)
    for (const l of order) {
      try {
        collect()
        const t0 = performance.now()
        await l.side.run()
        if (timed) l.samplesMs.push(performance.now() - t0)
      } catch (e) {
        fail(l.lib, e, l.side)
        live = live.filter((x) => x !== l)
      }
    }
  }
  for (let r = 0; r < cli.warmup; r++) await runRound(false, r)
  for (let r = 0; r < cli.reps; r++) await runRound(true, r)
  return { live, failed }
}

const runWorkload = async (w: GpuWorkload, libs: Libraries): Promise<Result> => {
  const builders = w.prepare()
  const selected = libraries.filter((l) => l === 'fovea' || l === 'foveajit' || peers.includes(l as Peer))
  const { live, failed } = await measureSides(selected.map((lib) => [lib, () =>
    lib === 'fovea' || lib === 'foveajit' ? builders.fovea(libs, lib === 'foveajit') : lib === 'tfjs' ? builders.tfjs(libs) : builders.jax(libs, lib === 'jaxjit')] as const))
  const sides = {} as Record<LibraryName, SideResult>
  for (const lib of libraries) {
    const l = live.find((x) => x.lib === lib)
    if (l !== undefined) {
      const leak = l.side.leak()
      l.side.dispose()
      const samplesMs = l.samplesMs.map((x) => round(x, 1))
      sides[lib] = { status: 'ok', medianMs: round(median(l.samplesMs)), minMs: round(Math.min(...l.samplesMs)), samplesMs, ...(leak === undefined ? {} : { leak }) }
    } else sides[lib] = failed.get(lib) ?? { status: 'skipped', reason: 'not in --peers' }
    const s = sides[lib]
    if (s.status === 'ok') console.log(`  ${lib.padEnd(8)} ${s.medianMs.toFixed(1)} ms (min ${s.minMs.toFixed(1)})${s.leak === undefined ? '' : `  warning: ${s.leak}`}`)
    else if (s.status !== 'skipped') console.log(`  ${lib.padEnd(8)} ${s.status}: ${s.reason}`)
  }
  const reference = live[0]?.lib ?? null
  const refOut = live[0]?.first ?? null
  const scale = refOut === null ? null : maxAbs(refOut)
  const diffs: Partial<Record<LibraryName, number>> = {}
  for (const l of live.slice(1)) {
    diffs[l.lib] = maxAbsDiff(refOut!, l.first)
    console.log(`  max |${reference} - ${l.lib}| = ${diffs[l.lib]!.toExponential(2)} (max |value| ${scale!.toPrecision(3)})`)
  }
  const agree = Object.values(diffs).every((d) => d <= w.tolerance * Math.max(scale ?? 1, 1))
  if (!agree) console.log(`  MISMATCH: tolerance ${w.tolerance} × max(1, max |value|)`)
  const ratiosTo = (f: SideResult) => {
    const ratio: Partial<Record<Peer, number>> = {}
    const ofMins: Partial<Record<Peer, number>> = {}
    for (const p of allPeers) {
      const s = sides[p]
      if (f.status !== 'ok' || s.status !== 'ok') continue
      ratio[p] = round(s.medianMs / f.medianMs, 3)
      ofMins[p] = round(s.minMs / f.minMs, 3)
    }
    return [ratio, ofMins] as const
  }
  const [ratio, ratioOfMins] = ratiosTo(sides.fovea)
  const [ratioJit, ratioOfMinsJit] = ratiosTo(sides.foveajit)
  return { id: w.id, title: w.title, tolerance: w.tolerance, toleranceWhy: w.toleranceWhy, reference, maxAbsDiff: diffs, maxAbsValue: scale, agree, sides, ratio, ratioOfMins, ratioJit, ratioOfMinsJit }
}

const cell = (s: SideResult, pick: 'medianMs' | 'minMs') => (s.status === 'ok' ? `${s[pick].toFixed(1)}` : s.status)
const ratioCell = (r: number | undefined) => (r === undefined ? '-' : `${r.toFixed(2)}x`)

const main = async (): Promise<void> => {
  const loadAtStart = os.loadavg().map((x) => round(x))
  const adapter: AdapterInfo = await installNavigatorGpu()
  console.log(`adapter (navigator.gpu, high-performance): ${JSON.stringify(adapter)}`)
  if (adapter.software) console.log('  note: a software adapter — these timings are not GPU figures')
  await F.setBackend('webgpu')
  const foveaAdapter = F.backendInfo().adapter ?? 'unknown'
  console.log(`fovea adapter: ${foveaAdapter}`)

  const libs: Libraries = {
    tf: peers.includes('tfjs') ? await setUpTfjsWebgpu() : null,
    jax: peers.some((p) => peerPackage(p) === 'jax') ? await setUpJaxWebgpu() : null,
  }
  const versions = {
    tfjs: libs.tf === null ? null : libs.tf.version_core,
    jax: libs.jax === null ? null : packageVersion('@jax-js/jax'),
    webgpu: packageVersion('webgpu'),
  }
  const unknown = (cli.only ?? []).filter((id) => !gpuWorkloads.some((w) => w.id === id))
  if (unknown.length > 0) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${gpuWorkloads.map((w) => w.id).join(', ')}`)
  const selected = gpuWorkloads.filter((w) => cli.only === null || cli.only.includes(w.id))
  console.log(`fovea webgpu vs ${peers.length === 0 ? 'no peers' : peers.join(', ')} (tfjs ${versions.tfjs ?? '-'}, jax-js ${versions.jax ?? '-'}): node ${process.version}, warm-up ${cli.warmup}, reps ${cli.reps}`)

  const results: Result[] = []
  for (const w of selected) {
    console.log(`${w.id} ${w.title}`)
    results.push(await runWorkload(w, libs))
  }

  console.log()
  const shown: readonly LibraryName[] = ['fovea', 'foveajit', ...peers]
  console.log(formatTable(
    ['workload', ...shown.map((l) => `${l} med`), ...peers.map((p) => `${p}/fovea`), ...peers.map((p) => `${p}/foveajit`), 'agree'],
    results.map((r) => [
      `${r.id} ${r.title}`,
      ...shown.map((l) => cell(r.sides[l], 'medianMs')),
      ...peers.map((p) => ratioCell(r.ratio[p])),
      ...peers.map((p) => ratioCell(r.ratioJit[p])),
      r.agree ? 'yes' : 'NO',
    ]),
  ))
  console.log('times in ms (median over the timed reps, readback included; minima in the JSON); ratio = peer median / fovea median (eager or jitted), above 1 = fovea faster')

  if (cli.out !== null) {
    const report = {
      benchmark: 'gpu-vs-peers',
      date: new Date().toISOString(),
      adapter,
      foveaAdapter,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpuCount: os.cpus().length,
      loadAverageAtStart: loadAtStart,
      versions,
      peers,
      warmup: cli.warmup,
      reps: cli.reps,
      command: commandLine('bench/gpu-vs-peers.ts', argv),
      workloads: results,
    }
    mkdirSync(dirname(cli.out), { recursive: true })
    writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`\nwrote ${cli.out}`)
  }
  // Missing fovea lowerings are expected while kernels land; disagreement and crashes are not.
  if (results.some((r) => !r.agree || libraries.some((l) => r.sides[l].status === 'error'))) process.exitCode = 1
}

await main()
