/**
 * Shared WGSL for lowerings: the uniform block, dtype mapping, the 1-D dispatch grid (split into two
 * dimensions past 65,535 workgroups), broadcast index math with shapes in uniforms, and scalar helpers
 * that WGSL lacks or leaves implementation-defined (NaN-propagating max/min, pow of negative bases,
 * log1p/expm1/erf accurate near 0). Kernels are keyed by their source, so nothing shape-specific may be
 * baked into the source: shapes, strides and sizes go through `uniforms`.
 */
import type { DType } from '../../core/dtype.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { type Shape, stridesOf } from '../../core/shape.js'

/**
 * A memo of kernel sources (or their labels), keyed by an owner object (e.g. a fused chain's body, stable for the life of a
 * compiled program) and a short variant string. A hit rebuilds nothing and returns the very string
 * object of the first build, whose hash V8 keeps, so the runtime's pipeline lookup is cheap too: a jitted
 * replay of cached kernels costs lookups, not kilobytes of WGSL rebuilt and rehashed per dispatch.
 */
export const sourceMemo = <K extends object>(): ((owner: K, variant: string, build: () => string) => string) => {
  const byOwner = new WeakMap<K, Map<string, string>>()
  return (owner, variant, build) => {
    let variants = byOwner.get(owner)
    if (variants === undefined) byOwner.set(owner, (variants = new Map()))
    let code = variants.get(variant)
    if (code === undefined) variants.set(variant, (code = build()))
    return code
  }
}

/** A memo of kernel sources keyed by a string that determines the source (see `sourceMemo`). */
export const keyedSourceMemo = (): ((key: string, build: () => string) => string) => {
  const codes = new Map<string, string>()
  return (key, build) => {
    let code = codes.get(key)
    if (code === undefined) codes.set(key, (code = build()))
    return code
  }
}

export const WORKGROUP = 256

/** Elements per invocation in flat elementwise kernels: fewer, fatter invocations amortise per-invocation cost. */
export const PER_THREAD = 4

/**
 * The loop of a flat elementwise kernel (inside `main1d`, n = the element count at uniform word 0):
 * invocation idx takes elements idx, idx + L, idx + 2L, idx + 3L for L = ⌈n / PER_THREAD⌉, so at each
 * step neighbouring invocations touch neighbouring elements — coalesced on a GPU, and contiguous vector
 * loads on a CPU adapter that runs invocations as SIMD lanes (4 consecutive elements per invocation made
 * every load a strided gather there). `body` sees the element index `i`.
 */
export const flatLoop = (body: string): string => `  let n = u(0u);
  let lanes = (n + ${PER_THREAD - 1}u) / ${PER_THREAD}u;
  if (idx >= lanes) { return; }
  for (var q = 0u; q < ${PER_THREAD}u; q++) {
    let i = idx + q * lanes;
    if (i >= n) { return; }
${body}
  }`
export const MAX_RANK = 8

/** The WGSL storage type of a dtype (bool is one u32 per element). */
export const wgslType = (d: DType): string => (d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'u32')

/** Bit pattern of a float for the uniform block. */
export const f32Bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!

/** Declares the uniform block (binding 0) with accessors `u(i)` (u32), `ui(i)` (i32), `uf(i)` (f32). */
export const uniformBlock = `
@group(0) @binding(0) var<uniform> U: array<vec4<u32>, 16>;
fn u(i: u32) -> u32 { return U[i >> 2u][i & 3u]; }
fn ui(i: u32) -> i32 { return bitcast<i32>(u(i)); }
fn uf(i: u32) -> f32 { return bitcast<f32>(u(i)); }
`

/** Declares storage bindings: inputs (read) from binding 1, then outputs (read_write). */
export const storageBindings = (inputs: readonly [string, DType][], outputs: readonly [string, DType][]): string =>
  [
    ...inputs.map(([name, d], i) => `@group(0) @binding(${i + 1}) var<storage, read> ${name}: array<${wgslType(d)}>;`),
    ...outputs.map(([name, d], i) => `@group(0) @binding(${inputs.length + i + 1}) var<storage, read_write> ${name}: array<${wgslType(d)}>;`),
  ].join('\n')

