/**
 * WebGPU lowerings of ROIAlign (axis-aligned and rotated) and of its transpose.
 *
 * Forward: one thread per output element (k, c, bin row, bin column), sampling as the CPU kernel does.
 *
 * Backward without float atomics, as a gather that is deterministic and follows the CPU scatter's order.
 * One workgroup owns a 16×16 tile of one image for 8 channels. For each chunk of 1,024 rois it first
 * marks, in a workgroup bitmask (`atomicOr` on u32, which is order-independent), the rois of this image
 * whose sample extent can reach the tile; then every pixel walks the marked rois in ascending order and,
 * for each, only the sample indices whose coordinates can touch it: a pixel row h reads samples with
 * y in [h − 1, h + 1] (plus [−1, 0] at the top edge and [H − 1, H] at the bottom, where coordinates are
 * clamped), which inverts to a short index range per axis (for rotated rois through the pixel box's
 * corners in the roi frame), widened by a slack for float rounding. Every candidate sample is then
 * evaluated exactly as in the forward pass, so the ranges only need to be supersets. Contributions are
 * added roi by roi, bin by bin, sample by sample — the order in which the CPU kernel scatters into that
 * pixel — so results repeat bit for bit from run to run and match the CPU up to the driver's rounding
 * choices (contraction, reassociation): bit-identical on lavapipe for axis-aligned rois.
 * Cost per pixel: the rois overlapping its tile, times the few samples that reach it; the tile test and
 * the sample weights are shared by the 8 channels.
 *
 * Uniform words: [threads | workgroups, N, C, H, W, K, PH, PW, mode (0 legacy, 1 aligned, 2 rotated),
 * samplingRatio, spatialScale (f32 bits), roi columns, tilesX, tilesY].
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { f32Bits, grid1d, main1d, mathHelpers, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import { type RoiAlignParams, type RoiMode, roiColumns } from './roi-geometry.js'

const MODE: Record<RoiMode, number> = { legacy: 0, aligned: 1, rotated: 2 }
const TILE = 16
const CHUNK = 1024
/** Channels per backward workgroup: the tile test and the sample weights are shared by them. */
const CHANNELS = 8

