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
import { grid1d, keyedSourceMemo, main1d, uniformBlock } from '../wgsl/prelude.js'

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

/**
 * Where a tile reads its pairs from and writes them to: the input rows, the scratch in place, or
 * compacted runs (top-k: the best `runLen` pairs of every tile, kept in another scratch pair).
 */
type TileMode = { readonly load: 'input' | 'scratch' | 'runs'; readonly store: 'output' | 'scratch' | 'runs' }

// Bindings (all raw u32 words, dtype is only in the key): X = the rows [count, n]; K, J = scratch keys and
// indices (read_write when sorted in place); R, Q = runs written by this pass; V, I = outputs [count, k].
const tileBindings = ({ load, store }: TileMode): string => {
  const inPlace = load === 'scratch' && store === 'scratch'
  const reads = [...(load === 'input' || store === 'output' ? ['X'] : []), ...(load !== 'input' && !inPlace ? ['K', 'J'] : [])]
  const writes = store === 'output' ? ['V', 'I'] : store === 'runs' ? ['R', 'Q'] : ['K', 'J']
  return [
    ...reads.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${n}: array<u32>;`),
    ...writes.map((n, i) => `@group(0) @binding(${reads.length + i + 1}) var<storage, read_write> ${n}: array<u32>;`),
  ].join('\n')
}

const loadPair: Record<TileMode['load'], string> = {
  // Element g of the row-major [count, span] layout (rows padded to span with pads).
  input: `    let row = g / span;
    let pos = g % span;
    var k = 0xffffffffu;
    if (row < count && pos < n) { k = key(X[row * n + pos]) ^ u(6u); }
    sk[s] = k;
    si[s] = pos;`,
  scratch: `    sk[s] = K[g];
    si[s] = J[g];`,
  // The rows of runs left by the previous pass, u(10) pairs each, cut into tiles (u(11) per row).
  runs: `    let row = t / u(11u);
    let q = (t % u(11u)) * TILE + s;
    let inside = row < count && q < u(10u);
    let at = select(0u, row * u(10u) + q, inside);
    sk[s] = select(0xffffffffu, K[at], inside);
    si[s] = select(0xffffffffu, J[at], inside);`,
}

const storePair: Record<TileMode['store'], string> = {
  // The first k = u(8) sorted positions of each row; values copied by index from the input.
  output: `    let row = g / span;
    let pos = g % span;
    if (row < count && pos < u(8u)) { let id = si[s]; V[row * u(8u) + pos] = X[row * n + id]; I[row * u(8u) + pos] = id; }`,
  scratch: `    K[g] = sk[s];
    J[g] = si[s];`,
  runs: `    if (s < u(9u)) { R[t * u(9u) + s] = sk[s]; Q[t * u(9u) + s] = si[s]; }`,
}

// Uniform words: [count, n, span, kLo, kHi, jStart, mask, tiles, k kept per row, run length written,
// pairs per row of the runs read, tiles per row]. Runs merge sizes kLo..kHi (doubling); the first merge
// starts at step distance jStart (a flip step when jStart = kLo/2), later ones at k/2.
const tileSource = (d: DType, tile: number, mode: TileMode): string => `${uniformBlock}
${tileBindings(mode)}
${keyFn(d)}
${lexicographicBefore}
const TILE = ${tile}u;
var<workgroup> sk: array<u32, ${tile}>;
var<workgroup> si: array<u32, ${tile}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let count = u(0u);
  let n = u(1u);
  let span = u(2u);
  let t = wid.x + wid.y * nwg.x;
  // A grid split over two dimensions may have spare workgroups; out-of-range writes would be clamped.
  if (t >= u(7u)) { return; }
  let base = t * TILE;
  for (var s = tid; s < TILE; s += ${THREADS}u) {
    let g = base + s;
${loadPair[mode.load]}
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
  for (var s = tid; s < TILE; s += ${THREADS}u) {
    let g = base + s;
${storePair[mode.store]}
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

const tileSources = keyedSourceMemo()
const tileCode = (d: DType, tile: number, mode: TileMode): string =>
  tileSources(`${d}${tile}${mode.load}${mode.store}`, () => tileSource(d, tile, mode))

/**
 * Sorts contiguous rows [count, n] of raw words and keeps the first `k` of each: values and int32
 * indices, both [count, k].
 */
const sortRows = (ctx: GpuContext, rows: GpuArray, count: number, n: number, descending: boolean, k: number): [GpuArray, GpuArray] => {
  const values = ctx.alloc({ shape: [count, k], dtype: rows.dtype })
  const indices = ctx.alloc({ shape: [count, k], dtype: 'int32' })
  const tile = tileFor(ctx)
  let P = 1
  while (P < n) P *= 2
  let run = 1
  while (run < k) run *= 2
  const mask = descending ? 0xffffffff : 0
  if (P > tile && 2 * run <= tile) return topRuns(ctx, rows, count, n, mask, k, run, tile, [values, indices])
  const tiles = Math.ceil((count * P) / tile)
  const uniforms = (kLo: number, kHi: number, jStart: number) => [count, n, P, kLo, kHi, jStart, mask, tiles, k]
  const grid = grid1d(ctx, tiles, 1)
  if (P <= tile) {
    const code = tileCode(rows.dtype, tile, { load: 'input', store: 'output' })
    ctx.dispatch({ name: 'sort(tile)', code, inputs: [rows], outputs: [values, indices], uniforms: uniforms(2, P, 1), workgroups: grid })
    return [values, indices]
  }
  const keys = ctx.alloc({ shape: [count * P], dtype: 'int32' })
  const order = ctx.alloc({ shape: [count * P], dtype: 'int32' })
  const chunk = tileCode(rows.dtype, tile, { load: 'input', store: 'scratch' })
  ctx.dispatch({ name: 'sort(tile)', code: chunk, inputs: [rows], outputs: [keys, order], uniforms: uniforms(2, tile, 1), workgroups: grid })
  const pairs = (count * P) / 2
  for (let m = 2 * tile; m <= P; m *= 2) {
    for (let j = m / 2; j >= tile; j /= 2) {
      ctx.dispatch({ name: 'sort(step)', code: stepSource, inputs: [], outputs: [keys, order], uniforms: [pairs, m, j], workgroups: grid1d(ctx, pairs) })
    }
    const last = m === P
    const code = tileCode(rows.dtype, tile, { load: 'scratch', store: last ? 'output' : 'scratch' })
    ctx.dispatch({
      name: 'sort(merge)', code,
      inputs: last ? [rows, keys, order] : [], outputs: last ? [values, indices] : [keys, order],
      uniforms: uniforms(m, m, tile / 2), workgroups: grid,
    })
  }
  return [values, indices]
}

/**
 * Top-k of long rows without sorting them whole: every tile of a row is sorted and only its best `run`
 * pairs (k rounded up to a power of two) are kept; then tiles of tile/run of those sorted runs are merged
 * and cut again, until one tile per row is left, whose first k pairs are the answer. Each round shrinks
 * the rows by tile/run (4 for k = 1000 in 4096-pair tiles), so the work is about one tile sort of the
 * input: for an RPN level of 200k anchors, 4 dispatches instead of a full sort's 28.
 */
const topRuns = (
  ctx: GpuContext, rows: GpuArray, count: number, n: number, mask: number, k: number, run: number, tile: number, out: [GpuArray, GpuArray],
): [GpuArray, GpuArray] => {
  let perRow = Math.ceil(n / tile)
  let runs: [GpuArray, GpuArray] | undefined
  const pass = (load: TileMode['load'], kLo: number, pairsPerRow: number) => {
    const store: TileMode['store'] = perRow === 1 ? 'output' : 'runs'
    const next: [GpuArray, GpuArray] = store === 'output' ? out
      : [ctx.alloc({ shape: [count * perRow * run], dtype: 'int32' }), ctx.alloc({ shape: [count * perRow * run], dtype: 'int32' })]
    const tiles = count * perRow
    const inputs = [...(load === 'input' || store === 'output' ? [rows] : []), ...(load === 'runs' ? runs! : [])]
    ctx.dispatch({
      name: 'topk(tile)', code: tileCode(rows.dtype, tile, { load, store }), inputs, outputs: next, workgroups: grid1d(ctx, tiles, 1),
      uniforms: [count, n, perRow * tile, kLo, tile, kLo / 2, mask, tiles, k, run, pairsPerRow, perRow],
    })
    runs = next
  }
  pass('input', 2, n)
  while (perRow > 1) {
    const pairsPerRow = perRow * run
    perRow = Math.ceil(pairsPerRow / tile)
    pass('runs', 2 * run, pairsPerRow)
  }
  return out
}

/** Sorts `x` along `axis` (normalized) and keeps the first `k` there: [values, int32 indices], stable, NaN largest. */
export const sortGpu = (ctx: GpuContext, x: GpuArray, axis: number, descending: boolean, k = x.shape[axis]!): [GpuArray, GpuArray] => {
  const shape = x.shape.map((d, a) => (a === axis ? k : d))
  const { rows, count, length } = rowsLast(ctx, 'sort', x, [axis])
  if (count * k === 0) return [ctx.alloc({ shape, dtype: x.dtype }), ctx.alloc({ shape, dtype: 'int32' })]
  const [values, indices] = sortRows(ctx, rows, count, length, descending, k)
  const r = x.shape.length
  if (axis === r - 1) return [ctx.reshape(values, shape), ctx.reshape(indices, shape)]
  // The sorted layout is the kept shape with `axis` moved last; read it back in x's order.
  const perm = [...Array.from({ length: r }, (_, i) => i).filter((i) => i !== axis), axis]
  const movedStrides = stridesOf(perm.map((p) => shape[p]!))
  const strides = shape.map((_, a) => movedStrides[perm.indexOf(a)]!)
  return [stridedGatherGpu(ctx, 'sort', values, { shape, dtype: x.dtype }, strides), stridedGatherGpu(ctx, 'sort', indices, { shape, dtype: 'int32' }, strides)]
}