/** Workgroup counts for `threads` invocations of WORKGROUP each, split over x and y past the limit. */
export const grid1d = (ctx: GpuContext, threads: number, perGroup = WORKGROUP): [number, number, number] => {
  const groups = Math.ceil(threads / perGroup)
  const max = ctx.maxWorkgroupsPerDimension
  return groups <= max ? [groups, 1, 1] : [max, Math.ceil(groups / max), 1]
}

/** Entry point header for 1-D kernels: defines `idx` (global linear invocation index). */
export const main1d = (perGroup = WORKGROUP): string => `
@compute @workgroup_size(${perGroup})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * ${perGroup}u;`

/** Strides of `shape` broadcast to `outShape`, padded to MAX_RANK (0 on broadcast axes). */
export const broadcastStridesPadded = (shape: Shape, outShape: Shape): number[] => {
  const own = stridesOf(shape)
  const offset = outShape.length - shape.length
  const strides = outShape.map((d, i) => (i < offset || shape[i - offset] === 1 ? 0 : own[i - offset]!))
  return padStrides(strides)
}

export const padShape = (shape: Shape): number[] => [...shape, ...new Array(MAX_RANK - shape.length).fill(1)]

/** Strides padded to MAX_RANK with zeros (the uniform layout of a walk's strides). */
export const padStrides = (strides: readonly number[]): number[] => [...strides, ...new Array(MAX_RANK - strides.length).fill(0)]

/**
 * The walk of a strided kernel with as few axes as possible: size-1 axes of `shape` dropped, and each
 * axis merged into the one before it when, for every operand, that one's stride is its stride times its
 * size (the two then walk the operand as one axis). `strides`: one list per operand, over `shape`'s axes.
 * A transpose NCHW → NHWC of one image becomes a 2-D walk; a slice of whole rows, one run.
 */
export const collapseWalk = (shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } => {
  const dims: number[] = []
  const steps: number[][] = strides.map(() => [])
  for (let k = 0; k < shape.length; k++) {
    const d = shape[k]!
    if (d === 1) continue
    const last = dims.length - 1
    if (last >= 0 && strides.every((st, o) => steps[o]![last] === st[k]! * d)) {
      dims[last] = dims[last]! * d
      strides.forEach((st, o) => { steps[o]![last] = st[k]! })
    } else {
      dims.push(d)
      strides.forEach((st, o) => steps[o]!.push(st[k]!))
    }
  }
  return { shape: dims, strides: steps }
}

/**
 * Uniform words of a strided kernel's walk over `domain` for operands of `shapes` broadcast into it:
 * [rank, shape[8], strides_0[8], strides_1[8], ...] after collapsing (see `offsetFn`, which takes the rank).
 */
export const broadcastWalk = (shapes: readonly Shape[], domain: Shape): { rank: number; words: number[] } => {
  const walk = collapseWalk(domain, shapes.map((s) => broadcastStridesPadded(s, domain)))
  return { rank: walk.shape.length, words: [walk.shape.length, ...padShape(walk.shape), ...walk.strides.flatMap(padStrides)] }
}

/**
 * WGSL `fn name(i: u32) -> u32` mapping an output linear index to an operand's element offset, with the
 * output shape at uniform words `shapeWord..+8` and the operand's strides at `stridesWord..+8`. Given
 * `rank`, the walk is unrolled for it (one division per axis but the outermost; a loop over a uniform
 * rank took lavapipe about twice as long), so sources that pass it are keyed by rank; without it, the
 * rank is read from word `rankWord`.
 */
