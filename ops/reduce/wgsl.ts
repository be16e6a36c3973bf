/**
 * WebGPU reductions. The reduced axes are moved last (a strided copy when they are not already
 * trailing); then each output element folds one contiguous row: one workgroup per row with a shared-memory
 * tree when rows are long, one invocation per row when they are short. The fold is given as WGSL
 * snippets, so sum, max, min, prod, all and any share this code.
 */
import type { DType } from '../../core/dtype.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Aval } from '../../core/tensor.js'
import { stridedGatherGpu } from '../shape/wgsl.js'
import { grid1d, main1d, mathHelpers, storageBindings, uniformBlock, wgslType } from '../wgsl/prelude.js'
import { stridesOf } from '../../core/shape.js'

export type FoldSpec = {
  /** Short name used in the shader label and cache key. */
  readonly name: string
  /** WGSL type of the accumulator. */
  readonly acc: string
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

const rowPerGroup = (spec: FoldSpec, inT: DType, outT: DType) => `${uniformBlock}
${mathHelpers}
${storageBindings([['X', inT]], [['O', outT]])}
var<workgroup> part: array<${spec.acc}, ${TREE}>;
fn combine(x: ${spec.acc}, y: ${spec.acc}) -> ${spec.acc} { return ${spec.combine}; }
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let rows = u(0u);
  let len = u(1u);
  var a: ${spec.acc} = ${spec.init};
  if (row < rows) {
    for (var j = tid; j < len; j += ${TREE}u) { let v = X[row * len + j]; a = combine(a, ${spec.load}); }
  }
  part[tid] = a;
  workgroupBarrier();
  for (var s = ${TREE / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] = combine(part[tid], part[tid + s]); }
    workgroupBarrier();
  }
  if (tid == 0u && row < rows) { let x = part[0]; O[row] = ${spec.store ?? 'x'}; }
}`

const rowPerThread = (spec: FoldSpec, inT: DType, outT: DType) => `${uniformBlock}
${mathHelpers}
${storageBindings([['X', inT]], [['O', outT]])}
fn combine(x: ${spec.acc}, y: ${spec.acc}) -> ${spec.acc} { return ${spec.combine}; }
${main1d()}
  if (idx >= u(0u)) { return; }
  let len = u(1u);
  var a: ${spec.acc} = ${spec.init};
  for (var j = 0u; j < len; j++) { let v = X[idx * len + j]; a = combine(a, ${spec.load}); }
  let x = a;
  O[idx] = ${spec.store ?? 'x'};
}`

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

/** Folds `x` over `axes` into an array of `out`. */
export const reduceGpu = (ctx: GpuContext, op: string, spec: FoldSpec, x: GpuArray, axes: readonly number[], out: Aval): GpuArray => {
  const { rows, count, length } = rowsLast(ctx, op, x, axes)
  const o = ctx.alloc(out)
  if (count === 0) return o
  const long = length >= 64
  ctx.dispatch({
    name: `${op}(${spec.name})`,
    code: long ? rowPerGroup(spec, x.dtype, out.dtype) : rowPerThread(spec, x.dtype, out.dtype),
    inputs: [rows],
    outputs: [o],
    uniforms: [count, length],
    workgroups: long ? grid1d(ctx, count, 1) : grid1d(ctx, count),
  })
  return o
}

/** The sum fold for a dtype (accumulates in the dtype itself). */
export const sumFold = (d: DType): FoldSpec => ({ name: 'sum', acc: wgslType(d), init: d === 'float32' ? '0.0' : '0', combine: 'x + y', load: 'v' })