// cos and sin of an angle in degrees: reduced exactly in degrees to [−45°, 45°] plus a quadrant, then
// Taylor polynomials (error < 3e-8). Hardware sin/cos may be accurate to only ~1e-3 far from 0.
const roiFns = `
fn cosSinDeg(a: f32) -> vec2<f32> {
  let d = a - 360.0 * round(a / 360.0);
  let q = round(d / 90.0);
  let x = (d - 90.0 * q) * 0.017453292519943295;
  let x2 = x * x;
  let s = x * (1.0 - x2 * (1.0 / 6.0) * (1.0 - x2 * (1.0 / 20.0) * (1.0 - x2 * (1.0 / 42.0) * (1.0 - x2 * (1.0 / 72.0) * 1.0))));
  let c = 1.0 - x2 * (1.0 / 2.0) * (1.0 - x2 * (1.0 / 12.0) * (1.0 - x2 * (1.0 / 30.0) * (1.0 - x2 * (1.0 / 56.0) * 1.0)));
  let quadrant = (i32(q) + 4) % 4;
  if (quadrant == 1) { return vec2<f32>(-s, c); }
  if (quadrant == 2) { return vec2<f32>(-c, -s); }
  if (quadrant == 3) { return vec2<f32>(s, -c); }
  return vec2<f32>(c, s);
}

struct Roi { ok: bool, n: u32, sy: f32, sx: f32, bh: f32, bw: f32, gh: i32, gw: i32, count: f32, cy: f32, cx: f32, ct: f32, st: f32 }

fn gridOf(bin: f32) -> i32 {
  if (ui(9u) > 0) { return ui(9u); }
  if (isnan_(bin) || !(bin > 0.0) || !(bin < 2147483648.0)) { return 0; }
  return i32(ceil(bin));
}

fn roiAt(k: u32) -> Roi {
  var r: Roi;
  let base = k * u(11u);
  let b = R[base];
  r.ok = !isnan_(b) && b > -1.0 && b < f32(u(1u));
  if (!r.ok) { return r; }
  r.n = u32(max(b, 0.0));
  let scale = uf(10u);
  r.cy = 0.0; r.cx = 0.0; r.ct = 1.0; r.st = 0.0;
  var rh: f32;
  var rw: f32;
  if (u(8u) == 2u) {
    r.cx = R[base + 1u] * scale - 0.5;
    r.cy = R[base + 2u] * scale - 0.5;
    rw = R[base + 3u] * scale;
    rh = R[base + 4u] * scale;
    let cs = cosSinDeg(R[base + 5u]);
    r.ct = cs.x;
    r.st = cs.y;
    r.sy = -rh / 2.0;
    r.sx = -rw / 2.0;
  } else {
    let off = select(0.0, 0.5, u(8u) == 1u);
    r.sx = R[base + 1u] * scale - off;
    r.sy = R[base + 2u] * scale - off;
    rw = (R[base + 3u] * scale - off) - r.sx;
    rh = (R[base + 4u] * scale - off) - r.sy;
    if (u(8u) == 0u) {
      if (!isnan_(rw) && rw < 1.0) { rw = 1.0; }
      if (!isnan_(rh) && rh < 1.0) { rh = 1.0; }
    }
  }
  r.bh = rh / f32(u(6u));
  r.bw = rw / f32(u(7u));
  r.gh = gridOf(r.bh);
  r.gw = gridOf(r.bw);
  r.count = max(f32(r.gh) * f32(r.gw), 1.0);
  return r;
}

fn axisSample(start: f32, bin: f32, g: i32, cell: i32, i: i32) -> f32 {
  return (start + f32(cell) * bin) + ((f32(i) + 0.5) * bin) / f32(g);
}

// Image coordinates (y, x) of sample (in .x, .y) (iy, ix) of bin (by, bx).
fn sampleAt(r: Roi, by: i32, iy: i32, bx: i32, ix: i32) -> vec2<f32> {
  let yy = axisSample(r.sy, r.bh, r.gh, by, iy);
  let xx = axisSample(r.sx, r.bw, r.gw, bx, ix);
  if (u(8u) == 2u) { return vec2<f32>((yy * r.ct - xx * r.st) + r.cy, (yy * r.st + xx * r.ct) + r.cx); }
  return vec2<f32>(yy, xx);
}

fn inRange(y: f32, len: u32) -> bool { return !isnan_(y) && y >= -1.0 && y <= f32(len); }

struct Tap { lo: i32, hi: i32, wlo: f32, whi: f32 }

fn tapOf(y: f32, len: i32) -> Tap {
  var v = max(y, 0.0);
  var lo = i32(v);
  var hi = lo + 1;
  if (lo >= len - 1) { lo = len - 1; hi = lo; v = f32(lo); }
  let l = v - f32(lo);
  return Tap(lo, hi, 1.0 - l, l);
}
`

const forwardSource = `${uniformBlock}
${mathHelpers}
${storageBindings([['X', 'float32'], ['R', 'float32']], [['O', 'float32']])}
${roiFns}
${main1d()}
  if (idx >= u(0u)) { return; }
  let C = u(2u); let H = u(3u); let W = u(4u); let PH = u(6u); let PW = u(7u);
  let bx = i32(idx % PW);
  let by = i32((idx / PW) % PH);
  let c = (idx / (PW * PH)) % C;
  let r = roiAt(idx / (PW * PH * C));
  if (!r.ok || r.gh <= 0 || r.gw <= 0 || H == 0u || W == 0u) { O[idx] = 0.0; return; }
  let plane = (r.n * C + c) * H * W;
  var acc = 0.0;
  for (var iy = 0; iy < r.gh; iy++) {
    for (var ix = 0; ix < r.gw; ix++) {
      let p = sampleAt(r, by, iy, bx, ix);
      if (!inRange(p.x, H) || !inRange(p.y, W)) { continue; }
      let ty = tapOf(p.x, i32(H));
      let tx = tapOf(p.y, i32(W));
      let r0 = plane + u32(ty.lo) * W;
      let r1 = plane + u32(ty.hi) * W;
      acc += ((ty.wlo * tx.wlo * X[r0 + u32(tx.lo)] + ty.wlo * tx.whi * X[r0 + u32(tx.hi)])
        + ty.whi * tx.wlo * X[r1 + u32(tx.lo)]) + ty.whi * tx.whi * X[r1 + u32(tx.hi)];
    }
  }
  O[idx] = acc / r.count;
}`

