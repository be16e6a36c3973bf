/**
 * WebGPU lowerings for indexing: n-d gathers (`take`, `gather`), along-axis gathers (`takeAlongAxis`),
 * their scatter-add transposes, and the two-output `nonzero`.
 *
 * A GPU kernel cannot throw, so index checking happens on the CPU backend only. On WebGPU an index tuple
 * with any coordinate outside `[0, size)` (negative included) reads 0 in a gather and is dropped in a
 * scatter-add: nothing is clamped or wrapped, so a bad index never aliases a valid element.
 *
 * Scatter-adds copy x into the output, then add every update with an atomic: int32 with `atomicAdd`
 * (wrapping, like the CPU's Int32Array), float32 with a compare-exchange loop on the u32 bit pattern
 * (WGSL has no float atomics). Float sums therefore happen in a data-race-dependent order: with repeated
 * indices the result may differ from the CPU's sequential sum by rounding (and vary between runs).
 */
import type { DType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size, stridesOf } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { MAX_RANK, grid1d, main1d, offsetFn, padShape, padStrides, storageBindings, uniformBlock, wgslType } from '../wgsl/prelude.js'


const checkRank = (op: string, rank: number, what: string): void => {
  if (rank > MAX_RANK) fail(op, `${what} of rank ${rank} exceeds the WebGPU limit of ${MAX_RANK}`)
}

/** Declares the output (binding `binding`) as atomics so that concurrent adds to one element are exact. */
const atomicOutput = (binding: number, d: DType): string =>
  `@group(0) @binding(${binding}) var<storage, read_write> O: array<atomic<${d === 'float32' ? 'u32' : 'i32'}>>;`

/** `addAt(i, v)`: O[i] += v atomically; float32 retries a compare-exchange until no other add intervened. */
const atomicAddFn = (d: DType): string =>
  d === 'float32'
    ? `
fn addAt(i: u32, v: f32) {
  var old = atomicLoad(&O[i]);
  loop {
    let r = atomicCompareExchangeWeak(&O[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}`
    : `
fn addAt(i: u32, v: i32) { atomicAdd(&O[i], v); }`

const copySource = (d: DType) => `${uniformBlock}
${storageBindings([['X', d]], [['O', d]])}
${main1d()}
  if (idx >= u(0u)) { return; }
  O[idx] = X[idx];
}`

/** A fresh contiguous copy of `x`: the starting value of a scatter-add's output. */
const copyGpu = (ctx: GpuContext, op: string, x: GpuArray): GpuArray => {
  const o = ctx.alloc(x)
  const n = size(x.shape)
  if (n > 0) ctx.dispatch({ name: `${op}.copy`, code: copySource(x.dtype), inputs: [x], outputs: [o], uniforms: [n], workgroups: grid1d(ctx, n) })
  return o
}

/**
 * The n-d geometry shared with the CPU kernel: x is viewed as [outer, N0..Nk-1, inner], indices as
 * [count, k], the gathered array (or the updates) as [outer, count, inner].
 * Uniform words: [n, count, inner, k, slab = N0..Nk-1 · inner, N0..Nk-1 at 5].
 */
const ndUniforms = (op: string, x: GpuArray, indices: GpuArray, axis: number): number[] => {
  const k = indices.shape[indices.shape.length - 1]!
  checkRank(op, k, 'an index tuple')
  const count = size(indices.shape.slice(0, -1))
  const inner = size(x.shape.slice(axis + k))
  const indexed = x.shape.slice(axis, axis + k)
  const outer = size(x.shape.slice(0, axis))
  return [outer * count * inner, count, inner, k, size(indexed) * inner, ...padStrides(indexed)]
}

// Decomposes idx into (o, m, b) and returns the x element it maps to, or INVALID for a bad index tuple.
const ndLocate = `
const INVALID = 0xffffffffu;
fn locate(idx: u32) -> u32 {
  let count = u(1u);
  let inner = u(2u);
  let k = u(3u);
  let b = idx % inner;
  let om = idx / inner;
  let m = om % count;
  let o = om / count;
  var off = 0u;
  for (var j = 0u; j < k; j++) {
    let v = I[m * k + j];
    let dim = u(5u + j);
    if (v < 0 || u32(v) >= dim) { return INVALID; }
    off = off * dim + u32(v);
  }
  return o * u(4u) + off * inner + b;
}`

const gatherNdSource = (d: DType) => `${uniformBlock}
${storageBindings([['X', d], ['I', 'int32']], [['O', d]])}
${ndLocate}
${main1d()}
  if (idx >= u(0u)) { return; }
  let src = locate(idx);
  if (src == INVALID) { O[idx] = ${wgslType(d)}(0); return; }
  O[idx] = X[src];
}`

