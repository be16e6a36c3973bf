/**
 * WebGPU reductions. The reduced axes are moved last (a strided copy when they are not already
 * trailing); then each output element folds one contiguous row: one workgroup per row with a shared-memory
 * tree when rows are long, one invocation per row when they are short — or when there are so many rows
 * that one invocation each already fills the GPU: a workgroup per 64-element row idles three quarters of
 * its invocations at every barrier (on lavapipe, 66,000 rows of 64 took 13 s that way and 5–20 ms with
 * one invocation per row). When a few very long rows would leave most of the GPU idle (a full reduction
 * to a scalar), each row is first cut into chunks folded by separate workgroups into a scratch array of
 * accumulators, which a second pass folds. When the reduced axes are one run followed by kept axes (a
 * bias gradient summing [batch, features] over the batch), no copy is made: one invocation per output
 * element walks its column with the kept extent as stride, neighbouring invocations reading neighbouring
 * elements. The fold is given as WGSL snippets, so sum, max, min, prod, all and any share this code.
 */
import type { DType } from '../../core/dtype.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Aval } from '../../core/tensor.js'
import { stridedGatherGpu } from '../shape/wgsl.js'
import { grid1d, keyedSourceMemo, main1d, mathHelpers, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import { stridesOf } from '../../core/shape.js'

export type FoldSpec = {
  /** Short name used in the shader label and cache key. */
  readonly name: string
  /** WGSL type of the accumulator: f32, i32 or u32. */
  readonly acc: 'f32' | 'i32' | 'u32'
  /** Identity value (WGSL expression). */
  readonly init: string
  /** Combines accumulator `x` and value `y` (WGSL expression; both of type `acc`). */
  readonly combine: string
  /** Converts an input element `v` to the accumulator type. */
  readonly load: string
  /** Converts the final accumulator `x` to the output type (default: `x`). */
  readonly store?: string
}

const TREE = 256
/** Rows at least this long get a workgroup each (see `groupPerRow`); shorter rows one invocation each. */
export const LONG_ROW = 64
/** From this many rows, rows shorter than VERY_LONG_ROW get one invocation each. */
export const MANY_ROWS = 32768
export const VERY_LONG_ROW = 1024
/** Rows at least this long are split into chunks when there are fewer than SPLIT_ROWS of them. */
export const SPLIT_LENGTH = 8192
export const SPLIT_ROWS = 256
/** Elements per chunk of a split row (16 per invocation of a 256-wide workgroup). */
export const CHUNK = 4096

/** The dtype whose storage holds an accumulator of WGSL type `acc` (bool is stored as u32). */
export const accDType = (acc: FoldSpec['acc']): DType => (acc === 'f32' ? 'float32' : acc === 'i32' ? 'int32' : 'bool')

// Uniform words: [rows, len, chunkLen, chunks]. Workgroup g folds chunk g % chunks of row g / chunks,
// elements [c·chunkLen, min(len, (c+1)·chunkLen)), and writes O[g]; unsplit rows have chunks = 1.
const rowPerGroup = (spec: FoldSpec, inT: DType, outT: DType) => `${uniformBlock}
${mathHelpers}
${storageBindings([['X', inT]], [['O', outT]])}
var<workgroup> part: array<${spec.acc}, ${TREE}>;
fn combine(x: ${spec.acc}, y: ${spec.acc}) -> ${spec.acc} { return ${spec.combine}; }
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let len = u(1u);
  let chunkLen = u(2u);
  let chunks = u(3u);
  let row = g / chunks;
  let begin = (g % chunks) * chunkLen;
  let end = min(len, begin + chunkLen);
  var a: ${spec.acc} = ${spec.init};
  if (row < u(0u)) {
    for (var j = begin + tid; j < end; j += ${TREE}u) { let v = X[row * len + j]; a = combine(a, ${spec.load}); }
  }
  part[tid] = a;
  workgroupBarrier();
  for (var s = ${TREE / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] = combine(part[tid], part[tid + s]); }
    workgroupBarrier();
  }
  if (tid == 0u && row < u(0u)) { let x = part[0]; O[g] = ${spec.store ?? 'x'}; }
}`

// Uniform words: [count, length, inner]. Invocation i folds x viewed as [outer, length, inner] at
// (i / inner, ·, i % inner); a short row is the case inner = 1.
const walkPerThread = (spec: FoldSpec, inT: DType, outT: DType) => `${uniformBlock}
${mathHelpers}
${storageBindings([['X', inT]], [['O', outT]])}
fn combine(x: ${spec.acc}, y: ${spec.acc}) -> ${spec.acc} { return ${spec.combine}; }
${main1d()}
  if (idx >= u(0u)) { return; }
  let len = u(1u);
  let inner = u(2u);
  var p = (idx / inner) * len * inner + idx % inner;
  var a: ${spec.acc} = ${spec.init};
  for (var j = 0u; j < len; j++) { let v = X[p]; a = combine(a, ${spec.load}); p += inner; }
  let x = a;
  O[idx] = ${spec.store ?? 'x'};
}`

/** From this many output elements (or for columns up to this long) a column reduction walks in place. */
export const MANY_COLUMNS = 256
export const SHORT_COLUMN = 1024

/**
 * `x` viewed as [outer, length, inner] with `axes` the middle extent, when the reduced axes (ignoring
 * size-1 axes) form one run followed by kept axes (inner > 1); else undefined.
 */
export const columnView = (shape: readonly number[], axes: readonly number[]): { outer: number; length: number; inner: number } | undefined => {
  const reduced = axes.filter((a) => shape[a] !== 1)
  if (reduced.length === 0) return undefined
  const [first, last] = [reduced[0]!, reduced.at(-1)!]
  const keptSize = (from: number, to: number) => shape.slice(from, to).reduce((p, d, i) => (axes.includes(from + i) ? p : p * d), 1)
  if (keptSize(first, last + 1) !== 1) return undefined
  const inner = keptSize(last + 1, shape.length)
  if (inner === 1) return undefined
  return { outer: keptSize(0, first), length: reduced.reduce((p, a) => p * shape[a]!, 1), inner }
}

/** Lays `x` out with `axes` last; returns it viewed as `[rows, length]`. */
export const rowsLast = (ctx: GpuContext, op: string, x: GpuArray, axes: readonly number[]): { rows: GpuArray; count: number; length: number } => {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i))
  const perm = [...kept, ...axes]
  const length = axes.reduce((a, ax) => a * x.shape[ax]!, 1)
  const count = kept.reduce((a, ax) => a * x.shape[ax]!, 1)
  if (perm.every((p, i) => p === i)) return { rows: ctx.reshape(x, [count, length]), count, length }
  const strides = stridesOf(x.shape)
  const moved = stridedGatherGpu(ctx, op, x, { shape: perm.map((p) => x.shape[p]!), dtype: x.dtype }, perm.map((p) => strides[p]!))
  return { rows: ctx.reshape(moved, [count, length]), count, length }
}