const backwardSource = `${uniformBlock}
${mathHelpers}
${storageBindings([['G', 'float32'], ['R', 'float32']], [['O', 'float32']])}
${roiFns}
const CG = ${CHANNELS}u;
var<workgroup> hits: array<atomic<u32>, ${CHUNK / 32}>;

// Whether roi r (of image n) has samples that can reach the tile whose top-left pixel is (y0, x0).
fn tileTouched(r: Roi, n: u32, y0: i32, x0: i32) -> bool {
  if (!r.ok || r.n != n || r.gh <= 0 || r.gw <= 0) { return false; }
  let ext = vec2<f32>(f32(u(6u)) * r.bh, f32(u(7u)) * r.bw);
  var lo: vec2<f32>;
  var hi: vec2<f32>;
  if (u(8u) == 2u) {
    let he = abs(ext) * 0.5;
    let e = vec2<f32>(he.x * abs(r.ct) + he.y * abs(r.st), he.x * abs(r.st) + he.y * abs(r.ct));
    lo = vec2<f32>(r.cy, r.cx) - e;
    hi = vec2<f32>(r.cy, r.cx) + e;
  } else {
    let a = vec2<f32>(r.sy, r.sx);
    lo = min(a, a + ext);
    hi = max(a, a + ext);
  }
  if (isnan_(lo.x) || isnan_(lo.y) || isnan_(hi.x) || isnan_(hi.y)) { return false; }
  let dims = vec2<f32>(f32(u(3u)), f32(u(4u)));
  let m = vec2<f32>(2.0) + 1e-6 * (abs(lo) + abs(hi));
  if (hi.x + m.x < -1.0 || hi.y + m.y < -1.0 || lo.x - m.x > dims.x || lo.y - m.y > dims.y) { return false; }
  let first = clamp(floor(lo - m), vec2<f32>(0.0), dims - 1.0);
  let last = clamp(ceil(hi + m), vec2<f32>(0.0), dims - 1.0);
  return i32(first.x) < y0 + ${TILE} && i32(last.x) >= y0 && i32(first.y) < x0 + ${TILE} && i32(last.y) >= x0;
}

// Sample indices s = cell * g + i along one roi axis whose coordinate can lie in [a, b]. A sample sits at
// about start + (s + 0.5)·step, so s ∈ [(a − start)/step − 0.5, (b − start)/step − 0.5], widened by a
// slack for float32 rounding in the coordinates (~1e-7 relative per operation; the slack allows 1e-5)
// and in the inversion; everything when the step is too small to invert. Empty when x > y.
fn span(a: f32, b: f32, start: f32, bin: f32, g: i32, cells: u32) -> vec2<i32> {
  let last = f32(cells) * f32(g) - 1.0;
  let step = bin / f32(g);
  let s0 = (a - start) / step - 0.5;
  let s1 = (b - start) / step - 0.5;
  let slack = 0.001 + 1e-5 * (abs(s0) + abs(s1)) + 1e-5 * (abs(start) + abs(f32(cells) * bin) + abs(a) + abs(b)) / abs(step);
  if (isnan_(s0) || isnan_(s1) || !isfinite_(slack) || !isfinite_(s0) || !isfinite_(s1) || slack > last) {
    return vec2<i32>(0, i32(last));
  }
  return vec2<i32>(i32(clamp(ceil(min(s0, s1) - slack), 0.0, last)), i32(clamp(floor(max(s0, s1) + slack), -1.0, last)));
}

// Adds roi k's contributions to pixel (h, w) of channels c0 .. c0 + nc − 1 (at most CG), in the CPU
// scatter's order; the sample weights are found once for all those channels.
fn addRoi(k: u32, c0: u32, nc: u32, h: i32, w: i32, acc: ptr<function, array<f32, CG>>) {
  let r = roiAt(k);
  let H = ui(3u); let W = ui(4u); let PH = u(6u); let PW = u(7u);
  let ya = select(f32(h - 1), -1.0, h == 0);
  let yb = select(f32(h + 1), f32(H), h == H - 1);
  let xa = select(f32(w - 1), -1.0, w == 0);
  let xb = select(f32(w + 1), f32(W), w == W - 1);
  var sy: vec2<i32>;
  var sx: vec2<i32>;
  if (u(8u) == 2u) {
    var lo = vec2<f32>(3.0e38);
    var hi = vec2<f32>(-3.0e38);
    for (var j = 0u; j < 4u; j++) {
      let dy = select(ya, yb, (j & 1u) == 1u) - r.cy;
      let dx = select(xa, xb, (j & 2u) == 2u) - r.cx;
      let q = vec2<f32>(dy * r.ct + dx * r.st, dx * r.ct - dy * r.st);
      lo = min(lo, q);
      hi = max(hi, q);
    }
    sy = span(lo.x, hi.x, r.sy, r.bh, r.gh, PH);
    sx = span(lo.y, hi.y, r.sx, r.bw, r.gw, PW);
  } else {
    sy = span(ya, yb, r.sy, r.bh, r.gh, PH);
    sx = span(xa, xb, r.sx, r.bw, r.gw, PW);
  }
  if (sy.y < sy.x || sx.y < sx.x) { return; }
  let base = (k * u(2u) + c0) * PH * PW;
  let rotated = u(8u) == 2u;
  for (var by = sy.x / r.gh; by <= sy.y / r.gh; by++) {
    for (var bx = sx.x / r.gw; bx <= sx.y / r.gw; bx++) {
      let bin = base + u32(by) * PW + u32(bx);
      for (var iy = max(sy.x - by * r.gh, 0); iy <= min(sy.y - by * r.gh, r.gh - 1); iy++) {
        // Axis-aligned: the row weight depends on (by, iy) alone, so it is found once per sample row.
        var fy = 1.0;
        if (!rotated) {
          let y = axisSample(r.sy, r.bh, r.gh, by, iy);
          if (!inRange(y, u32(H))) { continue; }
          let ty = tapOf(y, H);
          if (ty.lo == h) { fy = ty.wlo; } else if (ty.hi == h) { fy = ty.whi; } else { continue; }
        }
        for (var ix = max(sx.x - bx * r.gw, 0); ix <= min(sx.y - bx * r.gw, r.gw - 1); ix++) {
          var wy = fy;
          var x: f32;
          if (rotated) {
            let p = sampleAt(r, by, iy, bx, ix);
            if (!inRange(p.x, u32(H))) { continue; }
            let ty = tapOf(p.x, H);
            if (ty.lo == h) { wy = ty.wlo; } else if (ty.hi == h) { wy = ty.whi; } else { continue; }
            x = p.y;
          } else {
            x = axisSample(r.sx, r.bw, r.gw, bx, ix);
          }
          if (!inRange(x, u32(W))) { continue; }
          let tx = tapOf(x, W);
          var wx = 0.0;
          if (tx.lo == w) { wx = tx.wlo; } else if (tx.hi == w) { wx = tx.whi; } else { continue; }
          let wt = wy * wx;
          for (var j = 0u; j < CG; j++) {
            if (j < nc) { (*acc)[j] += (G[bin + j * PH * PW] * wt) / r.count; }
          }
        }
      }
    }
  }
}

@compute @workgroup_size(${TILE * TILE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gi = wid.x + wid.y * nwg.x;
  if (gi >= u(0u)) { return; }
  let tilesX = u(12u);
  let tilesY = u(13u);
  let groups = (u(2u) + CG - 1u) / CG;
  let y0 = i32(((gi / tilesX) % tilesY) * ${TILE}u);
  let x0 = i32((gi % tilesX) * ${TILE}u);
  let ng = gi / (tilesX * tilesY);
  let n = ng / groups;
  let c0 = (ng % groups) * CG;
  let nc = min(CG, u(2u) - c0);
  let h = y0 + i32(lid / ${TILE}u);
  let w = x0 + i32(lid % ${TILE}u);
  let inside = h < ui(3u) && w < ui(4u);
  var acc: array<f32, CG>;
  for (var chunk = 0u; chunk < u(5u); chunk += ${CHUNK}u) {
    if (lid < ${CHUNK / 32}u) { atomicStore(&hits[lid], 0u); }
    workgroupBarrier();
    for (var j = lid; j < ${CHUNK}u; j += ${TILE * TILE}u) {
      let k = chunk + j;
      if (k < u(5u)) {
        if (tileTouched(roiAt(k), n, y0, x0)) { atomicOr(&hits[j >> 5u], 1u << (j & 31u)); }
      }
    }
    workgroupBarrier();
    if (inside) {
      for (var word = 0u; word < ${CHUNK / 32}u; word++) {
        var bits = atomicLoad(&hits[word]);
        while (bits != 0u) {
          let j = countTrailingZeros(bits);
          bits = bits & (bits - 1u);
          addRoi(chunk + word * 32u + j, c0, nc, h, w, &acc);
        }
      }
    }
    workgroupBarrier();
  }
  if (inside) {
    for (var j = 0u; j < nc; j++) { O[(((n * u(2u) + c0 + j) * u(3u)) + u32(h)) * u(4u) + u32(w)] = acc[j]; }
  }
}`

