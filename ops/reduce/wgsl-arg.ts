/**
 * WebGPU argmax/argmin: a fold over (value, index) pairs. The winner is decided by a total order — NaN
 * beats every number (float only), then the larger (argmax) or smaller (argmin) value, then the smaller
 * index — so the fold is associative and commutative and a tree over a workgroup picks the same element
 * as the CPU's left-to-right scan (first occurrence on ties). Index 0xffffffff marks "no element yet",
 * which loses to everything, so no ±Inf identity is needed. Rows are laid out and split as in wgsl.ts.
 */
import type { DType } from '../../core/dtype.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Aval } from '../../core/tensor.js'
import { grid1d, main1d, mathHelpers, storageBindings, uniformBlock, wgslType } from '../wgsl/prelude.js'
import { chunksFor, groupPerRow, rowsLast } from './wgsl.js'

const TREE = 256

type Which = 'argmax' | 'argmin'
/** `values`: pairs are (X[j], j); `pairs`: (X[j], XI[j]) from a first pass over chunks. */
type Source = 'values' | 'pairs'
/** `index`: the final int32 result; `pairs`: value and index per chunk for a second pass. */
type Sink = 'index' | 'pairs'

const winsFn = (which: Which, d: DType): string => {
  const t = wgslType(d)
  const nan = d === 'float32'
    ? `let na = isnan_(va); let nb = isnan_(vb);
  if (na || nb) { if (na && nb) { return ib < ia; } return nb; }`
    : ''
  return `
// Does (vb, ib) beat (va, ia)?
fn wins(va: ${t}, ia: u32, vb: ${t}, ib: u32) -> bool {
  if (ib == EMPTY) { return false; }
  if (ia == EMPTY) { return true; }
  ${nan}
  if (vb ${which === 'argmax' ? '>' : '<'} va) { return true; }
  return vb == va && ib < ia;
}`
}

const header = (which: Which, d: DType, source: Source, sink: Sink): string => `${uniformBlock}
${mathHelpers}
${storageBindings(source === 'values' ? [['X', d]] : [['X', d], ['XI', 'int32']], sink === 'index' ? [['O', 'int32']] : [['OV', d], ['OI', 'int32']])}
const EMPTY = 0xffffffffu;
${winsFn(which, d)}
fn indexAt(p: u32, j: u32) -> u32 { return ${source === 'values' ? 'j' : 'bitcast<u32>(XI[p])'}; }
fn emit(g: u32, v: ${wgslType(d)}, i: u32) { ${sink === 'index' ? 'O[g] = bitcast<i32>(i);' : 'OV[g] = v; OI[g] = bitcast<i32>(i);'} }`

// Uniform words: [rows, len, chunkLen, chunks], as rowPerGroup in wgsl.ts.
const pairPerGroup = (which: Which, d: DType, source: Source, sink: Sink): string => `${header(which, d, source, sink)}
var<workgroup> partV: array<${wgslType(d)}, ${TREE}>;
var<workgroup> partI: array<u32, ${TREE}>;
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let len = u(1u);
  let chunkLen = u(2u);
  let chunks = u(3u);
  let row = g / chunks;
  let begin = (g % chunks) * chunkLen;
  let end = min(len, begin + chunkLen);
  var bv = X[0];
  var bi = EMPTY;
  if (row < u(0u)) {
    for (var j = begin + tid; j < end; j += ${TREE}u) {
      let p = row * len + j;
      let v = X[p];
      let i = indexAt(p, j);
      if (wins(bv, bi, v, i)) { bv = v; bi = i; }
    }
  }
  partV[tid] = bv;
  partI[tid] = bi;
  workgroupBarrier();
  for (var s = ${TREE / 2}u; s > 0u; s >>= 1u) {
    if (tid < s && wins(partV[tid], partI[tid], partV[tid + s], partI[tid + s])) {
      partV[tid] = partV[tid + s];
      partI[tid] = partI[tid + s];
    }
    workgroupBarrier();
  }
  if (tid == 0u && row < u(0u)) { emit(g, partV[0], partI[0]); }
}`

const pairPerThread = (which: Which, d: DType, source: Source): string => `${header(which, d, source, 'index')}
${main1d()}
  if (idx >= u(0u)) { return; }
  let len = u(1u);
  var bv = X[0];
  var bi = EMPTY;
  for (var j = 0u; j < len; j++) {
    let p = idx * len + j;
    let v = X[p];
    let i = indexAt(p, j);
    if (wins(bv, bi, v, i)) { bv = v; bi = i; }
  }
  emit(idx, bv, bi);
}`

/** Folds rows of `inputs[0]` (with indices `inputs[1]` for `pairs`) into the int32 array `o: [count]`. */
const pickRows = (ctx: GpuContext, which: Which, d: DType, source: Source, inputs: GpuArray[], o: GpuArray, count: number, length: number): void => {
  const long = groupPerRow(count, length)
  ctx.dispatch({
    name: which,
    code: long ? pairPerGroup(which, d, source, 'index') : pairPerThread(which, d, source),
    inputs,
    outputs: [o],
    uniforms: long ? [count, length, length, 1] : [count, length],
    workgroups: long ? grid1d(ctx, count, 1) : grid1d(ctx, count),
  })
}

/**
 * argmax/argmin of `x` along `axis` (the axis must not be empty: abstractEval refuses it).
 * x: T[...] → i32[reduced]
 */
export const argGpu = (ctx: GpuContext, which: Which, x: GpuArray, axis: number, out: Aval): GpuArray => {
  const { rows, count, length } = rowsLast(ctx, which, x, [axis])
  const o = ctx.alloc(out)
  if (count === 0) return o
  const chunks = chunksFor(count, length)
  if (chunks === 1) {
    pickRows(ctx, which, x.dtype, 'values', [rows], o, count, length)
    return o
  }
  const values = ctx.alloc({ shape: [count, chunks], dtype: x.dtype })
  const indices = ctx.alloc({ shape: [count, chunks], dtype: 'int32' })
  ctx.dispatch({
    name: `${which}.chunks`,
    code: pairPerGroup(which, x.dtype, 'values', 'pairs'),
    inputs: [rows],
    outputs: [values, indices],
    uniforms: [count, length, Math.ceil(length / chunks), chunks],
    workgroups: grid1d(ctx, count * chunks, 1),
  })
  pickRows(ctx, which, x.dtype, 'pairs', [values, indices], o, count, chunks)
  return o
}