export const offsetFn = (name: string, rankWord: number, shapeWord: number, stridesWord: number, rank?: number): string => {
  if (rank === undefined) {
    return `
fn ${name}(i: u32) -> u32 {
  var rem = i;
  var off = 0u;
  let rank = u(${rankWord}u);
  for (var k = 0u; k < rank; k++) {
    let ax = rank - 1u - k;
    let d = u(${shapeWord}u + ax);
    off += (rem % d) * u(${stridesWord}u + ax);
    rem /= d;
  }
  return off;
}`
  }
  const steps = Array.from({ length: Math.max(0, rank - 1) }, (_, j) => {
    const k = rank - 1 - j
    return `  { let d = u(${shapeWord + k}u); let q = rem / d; off += (rem - q * d) * u(${stridesWord + k}u); rem = q; }\n`
  })
  return `
fn ${name}(i: u32) -> u32 {
  var rem = i;
  var off = 0u;
${steps.join('')}${rank > 0 ? `  off += rem * u(${stridesWord}u);\n` : ''}  return off;
}`
}

/** Scalar helpers with CPU-reference semantics. */
export const mathHelpers = `
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isfinite_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
// NaN and Inf are built from a runtime value: WGSL rejects them as constant expressions.
fn nan_(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) | 0x7fc00000u); }
fn inf_(x: f32) -> f32 { return bitcast<f32>((bitcast<u32>(x) & 0x80000000u) | 0x7f800000u); }
fn maxf_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(a); } return max(a, b); }
fn minf_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(a); } return min(a, b); }
// Drivers may compile float math with fast-math assumptions ((1 + x) - 1 == x, no NaNs), so the
// classic compensated formulas are unreliable here: near 0 these use series instead.
fn log1p_(x: f32) -> f32 {
  if (abs(x) >= 0.5) { return log(1.0 + x); }
  // log1p(x) = 2 atanh(s), s = x / (2 + x), |s| < 1/3: odd series to s^13.
  let s = x / (2.0 + x);
  let s2 = s * s;
  return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 / 13.0))))));
}
fn expm1_(x: f32) -> f32 {
  if (abs(x) >= 0.5) { return exp(x) - 1.0; }
  return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x / 362880.0))))))));
}
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnan_(a) || isnan_(b)) { return nan_(a); }
  if (a == 0.0) { return select(0.0, inf_(1.0 + a * 0.0), b < 0.0); }
  if (a < 0.0) {
    if (fract(b) != 0.0) { return nan_(a); }
    let r = pow(-a, b);
    return select(r, -r, fract(b * 0.5) != 0.0);
  }
  return pow(a, b);
}
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  if (z < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 - x2 * (1.0 / 3.0 - x2 * (0.1 - x2 * (1.0 / 42.0 - x2 * (1.0 / 216.0 - x2 / 1320.0)))));
  }
  let t = 1.0 / (1.0 + 0.5 * z);
  let e = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(e - 1.0, 1.0 - e, x >= 0.0);
}
// tanh(x) = x·P(x²)/Q(x²) on |x| ≤ 9 (beyond, ±1 in f32): a rational fit (scripts/fit-tanh.py) with no exp
// and no branch; 3.1e-7 relative error at most in f32 (5 ulp), as the expm1 form it replaced, and exact
// for tiny x (P(0) = Q(0) = 1). NaN passes through (clamp may turn it into a bound).
fn tanh_(x: f32) -> f32 {
  let c = clamp(x, -9.0, 9.0);
  let t = c * c;
  let p = 1.0 + t * (1.3085763e-1 + t * (3.1058777e-3 + t * (1.1173405e-5 + t * (-2.0296788e-8 + t * (5.3092968e-11 + t * -8.5616505e-14)))));
  let q = 1.0 + t * (4.6419093e-1 + t * (2.4502931e-2 + t * 2.548884e-4));
  return select(clamp(c * p / q, -1.0, 1.0), x, isnan_(x));
}
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn f2i_(x: f32) -> i32 {
  if (isnan_(x)) { return 0; }
  if (x >= 2147483520.0) { return 2147483647; }
  if (x <= -2147483648.0) { return -2147483647 - 1; }
  return i32(trunc(x));
}
`

/** A shape's size, for guards. */
export const threadsFor = (x: GpuArray): number => x.shape.reduce((a, b) => a * b, 1)
