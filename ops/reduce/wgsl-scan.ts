/**
 * WebGPU cumsum: an inclusive scan of every line along one axis of x seen as [outer, length, inner].
 * Long lines get a workgroup each, which walks the line in tiles of 1024 elements: every invocation scans
 * 4 consecutive elements, a Hillis–Steele scan over the 256 partial totals in shared memory gives each its
 * offset, and a running carry links the tiles. Short lines, very many lines (as for reductions, see
 * `groupPerRow`), and lines along a leading axis when there are many of them (inner > 1: neighbouring
 * invocations then read neighbouring addresses) get one invocation each. `reverse` scans from the end by mapping scan position k to element length−1−k, so no flip is
 * needed. float32 accumulates in float32 (the CPU in float64, rounding each output: tests allow for it);
 * int32 wraps like the CPU.
 */
import type { DType } from '../../core/dtype.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import { grid1d, main1d, storageBindings, uniformBlock, wgslType } from '../wgsl/prelude.js'
import { groupPerRow } from './wgsl.js'

const TREE = 256
const PER = 4
/** With inner > 1 and at least this many lines, one invocation per line reads coalesced memory. */
const MANY_STRIDED_LINES = 8192

// Uniform words: [lines, len, inner, reverse]. `at(line, k)` is the element at scan position k.
const common = (d: DType) => `${uniformBlock}
${storageBindings([['X', d]], [['O', d]])}
fn at(line: u32, k: u32) -> u32 {
  let len = u(1u);
  let inner = u(2u);
  let p = select(k, len - 1u - k, u(3u) != 0u);
  return (line / inner) * len * inner + line % inner + p * inner;
}`

const linePerThread = (d: DType) => `${common(d)}
${main1d()}
  if (idx >= u(0u)) { return; }
  var s = ${wgslType(d)}(0);
  for (var k = 0u; k < u(1u); k++) { let a = at(idx, k); s += X[a]; O[a] = s; }
}`

const linePerGroup = (d: DType) => `${common(d)}
var<workgroup> part: array<${wgslType(d)}, ${TREE}>;
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let line = wid.x + wid.y * nwg.x;
  if (line >= u(0u)) { return; }
  let len = u(1u);
  var carry = ${wgslType(d)}(0);
  for (var t0 = 0u; t0 < len; t0 += ${TREE * PER}u) {
    var run = ${wgslType(d)}(0);
    var vals: array<${wgslType(d)}, ${PER}>;
    for (var e = 0u; e < ${PER}u; e++) {
      let k = t0 + tid * ${PER}u + e;
      if (k < len) { run += X[at(line, k)]; }
      vals[e] = run;
    }
    part[tid] = run;
    workgroupBarrier();
    for (var off = 1u; off < ${TREE}u; off <<= 1u) {
      var t = part[tid];
      if (tid >= off) { t += part[tid - off]; }
      workgroupBarrier();
      part[tid] = t;
      workgroupBarrier();
    }
    var before = carry;
    if (tid > 0u) { before += part[tid - 1u]; }
    for (var e = 0u; e < ${PER}u; e++) {
      let k = t0 + tid * ${PER}u + e;
      if (k < len) { O[at(line, k)] = before + vals[e]; }
    }
    carry += part[${TREE - 1}u];
    workgroupBarrier();
  }
}`

/** Inclusive prefix sums of `x` along `axis` (from the end when `reverse`). x: T[...] → T[...] */
export const cumsumGpu = (ctx: GpuContext, x: GpuArray, axis: number, reverse: boolean): GpuArray => {
  const o = ctx.alloc({ shape: x.shape, dtype: x.dtype })
  const len = x.shape[axis]!
  const inner = size(x.shape.slice(axis + 1))
  const lines = size(x.shape.slice(0, axis)) * inner
  if (lines === 0 || len === 0) return o
  const perGroup = groupPerRow(lines, len) && (inner === 1 || lines < MANY_STRIDED_LINES)
  ctx.dispatch({
    name: 'cumsum',
    code: perGroup ? linePerGroup(x.dtype) : linePerThread(x.dtype),
    inputs: [x],
    outputs: [o],
    uniforms: [lines, len, inner, reverse ? 1 : 0],
    workgroups: perGroup ? grid1d(ctx, lines, 1) : grid1d(ctx, lines),
  })
  return o
}
