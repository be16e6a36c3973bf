/**
 * WebGPU sort: the sorted axis is moved last, every row is padded to a power of two P and sorted by a
 * bitonic network over (key, original index) pairs, then the axis is moved back.
 *
 * Why these choices:
 * - Keys are u32 made from the element's bits so that unsigned order is the wanted order: floats map
 *   sign-magnitude to an offset order, every NaN maps to 0xffffffff (largest, as the CPU reference) and -0
 *   to +0's key (the reference calls them equal). No float comparison is made: lavapipe compiles with
 *   fast-math assumptions and may fold NaN comparisons. Descending xors the key with all ones.
 * - The original index breaks every tie, so the order is strict and the unstable network gives the
 *   stable result; pads (key 0xffffffff, index ≥ n) sort after every real element.
 * - The network is the "flip" form of bitonic sort (each merge starts by comparing i with its mirror in the
 *   block), so every block comes out ascending and rows packed side by side in one tile sort independently.
 * - Rows with P ≤ T (the tile that fits workgroup memory) are sorted in one dispatch, several rows per
 *   workgroup. Longer rows: tiles are sorted first, then each merge size k runs its long-distance steps as
 *   one global dispatch per step (parameters in the uniforms) and its steps below T in one tiled dispatch.
 * - Values are copied as raw u32 words from the input by the final index, so -0 and NaN payloads survive.
 */
import type { DType } from '../../core/dtype.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { stridesOf } from '../../core/shape.js'
import { rowsLast } from '../reduce/wgsl.js'
import { stridedGatherGpu } from '../shape/wgsl.js'
import { grid1d, main1d, uniformBlock } from '../wgsl/prelude.js'

const THREADS = 256
/** Largest tile: 4096 (key, index) pairs = 32 KiB, the WebGPU default workgroup storage limit. */
const MAX_TILE = 4096

/** WGSL `key(b)`: the ascending-order key of an element's bit pattern. */
const keyFn = (d: DType): string => {
  if (d === 'float32') {
    return `fn key(b: u32) -> u32 {
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return 0xffffffffu; }
  if (a == 0u) { return 0x80000000u; }
  if (b >= 0x80000000u) { return ~b; }
  return b | 0x80000000u;
}`
  }
  if (d === 'int32') return 'fn key(b: u32) -> u32 { return b ^ 0x80000000u; }'
  return 'fn key(b: u32) -> u32 { return b; }'
}

const lexicographicBefore = `
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool { return ka < kb || (ka == kb && ia < ib); }`

/** Where a tile reads its pairs from and writes them to. */
type TileMode = { readonly load: 'input' | 'scratch'; readonly store: 'output' | 'scratch' }

