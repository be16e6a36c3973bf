/**
 * WebGPU lowerings of the max-pooling pair. `poolSelect` is one pass: each output element scans its
 * window for the first maximum (the CPU kernel's rule: a later value wins only if strictly larger or NaN;
 * padding is never a candidate). `poolScatter` is two passes and needs no atomics: the first stores every
 * window's argmax, the second lets each *input* element gather the cotangents of the windows that chose
 * it. A window containing input row r at tap i starts at oy = (r + ph − i·dh) / sh, so the candidates
 * are at most kh·kw windows, visited in ascending output order — the order in which the CPU kernel adds
 * them, which makes the float sums bit-identical.
 *
 * Uniform words (both kernels): [threads, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw].
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { grid1d, main1d, mathHelpers, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import type { PoolGeometry } from './geometry.js'

// The first maximum of window (oy, ox) in plane p, as an offset within the plane, or −1 when every tap
// lies in the padding. NaN is tested on the bits and tracked in a flag: fast-math drivers may fold
// comparisons against NaN.
const argmaxFn = `
fn windowArgmax(p: u32, oy: i32, ox: i32) -> i32 {
  let h = ui(1u); let w = ui(2u);
  let base = p * u(1u) * u(2u);
  var best = -1;
  var bestValue = 0.0;
  var bestIsNan = false;
  for (var i = 0; i < ui(5u); i++) {
    let r = oy * ui(7u) - ui(9u) + i * ui(11u);
    if (r < 0 || r >= h) { continue; }
    for (var j = 0; j < ui(6u); j++) {
      let c = ox * ui(8u) - ui(10u) + j * ui(12u);
      if (c < 0 || c >= w) { continue; }
      let at = r * w + c;
      let v = K[base + u32(at)];
      let nan = isnan_(v);
      if (best < 0 || nan || (!bestIsNan && v > bestValue)) { best = at; bestValue = v; bestIsNan = nan; }
    }
  }
  return best;
}`

const outputCoords = `
  let ow = u(4u); let oh = u(3u);
  let p = idx / (oh * ow);
  let oy = i32((idx / ow) % oh);
  let ox = i32(idx % ow);`

const selectSource = `${uniformBlock}
${mathHelpers}
${storageBindings([['K', 'float32'], ['V', 'float32']], [['O', 'float32']])}
${argmaxFn}
${main1d()}
  if (idx >= u(0u)) { return; }
${outputCoords}
  let best = windowArgmax(p, oy, ox);
  if (best < 0) { O[idx] = inf_(-1.0); return; }
  O[idx] = V[p * u(1u) * u(2u) + u32(best)];
}`

const argmaxSource = `${uniformBlock}
${mathHelpers}
${storageBindings([['K', 'float32']], [['A', 'int32']])}
${argmaxFn}
${main1d()}
  if (idx >= u(0u)) { return; }
${outputCoords}
  A[idx] = windowArgmax(p, oy, ox);
}`

// One thread per input element (p, r, c): for each tap row i from the last to the first (ascending oy),
// and each tap column likewise, the window starting there is a candidate if it exists.
const gatherSource = `${uniformBlock}
${storageBindings([['A', 'int32'], ['C', 'float32']], [['O', 'float32']])}
${main1d()}
  if (idx >= u(0u)) { return; }
  let h = u(1u); let w = u(2u); let oh = ui(3u); let ow = ui(4u);
  let p = idx / (h * w);
  let at = i32(idx % (h * w));
  let r = at / i32(w);
  let c = at % i32(w);
  let planeOut = p * u(3u) * u(4u);
  var acc = 0.0;
  for (var i = ui(5u) - 1; i >= 0; i--) {
    let ty = r + ui(9u) - i * ui(11u);
    if (ty < 0 || ty % ui(7u) != 0) { continue; }
    let oy = ty / ui(7u);
    if (oy >= oh) { continue; }
    for (var j = ui(6u) - 1; j >= 0; j--) {
      let tx = c + ui(10u) - j * ui(12u);
      if (tx < 0 || tx % ui(8u) != 0) { continue; }
      let ox = tx / ui(8u);
      if (ox >= ow) { continue; }
      let o = planeOut + u32(oy * ow + ox);
      if (A[o] == at) { acc += C[o]; }
    }
  }
  O[idx] = acc;
}`

const geometryWords = (threads: number, keys: Aval, g: PoolGeometry): number[] => [
  threads, keys.shape[2]!, keys.shape[3]!, g.out[0], g.out[1], ...g.kernel, ...g.stride, ...g.padding, ...g.dilation,
]

/** values at each window's first argmax of keys. keys, values: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const poolSelectGpu = (ctx: GpuContext, keys: GpuArray, values: GpuArray, g: PoolGeometry, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const n = size(out.shape)
  if (n === 0) return o
  ctx.dispatch({ name: 'poolSelect', code: selectSource, inputs: [keys, values], outputs: [o], uniforms: geometryWords(n, keys, g), workgroups: grid1d(ctx, n) })
  return o
}

/** Adds ct at each window's first argmax of keys. keys: f32[N,C,H,W], ct: f32[N,C,OH,OW] → f32[N,C,H,W] */
export const poolScatterGpu = (ctx: GpuContext, keys: GpuArray, ct: GpuArray, g: PoolGeometry, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const n = size(out.shape)
  if (n === 0) return o
  const windows = size(ct.shape)
  const argmax = ctx.alloc({ shape: ct.shape, dtype: 'int32' })
  if (windows > 0) {
    ctx.dispatch({ name: 'poolArgmax', code: argmaxSource, inputs: [keys], outputs: [argmax], uniforms: geometryWords(windows, keys, g), workgroups: grid1d(ctx, windows) })
  }
  ctx.dispatch({ name: 'poolScatter', code: gatherSource, inputs: [argmax, ct], outputs: [o], uniforms: geometryWords(n, keys, g), workgroups: grid1d(ctx, n) })
  return o
}
