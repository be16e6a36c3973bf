/**
 * WebGPU NMS, the parallel scheme of torchvision's CUDA kernel:
 *   1. sort the scores (the `sort` lowering: stable, descending) and gather the boxes in that order with
 *      their areas (or, rotated, their cos/sin) and classes;
 *   2. the suppression bitmask in parallel: one 64-invocation workgroup per (row block, column block) of
 *      64 boxes, the column boxes staged in workgroup memory; invocation i sets bit j of its row when box
 *      j (later in score order) has IoU > t with box i and the same class. Blocks left of the diagonal
 *      are never written and never read;
 *   3. one workgroup walks the rows in order: per block of 64 rows, invocation 0 settles which rows are
 *      kept (reading the diagonal block), then all invocations OR the kept rows' masks into the running
 *      "removed" bitset — two barriers per 64 boxes, not one per box. It stops at the capacity.
 *
 * Exactness: the axis-aligned decision must equal the CPU reference (float32 arithmetic, IoU correctly
 * rounded, "> t") even when the IoU sits on the threshold, yet WGSL division may be 2.5 ulp off and the
 * compiler may fuse a multiply into a neighbouring add. So areas are computed in step 1 and stored (a
 * stored value is rounded), the intersection enters the union through a multiply by a uniform 1 (fused or
 * not, that is one rounding of `areas - inter`), and when the approximate quotient lands near t the
 * decision is redone exactly in integers: RN(inter/union) > t ⟺ inter > m·union, m the midpoint between
 * t and the next float (≥ when RN rounds the midpoint up), with m·union formed as a 49-bit product.
 * Rotated IoU (trigonometry, a polygon clip) is float32 and agrees with the float64 CPU reference up to
 * rounding: a pair within ~1e-6 of the threshold may decide differently.
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { fail } from '../../core/errors.js'
import type { Aval } from '../../core/tensor.js'
import { sortGpu } from '../sort/wgsl.js'
import { fillGpu } from '../shape/wgsl.js'
import { f32Bits, grid1d, main1d, uniformBlock } from '../wgsl/prelude.js'

/** Words per staged box: 5 geometry words, area, class, spare. */
const STRIDE = 8
const SCAN_THREADS = 256