// Bindings (all raw u32 words, dtype is only in the key): X = the rows [count, n]; K, J = scratch keys and
// indices [count * P]; V, I = outputs [count, n].
const tileBindings = ({ load, store }: TileMode): string => {
  const reads = [...(load === 'input' || store === 'output' ? ['X'] : []), ...(load === 'scratch' && store === 'output' ? ['K', 'J'] : [])]
  const writes = store === 'output' ? ['V', 'I'] : ['K', 'J']
  return [
    ...reads.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${n}: array<u32>;`),
    ...writes.map((n, i) => `@group(0) @binding(${reads.length + i + 1}) var<storage, read_write> ${n}: array<u32>;`),
  ].join('\n')
}

// Uniform words: [count, n, P, kLo, kHi, jStart, mask, tiles]. Runs merge sizes k = kLo..kHi (doubling); the
// first merge starts at step distance jStart (a flip step when jStart = k/2), later ones at k/2.
const tileSource = (d: DType, tile: number, mode: TileMode): string => `${uniformBlock}
${tileBindings(mode)}
${keyFn(d)}
${lexicographicBefore}
var<workgroup> sk: array<u32, ${tile}>;
var<workgroup> si: array<u32, ${tile}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let count = u(0u);
  let n = u(1u);
  let P = u(2u);
  let shiftP = countTrailingZeros(P);
  let t = wid.x + wid.y * nwg.x;
  // A grid split over two dimensions may have spare workgroups; out-of-range writes would be clamped.
  if (t >= u(7u)) { return; }
  let base = t * ${tile}u;
  for (var s = tid; s < ${tile}u; s += ${THREADS}u) {
    let g = base + s;
    let row = g >> shiftP;
    let pos = g & (P - 1u);
${
  mode.load === 'input'
    ? `    var k = 0xffffffffu;
    if (row < count && pos < n) { k = key(X[row * n + pos]) ^ u(6u); }
    sk[s] = k;
    si[s] = pos;`
    : `    sk[s] = K[g];
    si[s] = J[g];`
}
  }
  workgroupBarrier();
  var k = u(3u);
  var j = u(5u);
  let kHi = u(4u);
  loop {
    if (k > kHi) { break; }
    loop {
      if (j == 0u) { break; }
      let flip = j == (k >> 1u);
      for (var p = tid; p < ${tile / 2}u; p += ${THREADS}u) {
        let off = p & (j - 1u);
        let lo = (p - off) << 1u;
        let a = lo + off;
        let b = select(a + j, lo + 2u * j - 1u - off, flip);
        let ka = sk[a]; let ia = si[a]; let kb = sk[b]; let ib = si[b];
        if (before(kb, ib, ka, ia)) { sk[a] = kb; si[a] = ib; sk[b] = ka; si[b] = ia; }
      }
      workgroupBarrier();
      j = j >> 1u;
    }
    k = k << 1u;
    j = k >> 1u;
  }
  for (var s = tid; s < ${tile}u; s += ${THREADS}u) {
    let g = base + s;
${
  mode.store === 'output'
    ? `    let row = g >> shiftP;
    let pos = g & (P - 1u);
    if (row < count && pos < n) { let id = si[s]; V[row * n + pos] = X[row * n + id]; I[row * n + pos] = id; }`
    : `    K[g] = sk[s];
    J[g] = si[s];`
}
  }
}`

// Uniform words: [pairs, k, j]. One compare-exchange per invocation at distance j of merge size k over the
// whole [count * P] scratch (rows are P-aligned and k ≤ P, so blocks never straddle rows).
const stepSource = `${uniformBlock}
@group(0) @binding(1) var<storage, read_write> K: array<u32>;
@group(0) @binding(2) var<storage, read_write> J: array<u32>;
${lexicographicBefore}
${main1d()}
  if (idx >= u(0u)) { return; }
  let k = u(1u);
  let j = u(2u);
  let off = idx & (j - 1u);
  let lo = (idx - off) << 1u;
  let a = lo + off;
  let b = select(a + j, lo + 2u * j - 1u - off, j == (k >> 1u));
  let ka = K[a]; let ia = J[a]; let kb = K[b]; let ib = J[b];
  if (before(kb, ib, ka, ia)) { K[a] = kb; J[a] = ib; K[b] = ka; J[b] = ia; }
}`

const tileFor = (ctx: GpuContext): number => {
  let t = MAX_TILE
  while (t > THREADS && 8 * t > ctx.maxWorkgroupStorageBytes) t >>= 1
  return t
}

/** Sorts contiguous rows [count, n] of raw words; returns values and int32 indices, both [count, n]. */
const sortRows = (ctx: GpuContext, rows: GpuArray, count: number, n: number, descending: boolean): [GpuArray, GpuArray] => {
  const values = ctx.alloc({ shape: [count, n], dtype: rows.dtype })
  const indices = ctx.alloc({ shape: [count, n], dtype: 'int32' })
  const tile = tileFor(ctx)
  let P = 1
  while (P < n) P *= 2
  const mask = descending ? 0xffffffff : 0
  const tiles = Math.ceil((count * P) / tile)
  const uniforms = (kLo: number, kHi: number, jStart: number) => [count, n, P, kLo, kHi, jStart, mask, tiles]
  const grid = grid1d(ctx, tiles, 1)
  if (P <= tile) {
    const code = tileSource(rows.dtype, tile, { load: 'input', store: 'output' })
    ctx.dispatch({ name: 'sort(tile)', code, inputs: [rows], outputs: [values, indices], uniforms: uniforms(2, P, 1), workgroups: grid })
    return [values, indices]
  }
  const keys = ctx.alloc({ shape: [count * P], dtype: 'int32' })
  const order = ctx.alloc({ shape: [count * P], dtype: 'int32' })
  const chunk = tileSource(rows.dtype, tile, { load: 'input', store: 'scratch' })
  ctx.dispatch({ name: 'sort(tile)', code: chunk, inputs: [rows], outputs: [keys, order], uniforms: uniforms(2, tile, 1), workgroups: grid })
  const pairs = (count * P) / 2
  for (let k = 2 * tile; k <= P; k *= 2) {
    for (let j = k / 2; j >= tile; j /= 2) {
      ctx.dispatch({ name: 'sort(step)', code: stepSource, inputs: [], outputs: [keys, order], uniforms: [pairs, k, j], workgroups: grid1d(ctx, pairs) })
    }
    const last = k === P
    const code = tileSource(rows.dtype, tile, { load: 'scratch', store: last ? 'output' : 'scratch' })
    ctx.dispatch({
      name: 'sort(merge)', code,
      inputs: last ? [rows, keys, order] : [], outputs: last ? [values, indices] : [keys, order],
      uniforms: uniforms(k, k, tile / 2), workgroups: grid,
    })
  }
  return [values, indices]
}

/** Sorts `x` along `axis` (normalized): [values like x, int32 indices], stable, NaN largest. */
export const sortGpu = (ctx: GpuContext, x: GpuArray, axis: number, descending: boolean): [GpuArray, GpuArray] => {
  const { rows, count, length } = rowsLast(ctx, 'sort', x, [axis])
  if (count * length === 0) return [ctx.alloc(x), ctx.alloc({ shape: x.shape, dtype: 'int32' })]
  const [values, indices] = sortRows(ctx, rows, count, length, descending)
  const r = x.shape.length
  if (axis === r - 1) return [ctx.reshape(values, x.shape), ctx.reshape(indices, x.shape)]
  // The sorted layout is x's shape with `axis` moved last; read it back in x's order.
  const perm = [...Array.from({ length: r }, (_, i) => i).filter((i) => i !== axis), axis]
  const movedStrides = stridesOf(perm.map((p) => x.shape[p]!))
  const strides = x.shape.map((_, a) => movedStrides[perm.indexOf(a)]!)
  return [stridedGatherGpu(ctx, 'sort', values, x, strides), stridedGatherGpu(ctx, 'sort', indices, { shape: x.shape, dtype: 'int32' }, strides)]
}
