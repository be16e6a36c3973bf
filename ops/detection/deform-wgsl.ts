/**
 * WebGPU lowerings of deformSample and its transpose (see deform-sample.ts for the layout). The forward
 * is a gather, one invocation per column element (n, c, k, p), which recomputes its sample point (cheap
 * next to the four loads). The transpose scatters every column element onto its four corners with an
 * atomic float add (a compare-exchange loop on the u32 bit pattern; WGSL has no float atomics), so its
 * sums run in a data-race-dependent order and may differ from the CPU's by rounding.
 *
 * Uniform words: [threads, n, c, h, w, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw, dg, derivative].
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { fillGpu } from '../shape/wgsl.js'
import { grid1d, main1d, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import type { SampleGeometry } from './deform-sample.js'

const uniforms = (g: SampleGeometry, threads: number): number[] =>
  [threads, g.n, g.c, g.h, g.w, g.kh, g.kw, g.ho, g.wo, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.dg, g.derivative]

// Decomposes idx = ((b·C + ch)·K + k)·P + p, finds the sample point and its corner taps (as `corners` in
// deform-sample.ts: `at` is −1 for a corner outside the plane; `inside` false where every mode reads 0).
const locate = `
struct Sample { plane: u32, inside: bool, at: vec4<i32>, wt: vec4<f32> }
fn locate(idx: u32) -> Sample {
  let c = u(2u); let h = i32(u(3u)); let w = i32(u(4u)); let kw = u(6u);
  let kk = u(5u) * kw; let pp = u(7u) * u(8u);
  let p = idx % pp; let t = idx / pp; let k = t % kk; let bc = t / kk;
  let ch = bc % c; let b = bc / c;
  let grp = ch / (c / u(15u));
  let base = ((b * u(15u) + grp) * kk + k) * 2u * pp;
  let oh = i32(p / u(8u)); let ow = i32(p % u(8u));
  let ki = i32(k / kw); let kj = i32(k % kw);
  let y = f32(oh * ui(9u) - ui(11u) + ki * ui(13u)) + OFF[base + p];
  let x = f32(ow * ui(10u) - ui(12u) + kj * ui(14u)) + OFF[base + pp + p];
  var s: Sample;
  s.plane = bc * u32(h * w);
  s.inside = y > -1.0 && y < f32(h) && x > -1.0 && x < f32(w);
  if (!s.inside) { return s; }
  let y0 = floor(y); let x0 = floor(x);
  let ly = y - y0; let lx = x - x0; let hy = 1.0 - ly; let hx = 1.0 - lx;
  switch (u(16u)) {
    case 0u: { s.wt = vec4<f32>(hy * hx, hy * lx, ly * hx, ly * lx); }
    case 1u: { s.wt = vec4<f32>(-hx, -lx, hx, lx); }
    case 2u: { s.wt = vec4<f32>(-hy, hy, -ly, ly); }
    default: { s.wt = vec4<f32>(1.0, -1.0, -1.0, 1.0); }
  }
  let iy = i32(y0); let ix = i32(x0);
  let top = iy >= 0; let bottom = iy + 1 < h; let left = ix >= 0; let right = ix + 1 < w;
  s.at = vec4<i32>(select(-1, iy * w + ix, top && left), select(-1, iy * w + ix + 1, top && right),
                   select(-1, (iy + 1) * w + ix, bottom && left), select(-1, (iy + 1) * w + ix + 1, bottom && right));
  return s;
}`

const sampleSource = `${uniformBlock}
${storageBindings([['X', 'float32'], ['OFF', 'float32']], [['O', 'float32']])}
${locate}
${main1d()}
  if (idx >= u(0u)) { return; }
  let s = locate(idx);
  var acc = 0.0;
  if (s.inside) {
    for (var t = 0u; t < 4u; t++) {
      if (s.at[t] >= 0) { acc += s.wt[t] * X[s.plane + u32(s.at[t])]; }
    }
  }
  O[idx] = acc;
}`

const transposeSource = `${uniformBlock}
${storageBindings([['COLS', 'float32'], ['OFF', 'float32']], [])}
@group(0) @binding(3) var<storage, read_write> O: array<atomic<u32>>;
fn addAt(i: u32, v: f32) {
  var old = atomicLoad(&O[i]);
  loop {
    let r = atomicCompareExchangeWeak(&O[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}
${locate}
${main1d()}
  if (idx >= u(0u)) { return; }
  let v = COLS[idx];
  if (v == 0.0) { return; }
  let s = locate(idx);
  if (!s.inside) { return; }
  for (var t = 0u; t < 4u; t++) {
    if (s.at[t] >= 0) { addAt(s.plane + u32(s.at[t]), s.wt[t] * v); }
  }
}`

/** Columns f32[N,C,K,P] of x sampled at the deformed taps (mode `g.derivative`). */
export const deformSampleGpu = (ctx: GpuContext, x: GpuArray, offset: GpuArray, out: Aval, g: SampleGeometry): GpuArray => {
  const o = ctx.alloc(out)
  const threads = size(out.shape)
  if (threads === 0) return o
  ctx.dispatch({ name: 'deformSample', code: sampleSource, inputs: [x, offset], outputs: [o], uniforms: uniforms(g, threads), workgroups: grid1d(ctx, threads) })
  return o
}

/** The image f32[N,C,H,W] that the columns scatter back to (zero-filled first, then atomic adds). */
export const deformSampleTransposeGpu = (ctx: GpuContext, cols: GpuArray, offset: GpuArray, out: Aval, g: SampleGeometry): GpuArray => {
  const o = fillGpu(ctx, out, 0)
  const threads = size(cols.shape)
  if (threads === 0 || size(out.shape) === 0) return o
  ctx.dispatch({ name: 'deformSampleTranspose', code: transposeSource, inputs: [cols, offset], outputs: [o], uniforms: uniforms(g, threads), workgroups: grid1d(ctx, threads) })
  return o
}
