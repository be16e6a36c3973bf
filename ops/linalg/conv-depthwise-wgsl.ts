/**
 * Direct WebGPU kernels for depthwise convolutions (one input channel per group and fewer than 4 output
 * channels per group, as MobileNet's), where a GEMM tile would be 1 column wide: the forward pass and
 * the input gradient give each output element its own invocation summing over the kh·kw taps, and the
 * weight gradient (O·kh·kw outputs, each a sum over N·Ho·Wo products) gives each weight a workgroup
 * that reduces in a shared-memory tree. Geometry travels in uniforms, as for every kernel.
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Aval } from '../../core/tensor.js'
import { f32Bits, grid1d, main1d, uniformBlock } from '../wgsl/prelude.js'
import type { ConvGeometry } from './conv-kernels.js'
import { divmodFn } from './gemm-wgsl.js'

// Uniform words: 0 outputs, 1 N, 2 C, 3 H, 4 W, 5 O, 6 Ho, 7 Wo, 8 sh, 9 sw, 10 padTop, 11 padLeft, 12 dh,
// 13 dw, 14 kh, 15 kw, 16 Og (output channels per group).
const geometryWords = (g: ConvGeometry, count: number): number[] => [
  count, g.n, g.c, g.h, g.w, g.o, g.ho, g.wo, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW, g.kh, g.kw, g.o / g.groups,
]

const geometry = `
  let N = u(1u); let C = u(2u); let H = u(3u); let W = u(4u); let O = u(5u); let Ho = u(6u); let Wo = u(7u);
  let sh = u(8u); let sw = u(9u); let pt = ui(10u); let pl = ui(11u); let dh = u(12u); let dw = u(13u);
  let kh = u(14u); let kw = u(15u); let Og = u(16u);`

const forwardSource = `${uniformBlock}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${main1d()}
  if (idx >= u(0u)) { return; }
${geometry}
  let ow = idx % Wo; let oh = (idx / Wo) % Ho; let no = idx / (Wo * Ho); let o = no % O; let n = no / O;
  let xb = (n * C + o / Og) * H * W;
  let ih0 = i32(oh * sh) - pt; let iw0 = i32(ow * sw) - pl;
  var s = 0.0;
  for (var ki = 0u; ki < kh; ki++) {
    let ih = ih0 + i32(ki * dh);
    if (u32(ih) >= H) { continue; }
    for (var kj = 0u; kj < kw; kj++) {
      let iw = iw0 + i32(kj * dw);
      if (u32(iw) < W) { s += X[xb + u32(ih) * W + u32(iw)] * Wt[(o * kh + ki) * kw + kj]; }
    }
  }
  Y[idx] = s;
}`

const inputGradSource = `${uniformBlock}
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${main1d()}
  if (idx >= u(0u)) { return; }
${geometry}
  let iw = idx % W; let ih = (idx / W) % H; let nc = idx / (W * H); let c = nc % C; let n = nc / C;
  var s = 0.0;
  for (var j = 0u; j < Og; j++) {
    let o = c * Og + j;
    let gb = (n * O + o) * Ho * Wo;
    for (var ki = 0u; ki < kh; ki++) {
      let th = i32(ih) + pt - i32(ki * dh);
      if (th < 0 || u32(th) % sh != 0u || u32(th) / sh >= Ho) { continue; }
      for (var kj = 0u; kj < kw; kj++) {
        let tw = i32(iw) + pl - i32(kj * dw);
        if (tw >= 0 && u32(tw) % sw == 0u && u32(tw) / sw < Wo) {
          s += G[gb + (u32(th) / sh) * Wo + u32(tw) / sw] * Wt[(o * kh + ki) * kw + kj];
        }
      }
    }
  }
  DX[idx] = s;
}`

const TREE = 256

// Extra uniform words: 17 Ho·Wo, 18 1/(Ho·Wo), 19 1/Wo.
const weightGradSource = `${uniformBlock}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;
${divmodFn}
var<workgroup> part: array<f32, ${TREE}>;
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let e = wg.x + wg.y * nwg.x;
  if (e >= u(0u)) { return; }
${geometry}
  let HoWo = u(17u); let rHoWo = bitcast<f32>(u(18u)); let rWo = bitcast<f32>(u(19u));
  let kj = e % kw; let ki = (e / kw) % kh; let o = e / (kw * kh);
  let c = o / Og;
  var s = 0.0;
  for (var p = tid; p < N * HoWo; p += ${TREE}u) {
    let np = divmod(p, HoWo, rHoWo); let hw = divmod(np.y, Wo, rWo);
    let ih = i32(hw.x * sh) - pt + i32(ki * dh); let iw = i32(hw.y * sw) - pl + i32(kj * dw);
    if (u32(ih) < H && u32(iw) < W) {
      s += G[(np.x * O + o) * HoWo + np.y] * X[((np.x * C + c) * H + u32(ih)) * W + u32(iw)];
    }
  }
  part[tid] = s;
  workgroupBarrier();
  for (var half = ${TREE / 2}u; half > 0u; half >>= 1u) {
    if (tid < half) { part[tid] += part[tid + half]; }
    workgroupBarrier();
  }
  if (tid == 0u) { DW[e] = part[0]; }
}`

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** y = conv2d(x, w) for a depthwise geometry (see `isDepthwise`). */
export const depthwiseConvGpu = (ctx: GpuContext, x: GpuArray, w: GpuArray, g: ConvGeometry, out: Aval): GpuArray => {
  const y = ctx.alloc(out)
  const n = count(out.shape)
  if (n > 0) ctx.dispatch({ name: 'conv2d.depthwise', code: forwardSource, inputs: [x, w], outputs: [y], uniforms: geometryWords(g, n), workgroups: grid1d(ctx, n) })
  return y
}

/** dx = conv2dInputGrad(g, w) for a depthwise geometry. */
export const depthwiseInputGradGpu = (ctx: GpuContext, gy: GpuArray, w: GpuArray, g: ConvGeometry, out: Aval): GpuArray => {
  const dx = ctx.alloc(out)
  const n = count(out.shape)
  if (n > 0) ctx.dispatch({ name: 'conv2dInputGrad.depthwise', code: inputGradSource, inputs: [gy, w], outputs: [dx], uniforms: geometryWords(g, n), workgroups: grid1d(ctx, n) })
  return dx
}

/** dw = conv2dWeightGrad(x, g) for a depthwise geometry. */
export const depthwiseWeightGradGpu = (ctx: GpuContext, x: GpuArray, gy: GpuArray, g: ConvGeometry, out: Aval): GpuArray => {
  const dw = ctx.alloc(out)
  const n = count(out.shape)
  if (n === 0) return dw
  const hw = g.ho * g.wo
  ctx.dispatch({
    name: 'conv2dWeightGrad.depthwise', code: weightGradSource, inputs: [x, gy], outputs: [dw],
    uniforms: [...geometryWords(g, n), hw, f32Bits(1 / Math.max(1, hw)), f32Bits(1 / Math.max(1, g.wo))], workgroups: grid1d(ctx, n, 1),
  })
  return dw
}
