/**
 * WebGPU lowering of pasteMasks: one invocation per image pixel (n, i, j), which derives both axes'
 * taps from the box (the CPU kernel's `axisTaps`, same float32 steps) and mixes at most four mask cells.
 * The soft paste writes f32, the thresholded one a bool (u32 0/1): one shader per output dtype.
 *
 * Uniform words: [threads, h, w, Hm, Wm, threshold (f32 bits)].
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { fillGpu } from '../shape/wgsl.js'
import { f32Bits, grid1d, main1d, mathHelpers, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import type { PasteParams } from './masks.js'

const source = (soft: boolean) => `${uniformBlock}
${storageBindings([['M', 'float32'], ['B', 'float32']], [['O', soft ? 'float32' : 'bool']])}
${mathHelpers}
struct Taps { first: i32, w0: f32, w1: f32 }
// Pixel i of an axis of n pixels, box [lo, hi), mask axis of m cells: grid_sample's coordinate and taps.
fn taps(i: u32, lo: f32, hi: f32, m: u32) -> Taps {
  let g = (f32(i) + 0.5 - lo) / (hi - lo) * 2.0 - 1.0;
  let c = ((g + 1.0) * f32(m) - 1.0) / 2.0;
  var t: Taps;
  if (!isfinite_(c) || c <= -1.0 || c >= f32(m)) { t.first = -2; return t; }
  let c0 = floor(c);
  let frac = c - c0;
  t.first = i32(c0);
  t.w0 = select(0.0, 1.0 - frac, t.first >= 0);
  t.w1 = select(0.0, frac, t.first + 1 < i32(m));
  return t;
}
${main1d()}
  if (idx >= u(0u)) { return; }
  let h = u(1u); let w = u(2u); let hm = u(3u); let wm = u(4u);
  let j = idx % w; let i = (idx / w) % h; let n = idx / (w * h);
  let ty = taps(i, B[4u * n + 1u], B[4u * n + 3u], hm);
  let tx = taps(j, B[4u * n], B[4u * n + 2u], wm);
  var v = 0.0;
  if (ty.first != -2 && tx.first != -2) {
    let r0 = n * hm * wm + u32(max(ty.first, 0)) * wm;
    let r1 = n * hm * wm + u32(ty.first + 1) * wm;
    let c0 = u32(max(tx.first, 0)); let c1 = u32(tx.first + 1);
    if (ty.w0 != 0.0 && tx.w0 != 0.0) { v += M[r0 + c0] * (tx.w0 * ty.w0); }
    if (ty.w0 != 0.0 && tx.w1 != 0.0) { v += M[r0 + c1] * (tx.w1 * ty.w0); }
    if (ty.w1 != 0.0 && tx.w0 != 0.0) { v += M[r1 + c0] * (tx.w0 * ty.w1); }
    if (ty.w1 != 0.0 && tx.w1 != 0.0) { v += M[r1 + c1] * (tx.w1 * ty.w1); }
  }
  O[idx] = ${soft ? 'v' : 'select(0u, 1u, v >= uf(5u))'};
}`

/** Masks f32[N,Hm,Wm] pasted into boxes f32[N,4] → f32 or bool [N,h,w] (as `out`). */
export const pasteMasksGpu = (ctx: GpuContext, masks: GpuArray, boxes: GpuArray, out: Aval, p: PasteParams): GpuArray => {
  const threads = size(out.shape)
  const [, hm, wm] = masks.shape as [number, number, number]
  if (threads === 0 || hm === 0 || wm === 0) return fillGpu(ctx, out, 0)
  const o = ctx.alloc(out)
  ctx.dispatch({
    name: 'pasteMasks', code: source(p.threshold === null), inputs: [masks, boxes], outputs: [o],
    uniforms: [threads, p.height, p.width, hm, wm, f32Bits(p.threshold ?? 0)], workgroups: grid1d(ctx, threads),
  })
  return o
}
