/**
 * WebGPU `nonzero`: a stream compaction in three dispatches over blocks of BLOCK elements.
 *   1. count: each workgroup counts the non-zeros of its block;
 *   2. scan: one workgroup turns the block counts into exclusive block offsets (a loop of 256-wide
 *      scans with a carry, so any number of blocks works) and writes the total count;
 *   3. compact: each workgroup rescans its block (every thread owns ITEMS consecutive elements, so a scan
 *      of the per-thread counts keeps row-major order) and writes the coordinates of the non-zeros whose
 *      rank is below the capacity into rows pre-filled with `fillValue`.
 * The CPU kernel is the spec: `count` is the true number of non-zeros even past the capacity; NaN counts
 * as non-zero and -0 as zero (tested on the bit pattern, which survives fast-math compilation).
 */
import type { DType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { fillGpu } from '../shape/wgsl.js'
import { MAX_RANK, grid1d, padShape, uniformBlock, wgslType } from '../wgsl/prelude.js'

const THREADS = 256
const ITEMS = 4
const BLOCK = THREADS * ITEMS

const isNonzero = (d: DType): string =>
  d === 'float32' ? '(bitcast<u32>(v) & 0x7fffffffu) != 0u' : d === 'int32' ? 'v != 0' : 'v != 0u'

const binding = (i: number, name: string, type: string, access: 'read' | 'read_write'): string =>
  `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${type}>;`

// Inclusive Hillis–Steele scan of `part` (one word per thread); every thread must call it.
const scanFn = `
var<workgroup> part: array<u32, ${THREADS}>;
fn inclusiveScan(tid: u32, c: u32) -> u32 {
  part[tid] = c;
  workgroupBarrier();
  for (var s = 1u; s < ${THREADS}u; s <<= 1u) {
    var add = 0u;
    if (tid >= s) { add = part[tid - s]; }
    workgroupBarrier();
    part[tid] += add;
    workgroupBarrier();
  }
  return part[tid];
}`

const header = `
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let block = wid.x + wid.y * nwg.x;
  let n = u(0u);
  let first = block * ${BLOCK}u + tid * ${ITEMS}u;`

// Uniform words (all three): [n, blocks, capacity, rank, shape at 4].
const countSource = (d: DType) => `${uniformBlock}
${binding(1, 'X', wgslType(d), 'read')}
${binding(2, 'C', 'u32', 'read_write')}
${scanFn}
fn nz(i: u32) -> bool { if (i >= u(0u)) { return false; } let v = X[i]; return ${isNonzero(d)}; }
${header}
  var c = 0u;
  for (var j = 0u; j < ${ITEMS}u; j++) { if (nz(first + j)) { c++; } }
  let total = inclusiveScan(tid, c);
  if (tid == ${THREADS - 1}u && block < u(1u)) { C[block] = total; }
}`

const scanSource = `${uniformBlock}
${binding(1, 'C', 'u32', 'read')}
${binding(2, 'S', 'u32', 'read_write')}
${binding(3, 'Count', 'i32', 'read_write')}
${scanFn}
@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let blocks = u(1u);
  var carry = 0u;
  for (var base = 0u; base < blocks; base += ${THREADS}u) {
    let i = base + tid;
    var c = 0u;
    if (i < blocks) { c = C[i]; }
    let inclusive = inclusiveScan(tid, c);
    if (i < blocks) { S[i] = carry + inclusive - c; }
    carry += part[${THREADS - 1}u];
    workgroupBarrier();
  }
  if (tid == 0u) { Count[0] = i32(carry); }
}`

const compactSource = (d: DType) => `${uniformBlock}
${binding(1, 'X', wgslType(d), 'read')}
${binding(2, 'S', 'u32', 'read')}
${binding(3, 'O', 'i32', 'read_write')}
${scanFn}
fn nz(i: u32) -> bool { if (i >= u(0u)) { return false; } let v = X[i]; return ${isNonzero(d)}; }
${header}
  var c = 0u;
  for (var j = 0u; j < ${ITEMS}u; j++) { if (nz(first + j)) { c++; } }
  let inclusive = inclusiveScan(tid, c);
  if (block >= u(1u)) { return; }
  var pos = S[block] + inclusive - c;
  let capacity = u(2u);
  let rank = u(3u);
  for (var j = 0u; j < ${ITEMS}u; j++) {
    if (pos >= capacity) { return; }
    if (nz(first + j)) {
      var rem = first + j;
      for (var k = 0u; k < rank; k++) {
        let ax = rank - 1u - k;
        let dim = u(4u + ax);
        O[pos * rank + ax] = i32(rem % dim);
        rem /= dim;
      }
      pos++;
    }
  }
}`

/** Lowers `nonzero`: x: T[d0..dr-1] → [i32[capacity, r] (rows past the count hold fillValue), i32[] count]. */
export const nonzeroGpu = (ctx: GpuContext, x: GpuArray, capacity: number, fillValue: number, [indicesAval, countAval]: readonly Aval[]): GpuArray[] => {
  if (x.shape.length > MAX_RANK) fail('nonzero', `an operand of rank ${x.shape.length} exceeds the WebGPU limit of ${MAX_RANK}`)
  const n = size(x.shape)
  const blocks = Math.ceil(n / BLOCK)
  const uniforms = [n, blocks, capacity, x.shape.length, ...padShape(x.shape)]
  const blockCounts = ctx.alloc({ shape: [blocks], dtype: 'int32' })
  const offsets = ctx.alloc({ shape: [blocks], dtype: 'int32' })
  const count = ctx.alloc(countAval!)
  const indices = fillGpu(ctx, indicesAval!, fillValue)
  const grid = grid1d(ctx, blocks, 1)
  if (n > 0) ctx.dispatch({ name: 'nonzero.count', code: countSource(x.dtype), inputs: [x], outputs: [blockCounts], uniforms, workgroups: grid })
  ctx.dispatch({ name: 'nonzero.scan', code: scanSource, inputs: [blockCounts], outputs: [offsets, count], uniforms, workgroups: [1, 1, 1] })
  if (n > 0 && size(indicesAval!.shape) > 0) {
    ctx.dispatch({ name: 'nonzero.compact', code: compactSource(x.dtype), inputs: [x, offsets], outputs: [indices], uniforms, workgroups: grid })
  }
  return [indices, count]
}