/** Whether `count` rows of `length` are folded by a workgroup each (else by one invocation each). */
export const groupPerRow = (count: number, length: number): boolean =>
  length >= LONG_ROW && (count < MANY_ROWS || length >= VERY_LONG_ROW)

/** How many chunks each of `count` rows of `length` is cut into (1: not split). */
export const chunksFor = (count: number, length: number): number =>
  count < SPLIT_ROWS && length >= SPLIT_LENGTH ? Math.ceil(length / CHUNK) : 1

const sources = keyedSourceMemo()
const foldKey = (s: FoldSpec): string => `${s.acc}|${s.init}|${s.combine}|${s.load}|${s.store ?? 'x'}`

/** Folds each row of `rows: [count, length]` into `o: [count]` (one pass, rows not split). */
const foldRows = (ctx: GpuContext, label: string, spec: FoldSpec, rows: GpuArray, o: GpuArray, count: number, length: number): void => {
  const long = groupPerRow(count, length)
  ctx.dispatch({
    name: label,
    code: sources(`${foldKey(spec)}|${rows.dtype}|${o.dtype}|${long ? 'group' : 'walk'}`, () => (long ? rowPerGroup(spec, rows.dtype, o.dtype) : walkPerThread(spec, rows.dtype, o.dtype))),
    inputs: [rows],
    outputs: [o],
    uniforms: long ? [count, length, length, 1] : [count, length, 1],
    workgroups: long ? grid1d(ctx, count, 1) : grid1d(ctx, count),
  })
}