const bindings = (reads: readonly string[], writes: readonly string[]): string =>
  [
    ...reads.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${n};`),
    ...writes.map((n, i) => `@group(0) @binding(${reads.length + i + 1}) var<storage, read_write> ${n};`),
  ].join('\n')

// Uniform words of every kernel: [n, W (mask words per row), t bits, t < 0, M, E, tie rounds up, batched,
// band, one (1.0), capacity].
const stageSource = (rotated: boolean): string => `${uniformBlock}
${bindings(['X: array<f32>', 'Order: array<i32>', 'Cls: array<i32>'], ['S: array<u32>'])}
${main1d()}
  if (idx >= u(0u)) { return; }
  let src = u32(Order[idx]);
  let o = idx * ${STRIDE}u;
  ${rotated
    ? `let b = src * 5u;
  for (var k = 0u; k < 4u; k++) { S[o + k] = bitcast<u32>(X[b + k]); }
  let theta = X[b + 4u] * 0.017453292519943295;
  S[o + 4u] = bitcast<u32>(cos(theta));
  S[o + 5u] = bitcast<u32>(sin(theta));`
    : `let b = src * 4u;
  for (var k = 0u; k < 4u; k++) { S[o + k] = bitcast<u32>(X[b + k]); }
  S[o + 4u] = bitcast<u32>((X[b + 2u] - X[b]) * (X[b + 3u] - X[b + 1u]));
  S[o + 5u] = 0u;`}
  S[o + 6u] = select(0u, bitcast<u32>(Cls[src]), u(7u) == 1u);
}`

/** Exact `RN(inter / union) > t` for positive finite inter, union and t ≥ 0, on bit patterns. */
const exactCompare = `
fn mant(b: u32) -> u32 { return select(b & 0x7fffffu, (b & 0x7fffffu) | 0x800000u, (b >> 23u) != 0u); }
fn expo(b: u32) -> i32 { return max(i32(b >> 23u), 1) - 150; }
// a < 2^25, b < 2^24: the 49-bit product as (hi, lo) from 16-bit limbs.
fn mul64(a: u32, b: u32) -> vec2<u32> {
  let lo0 = (a & 0xffffu) * (b & 0xffffu);
  let mid = (a >> 16u) * (b & 0xffffu) + (a & 0xffffu) * (b >> 16u);
  let lo = lo0 + (mid << 16u);
  return vec2<u32>((a >> 16u) * (b >> 16u) + (mid >> 16u) + select(0u, 1u, lo < lo0), lo);
}
fn bitlen(x: u32) -> i32 { return 32 - i32(countLeadingZeros(x)); }
fn bitlen64(v: vec2<u32>) -> i32 { return select(bitlen(v.y), 32 + bitlen(v.x), v.x != 0u); }
// Shifts by s in [0, 63] (WGSL takes shift counts modulo 32, so the cases are spelled out).
fn shl64(v: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return v; }
  if (s >= 32u) { return vec2<u32>(v.y << (s - 32u), 0u); }
  return vec2<u32>((v.x << s) | (v.y >> (32u - s)), v.y << s);
}
fn shr64(v: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return v; }
  if (s >= 32u) { return vec2<u32>(0u, v.x >> (s - 32u)); }
  return vec2<u32>(v.x >> s, (v.y >> s) | (v.x << (32u - s)));
}
fn cmp64(a: vec2<u32>, b: vec2<u32>) -> i32 {
  if (a.x != b.x) { return select(-1, 1, a.x > b.x); }
  if (a.y != b.y) { return select(-1, 1, a.y > b.y); }
  return 0;
}
fn ratioAbove(inter: f32, uni: f32) -> bool {
  let bi = bitcast<u32>(inter);
  let bu = bitcast<u32>(uni);
  let mi = mant(bi);
  let p = mul64(u(4u), mant(bu));
  let d = expo(bi) - (ui(5u) + expo(bu));
  let lenA = bitlen(mi) + d;
  let lenP = bitlen64(p);
  if (lenA != lenP) { return lenA > lenP; }
  var c = 0;
  if (d >= 0) {
    c = cmp64(shl64(vec2<u32>(0u, mi), u32(d)), p);
  } else {
    let s = u32(-d);
    c = cmp64(vec2<u32>(0u, mi), shr64(p, s));
    if (c == 0 && cmp64(shl64(shr64(p, s), s), p) != 0) { c = -1; }
  }
  return c > 0 || (c == 0 && u(6u) == 1u);
}`

const axisAlignedIou = `${exactCompare}
fn above(a: array<f32, 6>, b: array<f32, 6>) -> bool {
  let w = min(a[2], b[2]) - max(a[0], b[0]);
  let h = min(a[3], b[3]) - max(a[1], b[1]);
  let inter = max(w, 0.0) * max(h, 0.0);
  if (!(inter > 0.0)) { return u(3u) == 1u; }
  if (u(3u) == 1u) { return true; }
  let uni = (a[4] + b[4]) - inter * uf(9u);
  let q = inter / uni;
  let t = uf(2u);
  let band = uf(8u);
  if (q > t + band) { return true; }
  if (q < t - band) { return false; }
  return ratioAbove(inter, uni);
}`

// Staged rotated box: cx, cy, w, h, cos, sin.
const rotatedIou = `
const EPS: f32 = 1e-5;
fn crs(a: vec2<f32>, b: vec2<f32>) -> f32 { return a.x * b.y - b.x * a.y; }
fn corners(b: array<f32, 6>, m: vec2<f32>) -> array<vec2<f32>, 4> {
  let c = vec2<f32>(b[0], b[1]) - m;
  let co = b[4] * 0.5;
  let si = b[5] * 0.5;
  let p0 = vec2<f32>(c.x + si * b[3] + co * b[2], c.y + co * b[3] - si * b[2]);
  let p1 = vec2<f32>(c.x - si * b[3] + co * b[2], c.y - co * b[3] - si * b[2]);
  return array<vec2<f32>, 4>(p0, p1, 2.0 * c - p0, 2.0 * c - p1);
}
fn inRect(p: vec2<f32>, q: array<vec2<f32>, 4>) -> bool {
  let ab = q[1] - q[0];
  let ad = q[3] - q[0];
  let ap = p - q[0];
  let u1 = dot(ap, ab);
  let v1 = dot(ap, ad);
  return u1 > -EPS && v1 > -EPS && u1 < dot(ab, ab) + EPS && v1 < dot(ad, ad) + EPS;
}
fn rotatedIou(a: array<f32, 6>, b: array<f32, 6>) -> f32 {
  let areaA = a[2] * a[3];
  let areaB = b[2] * b[3];
  if (areaA < 1e-14 || areaB < 1e-14) { return 0.0; }
  let m = 0.5 * (vec2<f32>(a[0], a[1]) + vec2<f32>(b[0], b[1]));
  var p = corners(a, m);
  var q = corners(b, m);
  var pts: array<vec2<f32>, 24>;
  var k = 0u;
  for (var i = 0u; i < 4u; i++) {
    let pv = p[(i + 1u) % 4u] - p[i];
    for (var j = 0u; j < 4u; j++) {
      let qv = q[(j + 1u) % 4u] - q[j];
      let det = crs(qv, pv);
      if (!(abs(det) > 1e-14)) { continue; }
      let d = q[j] - p[i];
      let t1 = crs(qv, d) / det;
      let t2 = crs(pv, d) / det;
      if (t1 > -EPS && t1 < 1.0 + EPS && t2 > -EPS && t2 < 1.0 + EPS) { pts[k] = p[i] + pv * t1; k++; }
    }
  }
  for (var i = 0u; i < 4u; i++) { if (inRect(p[i], q)) { pts[k] = p[i]; k++; } }
  for (var i = 0u; i < 4u; i++) { if (inRect(q[i], p)) { pts[k] = q[i]; k++; } }
  if (k < 3u) { return 0.0; }
  var c = vec2<f32>(0.0, 0.0);
  for (var i = 0u; i < k; i++) { c += pts[i]; }
  c = c / f32(k);
  // Every candidate lies on the intersection's boundary: order by pseudo-angle around the centroid.
  var ang: array<f32, 24>;
  for (var i = 0u; i < k; i++) {
    let d = pts[i] - c;
    let l1 = abs(d.x) + abs(d.y);
    let r = select(0.0, d.x / l1, l1 > 0.0);
    ang[i] = select(3.0 + r, 1.0 - r, d.y >= 0.0);
    pts[i] = d;
  }
  for (var i = 1u; i < k; i++) {
    let pa = ang[i];
    let pp = pts[i];
    var j = i;
    while (j > 0u && ang[j - 1u] > pa) { ang[j] = ang[j - 1u]; pts[j] = pts[j - 1u]; j--; }
    ang[j] = pa;
    pts[j] = pp;
  }
  var twice = 0.0;
  for (var i = 0u; i < k; i++) { twice += crs(pts[i], pts[(i + 1u) % k]); }
  let inter = min(max(twice * 0.5, 0.0), min(areaA, areaB));
  return inter / (areaA + areaB - inter);
}
fn above(a: array<f32, 6>, b: array<f32, 6>) -> bool { return rotatedIou(a, b) > uf(2u); }`

const maskSource = (rotated: boolean): string => `${uniformBlock}
${bindings(['S: array<u32>'], ['Mask: array<u32>'])}
${rotated ? rotatedIou : axisAlignedIou}
var<workgroup> col: array<u32, ${64 * STRIDE}>;
fn boxAt(w: array<u32, ${STRIDE}>) -> array<f32, 6> {
  return array<f32, 6>(bitcast<f32>(w[0]), bitcast<f32>(w[1]), bitcast<f32>(w[2]), bitcast<f32>(w[3]), bitcast<f32>(w[4]), bitcast<f32>(w[5]));
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let n = u(0u);
  let W = u(1u);
  let rowBlock = wid.y;
  let colBlock = wid.x;
  if (colBlock < rowBlock) { return; }
  let j0 = colBlock * 64u;
  if (j0 + tid < n) { for (var k = 0u; k < ${STRIDE}u; k++) { col[tid * ${STRIDE}u + k] = S[(j0 + tid) * ${STRIDE}u + k]; } }
  workgroupBarrier();
  let i = rowBlock * 64u + tid;
  if (i >= n) { return; }
  var own: array<u32, ${STRIDE}>;
  for (var k = 0u; k < ${STRIDE}u; k++) { own[k] = S[i * ${STRIDE}u + k]; }
  let a = boxAt(own);
  var bits = vec2<u32>(0u, 0u);
  for (var c = 0u; c < 64u; c++) {
    let j = j0 + c;
    if (j >= n) { break; }
    if (j <= i) { continue; }
    if (u(7u) == 1u && col[c * ${STRIDE}u + 6u] != own[6]) { continue; }
    var w: array<u32, ${STRIDE}>;
    for (var k = 0u; k < ${STRIDE}u; k++) { w[k] = col[c * ${STRIDE}u + k]; }
    if (above(a, boxAt(w))) {
      if (c < 32u) { bits.x |= 1u << c; } else { bits.y |= 1u << (c - 32u); }
    }
  }
  Mask[i * W + 2u * colBlock] = bits.x;
  Mask[i * W + 2u * colBlock + 1u] = bits.y;
}`

const scanSource = `${uniformBlock}
${bindings(['Mask: array<u32>', 'Order: array<i32>'], ['Out: array<i32>', 'Count: array<i32>', 'Removed: array<u32>'])}
var<workgroup> keptLo: u32;
var<workgroup> keptHi: u32;
var<workgroup> kept: u32;
@compute @workgroup_size(${SCAN_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let n = u(0u);
  let W = u(1u);
  let capacity = u(10u);
  let blocks = W / 2u;
  for (var w = tid; w < W; w += ${SCAN_THREADS}u) { Removed[w] = 0u; }
  storageBarrier();
  var count = 0u;
  for (var b = 0u; b < blocks; b++) {
    if (tid == 0u) {
      var lo = Removed[2u * b];
      var hi = Removed[2u * b + 1u];
      var keep = vec2<u32>(0u, 0u);
      for (var r = 0u; r < 64u; r++) {
        let i = b * 64u + r;
        if (i >= n || count >= capacity) { break; }
        let gone = select((hi >> (r - 32u)) & 1u, (lo >> r) & 1u, r < 32u);
        if (gone == 0u) {
          Out[count] = Order[i];
          count++;
          if (r < 32u) { keep.x |= 1u << r; } else { keep.y |= 1u << (r - 32u); }
          lo |= Mask[i * W + 2u * b];
          hi |= Mask[i * W + 2u * b + 1u];
        }
      }
      keptLo = keep.x;
      keptHi = keep.y;
      kept = count;
    }
    let klo = workgroupUniformLoad(&keptLo);
    let khi = workgroupUniformLoad(&keptHi);
    if (workgroupUniformLoad(&kept) >= capacity) { break; }
    for (var w = 2u * b + 2u + tid; w < W; w += ${SCAN_THREADS}u) {
      var acc = Removed[w];
      var bl = klo;
      while (bl != 0u) { let r = countTrailingZeros(bl); bl &= bl - 1u; acc |= Mask[(b * 64u + r) * W + w]; }
      var bh = khi;
      while (bh != 0u) { let r = countTrailingZeros(bh); bh &= bh - 1u; acc |= Mask[(b * 64u + 32u + r) * W + w]; }
      Removed[w] = acc;
    }
    storageBarrier();
  }
  let total = workgroupUniformLoad(&kept);
  for (var p = total + tid; p < capacity; p += ${SCAN_THREADS}u) { Out[p] = -1; }
  if (tid == 0u) { Count[0] = i32(total); }
}`

/**
 * Uniform words for the threshold: its float32 value t, whether t < 0 (every overlapping pair and every
 * disjoint one suppresses), and the midpoint m = M·2^E between t and the next float with whether a
 * quotient exactly at m rounds up to that next float (ties to even: when t's last mantissa bit is 1).
 */
const thresholdWords = (threshold: number): { t: number; negative: number; m: number; e: number; tieUp: number; band: number } => {
  const t = Math.fround(threshold) || 0
  const bits = f32Bits(t)
  const exp = (bits >>> 23) & 0xff
  const frac = bits & 0x7fffff
  const mant = exp === 0 ? frac : frac | 0x800000
  // Quotients within the band of t take the exact path; the approximate one is far better than 2^-10.
  const band = Math.max(Math.abs(t) * 2 ** -10, 2 ** -100)
  return { t: bits, negative: t < 0 ? 1 : 0, m: 2 * mant + 1, e: (Math.max(exp, 1) - 151) >>> 0, tieUp: mant & 1, band: f32Bits(band) }
}

/** Lowers `nms`: boxes f32[N,4|5], scores f32[N] (classes i32[N]) → [i32[capacity] padded with -1, i32[] count]. */
export const nmsGpu = (ctx: GpuContext, boxes: GpuArray, scores: GpuArray, classes: GpuArray | undefined, threshold: number, capacity: number, [indicesAval, countAval]: readonly Aval[]): GpuArray[] => {
  const n = scores.shape[0]!
  if (n === 0 || capacity === 0) return [fillGpu(ctx, indicesAval!, -1), fillGpu(ctx, countAval!, 0)]
  const rotated = boxes.shape[1] === 5
  const blocks = Math.ceil(n / 64)
  if (blocks > ctx.maxWorkgroupsPerDimension) fail('nms', `${n} boxes exceed the WebGPU grid of ${ctx.maxWorkgroupsPerDimension} blocks of 64`)
  const words = 2 * blocks
  const { t, negative, m, e, tieUp, band } = thresholdWords(threshold)
  const uniforms = [n, words, t, negative, m, e, tieUp, classes === undefined ? 0 : 1, band, f32Bits(1), capacity]
  const [, order] = sortGpu(ctx, scores, 0, true)
  const staged = ctx.alloc({ shape: [n * STRIDE], dtype: 'int32' })
  ctx.dispatch({
    name: 'nms.stage', code: stageSource(rotated), inputs: [boxes, order, classes ?? order], outputs: [staged], uniforms, workgroups: grid1d(ctx, n),
  })
  const mask = ctx.alloc({ shape: [n * words], dtype: 'int32' })
  ctx.dispatch({ name: 'nms.mask', code: maskSource(rotated), inputs: [staged], outputs: [mask], uniforms, workgroups: [blocks, blocks, 1] })
  const indices = ctx.alloc(indicesAval!)
  const count = ctx.alloc(countAval!)
  const removed = ctx.alloc({ shape: [words], dtype: 'int32' })
  ctx.dispatch({ name: 'nms.scan', code: scanSource, inputs: [mask, order], outputs: [indices, count, removed], uniforms, workgroups: [1, 1, 1] })
  return [indices, count]
}
