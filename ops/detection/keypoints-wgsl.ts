/**
 * WebGPU lowering of heatmapsToKeypoints: one workgroup per (roi, keypoint). Its invocations stride over
 * the roi-sized output cells (row-major, so each keeps its first maximum), evaluating the bicubic sample
 * on the fly in the CPU kernel's order (four rows along x, then along y; no upsampled map is stored),
 * then reduce (max, first index) and Σ exp(map − max) in workgroup memory. Grid: (roi, keypoint) pairs
 * numbered linearly over x and y, so neither dimension passes 65,535.
 *
 * Uniform words: [pairs, K, H, W].
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Aval } from '../../core/tensor.js'
import { mathHelpers, storageBindings, uniformBlock } from '../wgsl/prelude.js'

const THREADS = 256
const NONE = 0xffffffff

const source = `${uniformBlock}
${storageBindings([['M', 'float32'], ['R', 'float32']], [['O', 'float32']])}
${mathHelpers}
var<workgroup> bestV: array<f32, ${THREADS}>;
var<workgroup> bestI: array<u32, ${THREADS}>;
var<workgroup> sums: array<f32, ${THREADS}>;

const A: f32 = -0.75;
fn near(x: f32) -> f32 { return ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0; }
fn far(x: f32) -> f32 { return ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A; }
fn weights(t: f32) -> vec4<f32> { return vec4<f32>(far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)); }
// Source index ⌊s⌋ − 1 and the fraction t of output cell o when an axis of n cells is resized to m.
fn source(o: u32, n: u32, m: u32) -> vec2<f32> {
  let s = (f32(n) / f32(m)) * (f32(o) + 0.5) - 0.5;
  let i = floor(s);
  return vec2<f32>(i - 1.0, s - i);
}
fn tap(first: f32, j: i32, n: u32) -> u32 { return u32(clamp(i32(first) + j, 0, i32(n) - 1)); }
// A later candidate (v, i) beats the current best when larger, or equal with a smaller index.
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  if (i == ${NONE}u) { return false; }
  if (bi == ${NONE}u) { return true; }
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let pair = wg.x + wg.y * nwg.x;
  let live = pair < u(0u);
  let k = u(1u); let h = u(2u); let w = u(3u);
  let roi = select(0u, pair / k, live);
  let x1 = R[4u * roi]; let y1 = R[4u * roi + 1u]; let x2 = R[4u * roi + 2u]; let y2 = R[4u * roi + 3u];
  // Checked on the loaded bits: max() may drop a NaN, and the CPU kernel returns NaN rows for these.
  let finite = isfinite_(x1) && isfinite_(y1) && isfinite_(x2) && isfinite_(y2) && isfinite_(x2 - x1) && isfinite_(y2 - y1);
  let width = max(x2 - x1, 1.0);
  let height = max(y2 - y1, 1.0);
  let cellsX = select(0u, u32(ceil(width)), live && finite);
  let cellsY = select(0u, u32(ceil(height)), live && finite);
  let plane = select(0u, pair, live) * h * w;
  var bv = 0.0;
  var bi = ${NONE}u;
  for (var q = lid; q < cellsX * cellsY; q += ${THREADS}u) {
    let i = q / cellsX; let j = q % cellsX;
    let sx = source(j, w, cellsX); let wx = weights(sx.y);
    let sy = source(i, h, cellsY); let wy = weights(sy.y);
    var v = 0.0;
    for (var a = 0; a < 4; a++) {
      let row = plane + tap(sy.x, a, h) * w;
      var along = 0.0;
      for (var b = 0; b < 4; b++) { along += wx[b] * M[row + tap(sx.x, b, w)]; }
      v += wy[a] * along;
    }
    if (bi == ${NONE}u || v > bv) { bv = v; bi = q; }
  }
  bestV[lid] = bv; bestI[lid] = bi;
  workgroupBarrier();
  for (var s = ${THREADS / 2}u; s > 0u; s >>= 1u) {
    if (lid < s && beats(bestV[lid + s], bestI[lid + s], bestV[lid], bestI[lid])) { bestV[lid] = bestV[lid + s]; bestI[lid] = bestI[lid + s]; }
    workgroupBarrier();
  }
  let top = bestV[0];
  let found = bestI[0] != ${NONE}u;
  var total = 0.0;
  if (found) { for (var q = lid; q < h * w; q += ${THREADS}u) { total += exp(M[plane + q] - top); } }
  sums[lid] = total;
  workgroupBarrier();
  for (var s = ${THREADS / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { sums[lid] += sums[lid + s]; }
    workgroupBarrier();
  }
  if (lid != 0u || !live) { return; }
  let o = 4u * pair;
  if (!found) { let nan = nan_(top); O[o] = nan; O[o + 1u] = nan; O[o + 2u] = nan; O[o + 3u] = nan; return; }
  let xi = bestI[0] % cellsX; let yi = bestI[0] / cellsX;
  O[o] = (f32(xi) + 0.5) * (width / f32(cellsX)) + x1;
  O[o + 1u] = (f32(yi) + 0.5) * (height / f32(cellsY)) + y1;
  O[o + 2u] = top;
  O[o + 3u] = 1.0 / sums[0];
}`

/** f32[R,K,4] keypoints (x, y, logit, score) from maps f32[R,K,H,W] and rois f32[R,4]. */
export const decodeHeatmapsGpu = (ctx: GpuContext, maps: GpuArray, rois: GpuArray, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const [r, k, h, w] = maps.shape as [number, number, number, number]
  const pairs = r * k
  if (pairs === 0) return o
  const max = ctx.maxWorkgroupsPerDimension
  const x = Math.min(pairs, max)
  ctx.dispatch({ name: 'heatmapsToKeypoints', code: source, inputs: [maps, rois], outputs: [o], uniforms: [pairs, k, h, w], workgroups: [x, Math.ceil(pairs / x), 1] })
  return o
}
