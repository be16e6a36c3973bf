/**
 * Timing and comparison helpers shared by the benchmarks. A repetition is one call of an async `run`
 * that must include reading the result back to the host, so work a backend defers (tfjs data(), a
 * queued GPU command buffer) is always inside the measured interval.
 */
import { performance } from 'node:perf_hooks'
import { collector } from '../core/backend/webgpu/pressure.js'

export type Timing = { readonly medianMs: number; readonly minMs: number; readonly samplesMs: readonly number[] }

export type TimingOptions = { readonly warmup: number; readonly reps: number }

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * A full collection between repetitions keeps one run's garbage (a peer's 16 MiB readbacks) out of the
 * next run's time; without it a major GC lands inside whichever repetition is running (seen: 25 → 97 ms).
 * Obtained as fovea's GPU-pressure collector is, so no --expose-gc flag is needed.
 */
export const collect = (): void => collector()?.()

/** Runs `run` `warmup` times untimed, then `reps` times timed; returns median and min in ms. */
export const timeAsync = async (run: () => Promise<unknown>, { warmup, reps }: TimingOptions): Promise<Timing> => {
  for (let i = 0; i < warmup; i++) await run()
  const samplesMs: number[] = []
  for (let i = 0; i < reps; i++) {
    collect()
    const t0 = performance.now()
    await run()
    samplesMs.push(performance.now() - t0)
  }
  return { medianMs: median(samplesMs), minMs: Math.min(...samplesMs), samplesMs }
}

/** Largest |a[i] - b[i]| over paired arrays (Infinity when lengths differ or a value is NaN). */
export const maxAbsDiff = (as: readonly Float32Array[], bs: readonly Float32Array[]): number => {
  if (as.length !== bs.length) return Infinity
  let worst = 0
  as.forEach((a, k) => {
    const b = bs[k]!
    if (a.length !== b.length) worst = Infinity
    for (let i = 0; i < a.length && worst !== Infinity; i++) {
      const d = Math.abs(a[i]! - b[i]!)
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d
    }
  })
  return worst
}

/** Largest |x| over the arrays, to put an absolute difference in scale. */
export const maxAbs = (xs: readonly Float32Array[]): number =>
  xs.reduce((m, x) => x.reduce((a, v) => Math.max(a, Math.abs(v)), m), 0)

/**
 * Permutes the axes of a row-major host array (out axis i = in axis perm[i]). Used to move between
 * layouts (NCHW ↔ NHWC, OIHW ↔ HWIO) outside any timed region.
 */
export const permuteHost = (data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array => {
  const r = shape.length
  const inStrides = new Array<number>(r)
  for (let i = r - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s
    s *= shape[i]!
  }
  const outShape = perm.map((p) => shape[p]!)
  const strides = perm.map((p) => inStrides[p]!)
  const out = new Float32Array(data.length)
  const idx = new Array<number>(r).fill(0)
  let src = 0
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!
    for (let ax = r - 1; ax >= 0; ax--) {
      idx[ax]!++
      src += strides[ax]!
      if (idx[ax]! < outShape[ax]!) break
      src -= strides[ax]! * outShape[ax]!
      idx[ax] = 0
    }
  }
  return out
}

/**
 * Deterministic uniform floats in [lo, hi) from a 32-bit seed (mulberry32), so both libraries see
 * exactly the same inputs and a rerun sees the same ones as the last.
 */
export const uniformHost = (seed: number, n: number, lo = -1, hi = 1): Float32Array => {
  let s = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296
    out[i] = lo + (hi - lo) * u
  }
  return out
}

/**
 * The command line that reproduces this run: the FOVEA_* settings in the environment (backend, eager
 * fusion, GPU wait), then `tsx <script> <args>`.
 */
export const commandLine = (script: string, argv: readonly string[]): string => {
  const settings = Object.keys(process.env).filter((k) => k.startsWith('FOVEA_')).sort().map((k) => `${k}=${process.env[k]}`)
  return [...settings, 'tsx', script, ...argv].join(' ')
}

export type CliOptions = { readonly only: readonly string[] | null; readonly reps: number; readonly warmup: number; readonly out: string | null }

/** `--only W1,W3`, `--reps N`, `--warmup N`, `--out path.json` (`--out -` writes no file). */
export const parseCli = (argv: readonly string[], defaults: { reps: number; warmup: number; out: string }): CliOptions => {
  const value = (flag: string): string | undefined => {
    const eq = argv.find((a) => a.startsWith(`${flag}=`))
    if (eq !== undefined) return eq.slice(flag.length + 1)
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const count = (flag: string, fallback: number): number => {
    const v = value(flag)
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} expects a non-negative integer, got ${JSON.stringify(v)}`)
    return n
  }
  const only = value('--only')
  const out = value('--out') ?? defaults.out
  const reps = count('--reps', defaults.reps)
  if (reps < 1) throw new Error('--reps must be at least 1')
  return {
    only: only === undefined ? null : only.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''),
    reps,
    warmup: count('--warmup', defaults.warmup),
    out: out === '-' ? null : out,
  }
}

/** A plain text table with right-aligned columns after the first. */
export const formatTable = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}
