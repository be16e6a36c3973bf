/**
 * WebGPU lowerings of the counter-based random primitives. Threefry is pure u32 arithmetic (wrapping
 * adds, xors, rotations written as two shifts), which WGSL defines exactly, so the GPU produces the
 * CPU's words bit for bit; the round function is generated from the same rotation table as the CPU
 * kernel (threefry.ts). `unitFloat` is exact as well (mantissa bits under exponent 0, minus 1). Only
 * `erfInv` is float math: it evaluates Giles' polynomial in float32 where the CPU uses float64.
 */
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { elementwiseGpu } from '../elementwise/wgsl.js'
import { MAX_RANK, broadcastStridesPadded, grid1d, main1d, mathHelpers, offsetFn, padShape, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import { C240, ROTATIONS } from './threefry.js'

/** Builds a source on first use: threefry.ts imports this module, so its tables are not ready at load. */
const lazy = (f: () => string): (() => string) => {
  let code: string | undefined
  return () => (code ??= f())
}

/** `fn threefry(k0, k1, c0, c1) -> vec2<u32>`: threefry2x32-20, rounds unrolled. */
const threefryFn = (): string => {
  const lines: string[] = []
  for (let g = 0; g < 5; g++) {
    for (let j = 0; j < 4; j++) {
      const r = ROTATIONS[(g & 1) * 4 + j]!
      lines.push(`  x0 += x1; x1 = ((x1 << ${r}u) | (x1 >> ${32 - r}u)) ^ x0;`)
    }
    const s = g + 1
    const ks = ['k0', 'k1', 'k2']
    lines.push(`  x0 += ${ks[s % 3]}; x1 += ${ks[(s + 1) % 3]} + ${s}u;`)
  }
  return `
fn threefry(k0: u32, k1: u32, c0: u32, c1: u32) -> vec2<u32> {
  let k2 = k0 ^ k1 ^ ${C240}u;
  var x0 = c0 + k0;
  var x1 = c1 + k1;
${lines.join('\n')}
  return vec2<u32>(x0, x1);
}`
}

// Uniform words: [n, rank, shape[8] at 2, strides of operand k[8] at 10 + 8k].
const threefrySource = lazy(() => `${uniformBlock}
${storageBindings([['K0', 'int32'], ['K1', 'int32'], ['C0', 'int32'], ['C1', 'int32']], [['Y0', 'int32'], ['Y1', 'int32']])}
${threefryFn()}
${[0, 1, 2, 3].map((k) => offsetFn(`off${k}`, 1, 2, 2 + MAX_RANK * (k + 1))).join('\n')}
${main1d()}
  if (idx >= u(0u)) { return; }
  let y = threefry(bitcast<u32>(K0[off0(idx)]), bitcast<u32>(K1[off1(idx)]), bitcast<u32>(C0[off2(idx)]), bitcast<u32>(C1[off3(idx)]));
  Y0[idx] = bitcast<i32>(y.x);
  Y1[idx] = bitcast<i32>(y.y);
}`)

/** threefry2x32 with broadcasting: k0, k1, c0, c1: i32[...] → [i32[out], i32[out]] */
export const threefryGpu = (ctx: GpuContext, words: readonly GpuArray[], out: Aval): GpuArray[] => {
  if (out.shape.length > MAX_RANK) fail('threefry2x32', `rank ${out.shape.length} exceeds the WebGPU limit of ${MAX_RANK}`)
  const y0 = ctx.alloc(out)
  const y1 = ctx.alloc(out)
  const n = size(out.shape)
  if (n === 0) return [y0, y1]
  ctx.dispatch({
    name: 'threefry2x32', code: threefrySource(), inputs: words, outputs: [y0, y1],
    uniforms: [n, out.shape.length, ...padShape(out.shape), ...words.flatMap((w) => broadcastStridesPadded(w.shape, out.shape))],
    workgroups: grid1d(ctx, n),
  })
  return [y0, y1]
}

// Uniform words: [total, perKey]. Element i of key k is x0 ^ x1 of threefry(key k, (hi32(i), lo32(i))),
// and hi32 is 0 for every u32 index.
const bitsSource = lazy(() => `${uniformBlock}
${storageBindings([['K0', 'int32'], ['K1', 'int32']], [['O', 'int32']])}
${threefryFn()}
${main1d()}
  if (idx >= u(0u)) { return; }
  let k = idx / u(1u);
  let y = threefry(bitcast<u32>(K0[k]), bitcast<u32>(K1[k]), 0u, idx % u(1u));
  O[idx] = bitcast<i32>(y.x ^ y.y);
}`)

/** randomBits: k0, k1: i32[...K] → i32[...K, ...shape] */
export const randomBitsGpu = (ctx: GpuContext, k0: GpuArray, k1: GpuArray, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const total = size(out.shape)
  if (total === 0) return o
  const perKey = total / size(k0.shape)
  ctx.dispatch({ name: 'randomBits', code: bitsSource(), inputs: [k0, k1], outputs: [o], uniforms: [total, perKey], workgroups: grid1d(ctx, total) })
  return o
}

/** unitFloat: i32[...] → f32[...] in [0, 1), exactly the CPU's values. */
export const unitFloatGpu = (ctx: GpuContext, x: GpuArray, out: Aval): GpuArray =>
  elementwiseGpu(ctx, 'unitFloat', 'bitcast<f32>((bitcast<u32>(a) >> 9u) | 0x3f800000u) - 1.0', [x], out)

// Giles' float32 erfinv (erfinv.ts). Near |x| = 1 the argument of the log is formed as (1 − |x|)(1 + |x|):
// 1 − |x| is exact there, while 1 − x² would lose most of its bits to the rounding of x².
const erfInvSource = `${uniformBlock}
${mathHelpers}
${storageBindings([['X', 'float32']], [['O', 'float32']])}
fn erfinv_(x: f32) -> f32 {
  let a = abs(x);
  if (isnan_(x) || a > 1.0) { return nan_(x); }
  if (a == 1.0) { return inf_(x); }
  var w = -log1p_(-x * x);
  if (a >= 0.5) { w = -log((1.0 - a) * (1.0 + a)); }
  var p: f32;
  if (w < 5.0) {
    w = w - 2.5;
    p = 2.81022636e-8;
    p = 3.43273939e-7 + p * w;
    p = -3.5233877e-6 + p * w;
    p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  return p * x;
}
${main1d()}
  if (idx >= u(0u)) { return; }
  O[idx] = erfinv_(X[idx]);
}`

/** erfInv: f32[...] → f32[...] */
export const erfInvGpu = (ctx: GpuContext, x: GpuArray, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const n = size(out.shape)
  if (n === 0) return o
  ctx.dispatch({ name: 'erfInv', code: erfInvSource, inputs: [x], outputs: [o], uniforms: [n], workgroups: grid1d(ctx, n) })
  return o
}
