/**
 * WebGPU lowering of the resample2d pair: two passes per call, the W axis then the H axis (the CPU
 * kernel's order), each a 1-D map along one axis of an array viewed as [outer, length, inner]. The tap
 * tables are never uploaded: each thread derives its row of the axis map from the map's few parameters
 * in the uniforms (`row(o)` below mirrors taps.ts, with the float32 ratio computed on the host so the
 * source index of nearest and linear maps is the same correctly rounded product as on the CPU).
 *
 * The transpose is a gather too: every row's tap range [s(o), e(o)) is nondecreasing in o for all four
 * map kinds, so the outputs that read input i form one run [first o with e(o) > i, first o with
 * s(o) > i), found by two binary searches; no atomics, and each sum runs in ascending output order as in
 * the CPU's transposed taps.
 *
 * Uniform words: [threads, lenIn, lenOut, inner, kind, inSize, outSize, kernel, stride, padding,
 * countIncludePad, alignCorners, scale (f32 bits)]; lenIn/lenOut are the pass's own input/output
 * lengths along the axis (outSize/inSize for a transposed pass).
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { f32Bits, grid1d, main1d, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import type { ResampleParams } from './resample.js'
import { type AxisMap, linearRatio, sourceScale } from './taps.js'

const KIND = { window: 0, adaptive: 1, nearest: 2, linear: 3 } as const

// A row of an axis map: taps s ≤ i < e with weight w each, or (pair) tap s with weight w and tap e − 1
// with weight w1 (the same input when e = s + 1). Adaptive bin bounds avoid o·in overflowing u32 by
// splitting in = q·out + rem.
const rowFn = `
struct Row { s: i32, e: i32, w: f32, w1: f32, pair: bool }
fn row(o: i32) -> Row {
  let n = ui(5u);
  let m = ui(6u);
  let kind = u(4u);
  if (kind == ${KIND.window}u) {
    let lo = o * ui(8u) - ui(9u);
    let hi = min(lo + ui(7u), n + ui(9u));
    let s = max(lo, 0);
    let e = min(hi, n);
    let divisor = select(e - s, hi - lo, u(10u) == 1u);
    return Row(s, e, 1.0 / f32(divisor), 0.0, false);
  }
  if (kind == ${KIND.adaptive}u) {
    let ou = u32(o);
    let q = u32(n) / u32(m);
    let rem = u32(n) % u32(m);
    let s = ou * q + (ou * rem) / u32(m);
    let e = (ou + 1u) * q + ((ou + 1u) * rem + u32(m) - 1u) / u32(m);
    return Row(i32(s), i32(e), 1.0 / f32(e - s), 0.0, false);
  }
  if (kind == ${KIND.nearest}u) {
    var i = min(i32(floor(f32(o) * uf(12u))), n - 1);
    if (m == n) { i = o; } else if (m == 2 * n) { i = o >> 1u; }
    return Row(i, i + 1, 1.0, 0.0, false);
  }
  if (m == n) { return Row(o, o + 1, 1.0, 0.0, true); }
  var src = uf(12u) * f32(o);
  if (u(11u) == 0u) { src = max(uf(12u) * (f32(o) + 0.5) - 0.5, 0.0); }
  let i0 = min(i32(floor(src)), n - 1);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  let i1 = i0 + select(0, 1, i0 < n - 1);
  return Row(i0, i1 + 1, 1.0 - l1, l1, true);
}`

const coords = `
  if (idx >= u(0u)) { return; }
  let inner = u(3u);
  let b = idx % inner;
  let t = idx / inner;
  let o = i32(t % u(2u));
  let base = (t / u(2u)) * u(1u) * inner + b;`

const forwardSource = `${uniformBlock}
${storageBindings([['X', 'float32']], [['O', 'float32']])}
${rowFn}
${main1d()}
${coords}
  let r = row(o);
  if (r.pair) {
    O[idx] = r.w * X[base + u32(r.s) * inner] + r.w1 * X[base + u32(r.e - 1) * inner];
    return;
  }
  var acc = 0.0;
  for (var i = r.s; i < r.e; i++) { acc += X[base + u32(i) * inner]; }
  // A pooling window over an empty axis has no taps (and a zero divisor without countIncludePad).
  O[idx] = select(0.0, acc * r.w, r.e > r.s);
}`

const transposeSource = `${uniformBlock}
${storageBindings([['X', 'float32']], [['O', 'float32']])}
${rowFn}
${main1d()}
${coords}
  let m = ui(6u);
  var lo = 0;
  var hi = m;
  while (lo < hi) { let mid = (lo + hi) >> 1u; if (row(mid).e > o) { hi = mid; } else { lo = mid + 1; } }
  let first = lo;
  hi = m;
  while (lo < hi) { let mid = (lo + hi) >> 1u; if (row(mid).s > o) { hi = mid; } else { lo = mid + 1; } }
  var acc = 0.0;
  for (var q = first; q < lo; q++) {
    let r = row(q);
    var w = r.w;
    if (r.pair) { w = select(0.0, r.w, o == r.s) + select(0.0, r.w1, o == r.e - 1); }
    acc += w * X[base + u32(q) * inner];
  }
  O[idx] = acc;
}`

/** The uniform words describing `map` (words 4..12). */
const mapWords = (map: AxisMap): number[] => {
  const common = [map.inSize, map.outSize]
  switch (map.kind) {
    case 'window':
      return [KIND.window, ...common, map.kernel, map.stride, map.padding, map.countIncludePad ? 1 : 0, 0, 0]
    case 'adaptive':
      return [KIND.adaptive, ...common, 0, 0, 0, 0, 0, 0]
    case 'nearest':
      return [KIND.nearest, ...common, 0, 0, 0, 0, 0, f32Bits(sourceScale(map.scale, map.inSize, map.outSize))]
    case 'linear':
      return [KIND.linear, ...common, 0, 0, 0, 0, map.alignCorners ? 1 : 0, f32Bits(linearRatio(map))]
    default:
      return map satisfies never
  }
}

/** One pass along the middle axis of x viewed as [outer, length, inner]. */
const axisPass = (ctx: GpuContext, x: GpuArray, map: AxisMap, transposed: boolean, outer: number, inner: number, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const [lenIn, lenOut] = transposed ? [map.outSize, map.inSize] : [map.inSize, map.outSize]
  const threads = outer * lenOut * inner
  if (threads === 0) return o
  ctx.dispatch({
    name: transposed ? 'resample2dTranspose' : 'resample2d',
    code: transposed ? transposeSource : forwardSource,
    inputs: [x], outputs: [o],
    uniforms: [threads, lenIn, lenOut, inner, ...mapWords(map)],
    workgroups: grid1d(ctx, threads),
  })
  return o
}

/**
 * resample2d (or its transpose) on WebGPU: the W map then the H map.
 * x: f32[N,C,h.in,w.in] → f32[N,C,h.out,w.out] (transposed: the other way round)
 */
export const resampleGpu = (ctx: GpuContext, x: GpuArray, { h, w }: ResampleParams, transposed: boolean, out: Aval): GpuArray => {
  if (size(out.shape) === 0) return ctx.alloc(out)
  const planes = x.shape[0]! * x.shape[1]!
  const rows = x.shape[2]!
  const wide = out.shape[3]!
  const mid = axisPass(ctx, x, w, transposed, planes * rows, 1, { shape: [planes, rows, wide], dtype: 'float32' })
  return ctx.reshape(axisPass(ctx, mid, h, transposed, planes, wide, { shape: [planes, out.shape[2]!, wide], dtype: 'float32' }), out.shape)
}