/** out[o, m, b] = x[o, indices[m, :], b] (0 for an out-of-range tuple). x: T[A..., N0..Nk-1, B...], indices: i32[I..., k]. */
export const gatherNdGpu = (ctx: GpuContext, op: string, x: GpuArray, indices: GpuArray, axis: number, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const uniforms = ndUniforms(op, x, indices, axis)
  if (uniforms[0] === 0) return o
  ctx.dispatch({ name: op, code: gatherNdSource(x.dtype), inputs: [x, indices], outputs: [o], uniforms, workgroups: grid1d(ctx, uniforms[0]!) })
  return o
}

const scatterNdSource = (d: DType) => `${uniformBlock}
${storageBindings([['I', 'int32'], ['V', d]], [])}
${atomicOutput(3, d)}
${atomicAddFn(d)}
${ndLocate}
${main1d()}
  if (idx >= u(0u)) { return; }
  let dst = locate(idx);
  if (dst != INVALID) { addAt(dst, V[idx]); }
}`

/** out = x; out[o, indices[m, :], b] += updates[o, m, b] (out-of-range tuples dropped). updates: T[A..., I..., B...]. */
export const scatterAddNdGpu = (ctx: GpuContext, op: string, x: GpuArray, indices: GpuArray, updates: GpuArray, axis: number): GpuArray => {
  const o = copyGpu(ctx, op, x)
  const uniforms = ndUniforms(op, x, indices, axis)
  if (uniforms[0] === 0) return o
  ctx.dispatch({ name: op, code: scatterNdSource(x.dtype), inputs: [indices, updates], outputs: [o], uniforms, workgroups: grid1d(ctx, uniforms[0]!) })
  return o
}

/**
 * Along-axis geometry: a thread per position p of `indices` (shape I, rank of x); it maps to x element
 * Σ_{d≠axis} p_d · xStride_d + indices[p] · xStride_axis.
 * Uniform words: [n, rank, axisStride, axisLen, I at 4, x strides (0 on the axis) at 12].
 */
const alongUniforms = (op: string, x: GpuArray, indices: GpuArray, axis: number): number[] => {
  checkRank(op, x.shape.length, 'an operand')
  const strides = stridesOf(x.shape)
  return [size(indices.shape), x.shape.length, strides[axis]!, x.shape[axis]!, ...padShape(indices.shape), ...padStrides(strides.map((s, d) => (d === axis ? 0 : s)))]
}

const alongLocate = `
const INVALID = 0xffffffffu;
${offsetFn('rest', 1, 4, 12)}
fn locate(idx: u32) -> u32 {
  let v = I[idx];
  if (v < 0 || u32(v) >= u(3u)) { return INVALID; }
  return rest(idx) + u32(v) * u(2u);
}`

const takeAlongSource = (d: DType) => `${uniformBlock}
${storageBindings([['X', d], ['I', 'int32']], [['O', d]])}
${alongLocate}
${main1d()}
  if (idx >= u(0u)) { return; }
  let src = locate(idx);
  if (src == INVALID) { O[idx] = ${wgslType(d)}(0); return; }
  O[idx] = X[src];
}`

/** out[p] = x[p with p[axis] = indices[p]] (0 where the index is out of range). out: T[indices.shape]. */
export const takeAlongAxisGpu = (ctx: GpuContext, x: GpuArray, indices: GpuArray, axis: number, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const uniforms = alongUniforms('takeAlongAxis', x, indices, axis)
  if (uniforms[0] === 0) return o
  ctx.dispatch({ name: 'takeAlongAxis', code: takeAlongSource(x.dtype), inputs: [x, indices], outputs: [o], uniforms, workgroups: grid1d(ctx, uniforms[0]!) })
  return o
}

const scatterAlongSource = (d: DType) => `${uniformBlock}
${storageBindings([['I', 'int32'], ['V', d]], [])}
${atomicOutput(3, d)}
${atomicAddFn(d)}
${alongLocate}
${main1d()}
  if (idx >= u(0u)) { return; }
  let dst = locate(idx);
  if (dst != INVALID) { addAt(dst, V[idx]); }
}`

/** out = x; out[p with p[axis] = indices[p]] += updates[p] (out-of-range indices dropped). */
export const scatterAddGpu = (ctx: GpuContext, x: GpuArray, indices: GpuArray, updates: GpuArray, axis: number): GpuArray => {
  const o = copyGpu(ctx, 'scatterAdd', x)
  const uniforms = alongUniforms('scatterAdd', x, indices, axis)
  if (uniforms[0] === 0) return o
  ctx.dispatch({ name: 'scatterAdd', code: scatterAlongSource(x.dtype), inputs: [indices, updates], outputs: [o], uniforms, workgroups: grid1d(ctx, uniforms[0]!) })
  return o
}