/** Folds `x` over `axes` into an array of `out`. */
export const reduceGpu = (ctx: GpuContext, op: string, spec: FoldSpec, x: GpuArray, axes: readonly number[], out: Aval): GpuArray => {
  const label = `${op}(${spec.name})`
  const columns = columnView(x.shape, axes)
  if (columns !== undefined && (columns.outer * columns.inner >= MANY_COLUMNS || columns.length <= SHORT_COLUMN)) {
    const o = ctx.alloc(out)
    const count = columns.outer * columns.inner
    ctx.dispatch({
      name: `${label}.columns`,
      code: sources(`${foldKey(spec)}|${x.dtype}|${o.dtype}|walk`, () => walkPerThread(spec, x.dtype, o.dtype)),
      inputs: [x],
      outputs: [o],
      uniforms: [count, columns.length, columns.inner],
      workgroups: grid1d(ctx, count),
    })
    return o
  }
  const { rows, count, length } = rowsLast(ctx, op, x, axes)
  const o = ctx.alloc(out)
  if (count === 0) return o
  const chunks = chunksFor(count, length)
  if (chunks === 1) {
    foldRows(ctx, label, spec, rows, o, count, length)
    return o
  }
  // Pass 1 keeps the raw accumulators (no store); pass 2 folds them with the identity load.
  const partial = ctx.alloc({ shape: [count, chunks], dtype: accDType(spec.acc) })
  ctx.dispatch({
    name: `${label}.chunks`,
    code: rowPerGroup({ ...spec, store: 'x' }, rows.dtype, partial.dtype),
    inputs: [rows],
    outputs: [partial],
    uniforms: [count, length, Math.ceil(length / chunks), chunks],
    workgroups: grid1d(ctx, count * chunks, 1),
  })
  foldRows(ctx, label, { ...spec, load: 'v' }, partial, o, count, chunks)
  return o
}

/** The sum fold for a dtype (accumulates in the dtype itself). */
export const sumFold = (d: DType): FoldSpec => ({ name: 'sum', acc: d === 'float32' ? 'f32' : 'i32', init: d === 'float32' ? '0.0' : '0', combine: 'x + y', load: 'v' })

/**
 * max or min. Float: NaN propagates through `maxf_`/`minf_` (bit-level tests, since the driver may assume
 * no NaNs) and the identity ∓Inf is built at run time (WGSL rejects an infinite constant).
 */
export const extremumFold = (which: 'max' | 'min', d: DType): FoldSpec =>
  d === 'float32'
    ? { name: which, acc: 'f32', init: which === 'max' ? 'inf_(-1.0)' : 'inf_(1.0)', combine: `${which}f_(x, y)`, load: 'v' }
    : { name: which, acc: 'i32', init: which === 'max' ? '(-2147483647 - 1)' : '2147483647', combine: `${which}(x, y)`, load: 'v' }

/** Product; int32 wraps modulo 2^32 (WGSL i32 multiplication does, like Math.imul on the CPU). */
export const prodFold = (d: DType): FoldSpec => ({ name: 'prod', acc: d === 'float32' ? 'f32' : 'i32', init: d === 'float32' ? '1.0' : '1', combine: 'x * y', load: 'v' })

/** all / any over bool (stored as u32 0/1). */
export const logicalFold = (which: 'all' | 'any'): FoldSpec =>
  ({ name: which, acc: 'u32', init: which === 'all' ? '1u' : '0u', combine: which === 'all' ? 'x & y' : 'x | y', load: 'min(v, 1u)' })