const words = (lead: number, nchw: readonly number[], k: number, p: RoiAlignParams, tilesX = 0, tilesY = 0): number[] => [
  lead, ...nchw, k, ...p.outputSize, MODE[p.mode], p.samplingRatio, f32Bits(p.spatialScale), roiColumns(p.mode), tilesX, tilesY,
]

/** features: f32[N,C,H,W], rois: f32[K,5|6] → f32[K,C,ph,pw] */
export const roiAlignGpu = (ctx: GpuContext, x: GpuArray, rois: GpuArray, p: RoiAlignParams, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const threads = size(out.shape)
  if (threads === 0) return o
  ctx.dispatch({
    name: p.mode === 'rotated' ? 'roiAlignRotated' : 'roiAlign', code: forwardSource, inputs: [x, rois], outputs: [o],
    uniforms: words(threads, x.shape, rois.shape[0]!, p), workgroups: grid1d(ctx, threads),
  })
  return o
}

/** ct: f32[K,C,ph,pw], rois: f32[K,5|6] → f32[N,C,H,W] (featureShape = out.shape) */
export const roiAlignBackwardGpu = (ctx: GpuContext, ct: GpuArray, rois: GpuArray, p: RoiAlignParams, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  if (size(out.shape) === 0) return o
  const [n, c, h, w] = out.shape as [number, number, number, number]
  const tilesX = Math.ceil(w / TILE)
  const tilesY = Math.ceil(h / TILE)
  const groups = n * Math.ceil(c / CHANNELS) * tilesX * tilesY
  ctx.dispatch({
    name: p.mode === 'rotated' ? 'roiAlignRotatedBackward' : 'roiAlignBackward', code: backwardSource, inputs: [ct, rois], outputs: [o],
    uniforms: words(groups, out.shape, rois.shape[0]!, p, tilesX, tilesY), workgroups: grid1d(ctx, groups, 1),
  })
  return o
}
