/**
 * WebGPU convolutions as implicit GEMMs on the shared skeleton (gemm-wgsl.ts): the im2col operand is
 * never materialised; each workgroup gathers its tile straight from the image, with the index math for
 * a position done once per invocation (it always gathers the same quad of positions) and the kernel-tap
 * decode done per k with a float-reciprocal divmod. Groups are grid z; images are folded into the
 * positions. Per primitive (per group; P = positions, K = reduction):
 *
 *   conv2d            Y[P = N·Ho·Wo, Og]   = im2col(x)[P, Cg·kh·kw] · Wᵀ
 *   conv2dInputGrad   DX[P' = N·H'·W', Cg] = im2col(g)[P', Og·taps] · W'   — one dispatch per stride phase
 *   conv2dWeightGrad  DW[Cg·kh·kw, Og]     = im2col(x)ᵀ[Cg·kh·kw, N·Ho·Wo] · g[N·Ho·Wo, Og]
 *
 * The input gradient is a transposed convolution, whose taps only land on every stride-th input
 * position. Splitting the input positions by phase (ih mod sh, iw mod sw) makes each phase a dense GEMM
 * over exactly the taps that reach it (those with (ih + padTop − ki·dh) divisible by sh), so no FMA is
 * spent on the holes; a phase that no tap reaches is written as zeros (K = 0).
 *
 * Depthwise convolutions (one input channel per group) would make 1-column GEMMs; they take the direct
 * kernels of conv-depthwise-wgsl.ts instead.
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { fail } from '../../core/errors.js'
import type { Aval } from '../../core/tensor.js'
import { fillGpu, stridedGatherGpu } from '../shape/wgsl.js'
import { f32Bits, grid1d, mathHelpers, wgslType } from '../wgsl/prelude.js'
import { type OperandIndexing, indexExpr, indexingWords } from '../wgsl/broadcast.js'
import { type ChainBody, stepStatements, valueDType, valueName } from '../wgsl/chain.js'
import { isDepthwise } from './conv-depthwise.js'
import { depthwiseConvGpu, depthwiseInputGradGpu, depthwiseWeightGradGpu } from './conv-depthwise-wgsl.js'
import type { ConvGeometry } from './conv-kernels.js'
import {
  type Tiling, divmodFn, forEachAcc, gatherQuad, gatherTile, gemmGrid, gemmShader, masked, subgroupMode, type SubgroupMode, laneRow, loadMatrixTile, pickTiling, tileCols, tileRows, tilingFor,
} from './gemm-wgsl.js'

const quadOf = (f: (j: number) => string): string => [0, 1, 2, 3].map(f).join('\n')

/** `name(ok, y, x, base, h, w)`: src[base + y·w + x] when ok and (y, x) lies in the h×w plane, else 0. */
const gatherFn = (name: string, src: string): string => `
fn ${name}(ok: bool, y: i32, x: i32, base: u32, h: u32, w: u32) -> f32 {
  let inside = ok && u32(y) < h && u32(x) < w;
  return select(0.0, ${src}[select(0u, base + u32(y) * w + u32(x), inside)], inside);
}`
const rcp = (d: number): number => f32Bits(1 / Math.max(1, d))

/** How an output value is stored: `write(index, value)` is a WGSL statement. */
type Write = (index: string, value: string) => string
const storeTo = (dst: string): Write => (index, value) => `${dst}[${index}] = ${value};`

/** Stores row `m` of the accumulators through `rowSetup` (sees `m`) and `index(col)` (sees `col`). */
const storeRows = (t: Tiling, write: Write, rows: string, cols: string, rowSetup: string, index: string): string => {
  const out: string[] = []
  for (let i = 0; i < t.TM; i++) {
    const cells: string[] = []
    for (let q = 0; q < t.TN / 4; q++) {
      for (let j = 0; j < 4; j++) cells.push(`    { let col = n0 + ${t.TN}u * lx + ${4 * q + j}u; if (col < ${cols}) { ${write(index.replace('$J', `${4 * q + j}`), `acc${i}_${q}[${j}]`)} } }`)
    }
    out.push(`  {\n    let m = m0 + ${t.TM}u * ly + ${i}u;\n    if (m < ${rows}) {\n    ${rowSetup}\n${cells.join('\n')}\n    }\n  }`)
  }
  return out.join('\n')
}

/**
 * `storeRows` for an epilogue, as a loop: the accumulators are copied into one local array and a single
 * `store(index, value)` call sits in a loop over the thread's TM×TN cells. Unrolled, the epilogue chain
 * would be inlined once per cell (128 copies), and lavapipe's compile time grew with it — about 5 s per
 * convolution shader. `index` sees `m`, `col` and whatever `rowSetup` defines.
 */
const storeLoop = (t: Tiling, rows: string, cols: string, rowSetup: string, index: string): string => {
  const cells = forEachAcc(t, (i, q, acc) => [0, 1, 2, 3].map((j) => `  vals[${i * t.TN + 4 * q + j}] = ${acc}[${j}];`).join('\n'))
  return `  var vals: array<f32, ${t.TM * t.TN}>;
${cells}
  for (var i = 0u; i < ${t.TM}u; i++) {
    let m = m0 + ${t.TM}u * ly + i;
    if (m >= ${rows}) { continue; }
    ${rowSetup}
    for (var c = 0u; c < ${t.TN}u; c++) {
      let col = n0 + ${t.TN}u * lx + c;
      if (col < ${cols}) { store(${index}, vals[i * ${t.TN}u + c]); }
    }
  }`
}

/** An output of zeros (an empty reduction). */
const fillZeros = (ctx: GpuContext, out: Aval): GpuArray => fillGpu(ctx, out, 0)

const cache = new Map<string, string>()
const memo = (key: string, make: () => string): string => {
  let s = cache.get(key)
  if (s === undefined) cache.set(key, (s = make()))
  return s
}

const checkGroups = (op: string, ctx: GpuContext, groups: number): void => {
  if (groups > ctx.maxWorkgroupsPerDimension) fail(op, `${groups} groups exceed the WebGPU grid limit of ${ctx.maxWorkgroupsPerDimension}`)
}

// conv2d uniforms: 2 P, 3 Og, 4 K, 5 C, 6 H, 7 W, 8 O, 9 Ho·Wo, 10 Wo, 11 sh, 12 sw, 13 padTop, 14 padLeft,
// 15 dh, 16 dw, 17 kw, 18 Cg, 19 kh·kw, 20 1/(kh·kw), 21 1/kw.
const conv2dPrologue = `
  let P = u(2u); let Og = u(3u); let K = u(4u); let C = u(5u); let H = u(6u); let W = u(7u);
  let O = u(8u); let HoWo = u(9u); let Wo = u(10u); let sh = u(11u); let sw = u(12u);
  let pt = bitcast<i32>(u(13u)); let pl = bitcast<i32>(u(14u)); let dh = u(15u); let dw = u(16u);
  let kw = u(17u); let Cg = u(18u); let T = u(19u); let rT = bitcast<f32>(u(20u)); let rkw = bitcast<f32>(u(21u));
  let grp = wz;
  let kBegin = 0u; let kEnd = K;
  let HW = H * W;
  let wOff = grp * Og * K;`

/** Per-k decode of the im2col row k = (c, ki, kj) for conv2d gathers. */
const conv2dPerK = `      let ct = divmod(k, T, rT); let ij = divmod(ct.y, kw, rkw);
      let dy = i32(ij.x * dh); let dx = i32(ij.y * dw); let co = ct.x * HW;`

/** Per-position set-up for conv2d gathers: position `pos` → names suffixed `s` (image base, top-left input). */
const conv2dPosition = (s: string, pos: string, limit: string): string => `  let pm${s} = ${pos}; let ok${s} = pm${s} < ${limit}; let p${s} = pm${s} % HoWo;
  let xb${s} = ((pm${s} / HoWo) * C + grp * Cg) * HW; let ih${s} = i32((p${s} / Wo) * sh) - pt; let iw${s} = i32((p${s} % Wo) * sw) - pl;`

/**
 * How the weights are read: as stored ([G, Og, K], vec4 along K when K % 4 = 0) or, when K is not a
 * multiple of 4 (3-channel stems: K = 3·7·7) but Og is, from a transposed copy [G, K, Og] (vec4 along Og),
 * one tiny dispatch that spares every workgroup scalar, bounds-checked weight loads.
 */
type WeightLayout = 'vec' | 'scalar' | 'transposed'

const loadWeights = (t: Tiling, layout: WeightLayout, dst: 'As' | 'Bs'): string => layout === 'transposed'
  ? loadMatrixTile(t, { dst, src: 'Wt', off: 'wOff', rows: 'Og', ld: 'Og', origin: dst === 'As' ? 'm0' : 'n0', kMajor: true, vec: true })
  : loadMatrixTile(t, { dst, src: 'Wt', off: 'wOff', rows: 'Og', ld: 'K', origin: dst === 'As' ? 'm0' : 'n0', kMajor: false, vec: layout === 'vec' })

/**
 * An elementwise chain applied to each conv2d output value before it is stored (the jit's epilogue
 * fusion, conv-epilogue.ts): chain input `convInput` is the value; every other input is read at the
 * output's index through its broadcast kind, its (inner, extent) words from EPILOGUE_WORDS on; each chain
 * output is stored where the convolution's output would have been.
 */
export type ConvEpilogue = {
  readonly body: ChainBody
  readonly convInput: number
  /** The other chain inputs, in chain order, and how each is indexed in the output. */
  readonly inputs: readonly GpuArray[]
  readonly indexings: readonly OperandIndexing[]
  /** Source-cache key of the body (with the indexings' kinds). */
  readonly key: string
}

/** First uniform word of an epilogue's operand indexings (conv2d's own end at 21). */
export const EPILOGUE_WORDS = 22

/** Bindings and `fn store(i, v)` for `ep`, or a plain `Y` output. */
const outputDecls = (ep: ConvEpilogue | undefined): string => {
  if (ep === undefined) return `@group(0) @binding(3) var<storage, read_write> Y: array<f32>;`
  const others = ep.body.inputs.map((_, c) => c).filter((c) => c !== ep.convInput)
  const decls = [
    ...others.map((c, k) => `@group(0) @binding(${3 + k}) var<storage, read> E${k}: array<${wgslType(ep.body.inputs[c]!)}>;`),
    ...ep.body.outputs.map((o, j) => `@group(0) @binding(${3 + others.length + j}) var<storage, read_write> O${j}: array<${wgslType(valueDType(ep.body, o))}>;`),
  ]
  const loads = ep.body.inputs.map((_, c) => {
    if (c === ep.convInput) return `  let x${c} = v;`
    const k = others.indexOf(c)
    return `  let x${c} = E${k}[${indexExpr(ep.indexings[k]!, k, 'i', EPILOGUE_WORDS)}];`
  })
  return `${decls.join('\n')}
${mathHelpers}
fn store(i: u32, v: f32) {
${loads.join('\n')}
${stepStatements(ep.body, '  ')}
${ep.body.outputs.map((o, j) => `  O${j}[i] = ${valueName(ep.body, o)};`).join('\n')}
}`
}

const conv2dHeader = (vecW: boolean, ep: ConvEpilogue | undefined): string => `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<${vecW ? 'vec4<f32>' : 'f32'}>;
${outputDecls(ep)}
${divmodFn}
${gatherFn('gatherX', 'X')}`

/** Output position m's offset in [N, O, Ho, Wo] without its channel, for the positions-major stores. */
const positionBase = 'let base = ((m / HoWo) * O + grp * Og) * HoWo + m % HoWo;'
/** The same for position `col`, for the channels-major stores (which add the channel m · HoWo). */
const channelsBase = (col: string): string => `((${col} / HoWo) * O + grp * Og) * HoWo + ${col} % HoWo`

/** Positions-major conv2d: rows are output positions (the im2col gather), columns output channels. */
const conv2dSource = (t: Tiling, subgroups: SubgroupMode, wl: WeightLayout, ep: ConvEpilogue | undefined): string => gemmShader({
  tiling: t,
  subgroups,
  header: conv2dHeader(wl !== 'scalar', ep),
  prologue: `${conv2dPrologue}
  let qa = ${gatherQuad(t, 'As')};
${quadOf((j) => conv2dPosition(`${j}`, `m0 + 4u * qa + ${j}u`, 'P'))}`,
  loadA: gatherTile(t, 'As', 'qa', conv2dPerK,
    (j) => `      v[${j}] = gatherX(kin && ok${j}, ih${j} + dy, iw${j} + dx, xb${j} + co, H, W);`),
  loadB: loadWeights(t, wl, 'Bs'),
  laneA: {
    prologue: Array.from({ length: t.TM / 8 }, (_, h) => conv2dPosition(`l${h}`, laneRow(t, h), 'P')).join('\n'),
    perK: `      let kin = k < kEnd;\n${conv2dPerK}`,
    value: (h) => `gatherX(kin && okl${h}, ihl${h} + dy, iwl${h} + dx, xbl${h} + co, H, W)`,
  },
  epilogue: ep === undefined
    ? storeRows(t, storeTo('Y'), 'P', 'Og', positionBase, 'base + col * HoWo')
    : storeLoop(t, 'P', 'Og', positionBase, 'base + col * HoWo'),
})

/**
 * Channels-major conv2d: rows are output channels (the weights, staged as a matrix), columns output
 * positions (the gather). Deep layers have few positions and many channels (7×7×512 in ResNet), where
 * the positions-major tile would be mostly padding.
 */
const conv2dChannelsSource = (t: Tiling, subgroups: SubgroupMode, wl: WeightLayout, ep: ConvEpilogue | undefined): string => gemmShader({
  tiling: t,
  subgroups,
  header: conv2dHeader(wl !== 'scalar', ep),
  prologue: `${conv2dPrologue}
  let qb = ${gatherQuad(t, 'Bs')};
${quadOf((j) => conv2dPosition(`${j}`, `n0 + 4u * qb + ${j}u`, 'P'))}`,
  loadA: loadWeights(t, wl, 'As'),
  loadB: gatherTile(t, 'Bs', 'qb', conv2dPerK,
    (j) => `      v[${j}] = gatherX(kin && ok${j}, ih${j} + dy, iw${j} + dx, xb${j} + co, H, W);`),
  epilogue: ep === undefined
    ? `${Array.from({ length: t.TN }, (_, j) => `  let col${j} = n0 + ${t.TN}u * lx + ${j}u; let cb${j} = ${channelsBase(`col${j}`)};`).join('\n')}
${storeRows(t, storeTo('Y'), 'Og', 'P', '', 'cb$J + m * HoWo')}`
    : storeLoop(t, 'Og', 'P', '', `${channelsBase('col')} + m * HoWo`),
})

/** y = conv2d(x, w): x f32[N,C,H,W], w f32[O,C/groups,kh,kw] → `out` f32[N,O,Ho,Wo]. */
export const conv2dGpu = (ctx: GpuContext, x: GpuArray, w: GpuArray, g: ConvGeometry, out: Aval): GpuArray => {
  if (isDepthwise(g)) return depthwiseConvGpu(ctx, x, w, g, out)
  const y = ctx.alloc(out)
  dispatchConv2d(ctx, x, w, g, [y], undefined)
  return y
}

/**
 * conv2d with `ep` applied before the store: `outs` (one per chain output, shaped like the convolution's
 * output) receive the chain's values. Not for depthwise convolutions (conv-epilogue.ts never asks).
 */
export const conv2dEpilogueGpu = (ctx: GpuContext, x: GpuArray, w: GpuArray, g: ConvGeometry, ep: ConvEpilogue, outs: readonly GpuArray[]): void => {
  if (isDepthwise(g)) fail('conv2d', 'a depthwise convolution takes no fused epilogue (internal error)')
  dispatchConv2d(ctx, x, w, g, outs, ep)
}

const dispatchConv2d = (ctx: GpuContext, x: GpuArray, w: GpuArray, g: ConvGeometry, outs: readonly GpuArray[], ep: ConvEpilogue | undefined): void => {
  const positions = g.n * g.ho * g.wo
  const og = g.o / g.groups
  if (positions === 0 || og === 0) return
  checkGroups('conv2d', ctx, g.groups)
  const cg = g.c / g.groups
  const taps = g.kh * g.kw
  const k = cg * taps
  const byPositions = tilingFor(positions, og)
  const byChannels = tilingFor(og, positions)
  // Positions-major is the tuned path (lane-owned gathers); channels-major when it saves a fifth of the padding.
  const channels = byChannels.cost < 0.8 * byPositions.cost
  const t = channels ? byChannels.tiling : byPositions.tiling
  const subgroups = subgroupMode(ctx)
  const wl: WeightLayout = k % 4 === 0 ? 'vec' : og % 4 === 0 ? 'transposed' : 'scalar'
  const weights = wl === 'transposed'
    ? stridedGatherGpu(ctx, 'conv2d', w, { shape: [g.groups, k, og], dtype: 'float32' }, [og * k, 1, k])
    : w
  const code = memo(`c2d${channels}${JSON.stringify(t)}${subgroups}${wl}${ep?.key ?? ''}`, () => (channels ? conv2dChannelsSource : conv2dSource)(t, subgroups, wl, ep))
  const { words, workgroups } = channels ? gemmGrid(ctx, t, og, positions, g.groups) : gemmGrid(ctx, t, positions, og, g.groups)
  ctx.dispatch({
    name: ep === undefined ? 'conv2d' : 'conv2d+epilogue', code, inputs: [x, weights, ...(ep?.inputs ?? [])], outputs: outs, workgroups,
    uniforms: [...words, positions, og, k, g.c, g.h, g.w, g.o, g.ho * g.wo, g.wo, g.strideH, g.strideW, g.padTop, g.padLeft,
      g.dilationH, g.dilationW, g.kw, cg, taps, rcp(taps), rcp(g.kw), ...(ep === undefined ? [] : indexingWords(ep.indexings))],
  })
}

// conv2dInputGrad uniforms: 2 P' (phase positions), 3 Cg, 4 K, 5 C, 6 H, 7 W, 8 O, 9 Ho, 10 Wo, 11 sh, 12 sw,
// 13 Og, 14 H'·W', 15 W', 16 rh, 17 rw, 18 baseH, 19 baseW, 20 stepH, 21 stepW, 22 taps in w, 23 taps,
// 24 1/taps, 25 1/(taps in w), 26 ki0, 27 kj0, 28 ki step, 29 kj step, 30 kw, 31 kh·kw.
const inputGradSource = (t: Tiling, subgroups: SubgroupMode, vecW: boolean): string => gemmShader({
  tiling: t,
  subgroups,
  header: `
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<${vecW ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
${divmodFn}
${gatherFn('gatherG', 'G')}`,
  prologue: `
  let M = u(2u); let Cg = u(3u); let K = u(4u); let C = u(5u); let H = u(6u); let W = u(7u);
  let O = u(8u); let Ho = u(9u); let Wo = u(10u); let sh = u(11u); let sw = u(12u); let Og = u(13u);
  let HpWp = u(14u); let Wp = u(15u); let rh = u(16u); let rw = u(17u);
  let baseH = bitcast<i32>(u(18u)); let baseW = bitcast<i32>(u(19u)); let stepH = u(20u); let stepW = u(21u);
  let ntw = u(22u); let ntaps = u(23u); let rTaps = bitcast<f32>(u(24u)); let rNtw = bitcast<f32>(u(25u));
  let ki0 = u(26u); let kj0 = u(27u); let kiStep = u(28u); let kjStep = u(29u); let kw = u(30u); let T = u(31u);
  let grp = wz;
  let kBegin = 0u; let kEnd = K;
  let HoWo = Ho * Wo;
  let qa = ${gatherQuad(t, 'As')};
${quadOf((j) => `  let pm${j} = m0 + 4u * qa + ${j}u; let ok${j} = pm${j} < M; let r${j} = pm${j} % HpWp;
  let gb${j} = ((pm${j} / HpWp) * O + grp * Og) * HoWo; let ihp${j} = i32(r${j} / Wp); let iwp${j} = i32(r${j} % Wp);`)}
  let qb = ${gatherQuad(t, 'Bs')};
${quadOf((j) => `  let c${j} = n0 + 4u * qb + ${j}u; let okc${j} = c${j} < Cg;`)}
  let wGrp = grp * Og * Cg * T;`,
  loadA: gatherTile(t, 'As', 'qa', `      let ot = divmod(k, ntaps, rTaps); let tt = divmod(ot.y, ntw, rNtw);
      let doh = baseH - i32(tt.x * stepH); let dow = baseW - i32(tt.y * stepW); let go = ot.x * HoWo;`,
    (j) => `      v[${j}] = gatherG(kin && ok${j}, ihp${j} + doh, iwp${j} + dow, gb${j} + go, Ho, Wo);`),
  laneA: {
    prologue: Array.from({ length: t.TM / 8 }, (_, h) => `  let lm${h} = ${laneRow(t, h)}; let lok${h} = lm${h} < M; let lr${h} = lm${h} % HpWp;
  let lgb${h} = ((lm${h} / HpWp) * O + grp * Og) * HoWo; let lihp${h} = i32(lr${h} / Wp); let liwp${h} = i32(lr${h} % Wp);`).join('\n'),
    perK: `    let ot = divmod(k, ntaps, rTaps); let tt = divmod(ot.y, ntw, rNtw); let kin = k < kEnd;
    let doh = baseH - i32(tt.x * stepH); let dow = baseW - i32(tt.y * stepW); let go = ot.x * HoWo;`,
    value: (h) => `gatherG(kin && lok${h}, lihp${h} + doh, liwp${h} + dow, lgb${h} + go, Ho, Wo)`,
  },
  // Weights [O, Cg, kh, kw] as stored (tap-major rows of c at stride kh·kw), or permuted to [O, kh, kw, Cg]
  // where a quad of input channels is one vec4.
  loadB: vecW
    ? gatherTile(t, 'Bs', 'qb', `      let ot = divmod(k, ntaps, rTaps); let tt = divmod(ot.y, ntw, rNtw);
      let wk = wGrp + ((ot.x * T + (ki0 + tt.x * kiStep) * kw + kj0 + tt.y * kjStep) * Cg);`,
    { whole: `      v = ${masked('Wt', '(wk + c0) >> 2u', 'kin && okc0', true)};` })
    : gatherTile(t, 'Bs', 'qb', `      let ot = divmod(k, ntaps, rTaps); let tt = divmod(ot.y, ntw, rNtw);
      let wk = wGrp + ot.x * Cg * T + (ki0 + tt.x * kiStep) * kw + kj0 + tt.y * kjStep;`,
    (j) => `      v[${j}] = ${masked('Wt', `wk + c${j} * T`, `kin && okc${j}`)};`),
  epilogue: storeRows(t, storeTo('DX'), 'M', 'Cg', `let r = m % HpWp;
    let base = (((m / HpWp) * C + grp * Cg) * H + rh + (r / Wp) * sh) * W + rw + (r % Wp) * sw;`, 'base + col * H * W'),
})

/** The kernel taps of one axis that reach input positions of phase `r` (see the module comment). */
const phaseTaps = (r: number, stride: number, pad: number, dilation: number, k: number) => {
  const taps: number[] = []
  for (let i = 0; i < k; i++) if ((((r + pad - i * dilation) % stride) + stride) % stride === 0) taps.push(i)
  const first = taps[0] ?? 0
  const step = taps.length > 1 ? taps[1]! - first : 1
  // Output row of tap t for phase position p: p + base − t·stepOut (exact integers).
  return { first, count: taps.length, step, base: (r + pad - first * dilation) / stride, stepOut: (step * dilation) / stride }
}

/** dx = conv2dInputGrad(g, w): g f32[N,O,Ho,Wo], w f32[O,C/groups,kh,kw] → `out` f32[N,C,H,W]. */
export const conv2dInputGradGpu = (ctx: GpuContext, gy: GpuArray, w: GpuArray, g: ConvGeometry, out: Aval): GpuArray => {
  if (isDepthwise(g)) return depthwiseInputGradGpu(ctx, gy, w, g, out)
  const dx = ctx.alloc(out)
  const cg = g.c / g.groups
  if (g.n * g.c * g.h * g.w === 0) return dx
  checkGroups('conv2dInputGrad', ctx, g.groups)
  const og = g.o / g.groups
  const subgroups = subgroupMode(ctx)
  const taps = g.kh * g.kw
  const vecW = cg % 4 === 0
  const weights = vecW ? stridedGatherGpu(ctx, 'conv2dInputGrad', w, { shape: [g.o, g.kh, g.kw, cg], dtype: 'float32' }, [cg * taps, g.kw, 1, taps]) : w
  for (let rh = 0; rh < Math.min(g.strideH, g.h); rh++) {
    for (let rw = 0; rw < Math.min(g.strideW, g.w); rw++) {
      const hp = Math.ceil((g.h - rh) / g.strideH)
      const wp = Math.ceil((g.w - rw) / g.strideW)
      const th = phaseTaps(rh, g.strideH, g.padTop, g.dilationH, g.kh)
      const tw = phaseTaps(rw, g.strideW, g.padLeft, g.dilationW, g.kw)
      const positions = g.n * hp * wp
      const phaseTapCount = th.count * tw.count
      const t = pickTiling(positions, cg)
      const code = memo(`cig${JSON.stringify(t)}${subgroups}${vecW}`, () => inputGradSource(t, subgroups, vecW))
      const { words, workgroups } = gemmGrid(ctx, t, positions, cg, g.groups)
      ctx.dispatch({
        name: 'conv2dInputGrad', code, inputs: [gy, weights], outputs: [dx], workgroups,
        uniforms: [...words, positions, cg, og * phaseTapCount, g.c, g.h, g.w, g.o, g.ho, g.wo, g.strideH, g.strideW, og, hp * wp, wp, rh, rw,
          th.base | 0, tw.base | 0, th.stepOut, tw.stepOut, tw.count, phaseTapCount, rcp(phaseTapCount), rcp(tw.count), th.first, tw.first, th.step, tw.step, g.kw, taps],
      })
    }
  }
  return dx
}

// conv2dWeightGrad uniforms: 2 Cg·kh·kw, 3 Og, 4 N·Ho·Wo, 5 C, 6 H, 7 W, 8 O, 9 Ho·Wo, 10 Wo, 11 sh, 12 sw,
// 13 padTop, 14 padLeft, 15 dh, 16 dw, 17 kw, 18 Cg, 19 kh·kw, 20 1/(Ho·Wo), 21 1/Wo, 22 split-K slices,
// 23 positions per slice, 24 O (slice stride in output channels).
const weightGradSource = (t: Tiling, subgroups: SubgroupMode): string => gemmShader({
  tiling: t,
  subgroups,
  header: `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> DW: array<f32>;
${divmodFn}
${gatherFn('gatherX', 'X')}`,
  prologue: `
  let M = u(2u); let Og = u(3u); let K = u(4u); let C = u(5u); let H = u(6u); let W = u(7u);
  let O = u(8u); let HoWo = u(9u); let Wo = u(10u); let sh = u(11u); let sw = u(12u);
  let pt = bitcast<i32>(u(13u)); let pl = bitcast<i32>(u(14u)); let dh = u(15u); let dw = u(16u);
  let kw = u(17u); let Cg = u(18u); let T = u(19u); let rHoWo = bitcast<f32>(u(20u)); let rWo = bitcast<f32>(u(21u));
  let S = u(22u); let kPer = u(23u);
  let grp = wz / S; let split = wz % S;
  let kBegin = split * kPer; let kEnd = min(K, kBegin + kPer);
  let HW = H * W;
  let qa = ${gatherQuad(t, 'As')};
${quadOf((j) => `  let pm${j} = m0 + 4u * qa + ${j}u; let ok${j} = pm${j} < M; let tap${j} = pm${j} % T;
  let xo${j} = (grp * Cg + pm${j} / T) * HW; let dy${j} = i32((tap${j} / kw) * dh) - pt; let dx${j} = i32((tap${j} % kw) * dw) - pl;`)}
  let qb = ${gatherQuad(t, 'Bs')};
${quadOf((j) => `  let o${j} = n0 + 4u * qb + ${j}u; let okb${j} = o${j} < Og; let go${j} = (grp * Og + o${j}) * HoWo;`)}`,
  loadA: gatherTile(t, 'As', 'qa', `      let np = divmod(k, HoWo, rHoWo); let hw = divmod(np.y, Wo, rWo);
      let xn = np.x * C * HW; let ihb = i32(hw.x * sh); let iwb = i32(hw.y * sw);`,
    (j) => `      v[${j}] = gatherX(kin && ok${j}, ihb + dy${j}, iwb + dx${j}, xn + xo${j}, H, W);`),
  laneA: {
    prologue: Array.from({ length: t.TM / 8 }, (_, h) => `  let lm${h} = ${laneRow(t, h)}; let lok${h} = lm${h} < M; let ltap${h} = lm${h} % T;
  let lxo${h} = (grp * Cg + lm${h} / T) * HW; let ldy${h} = i32((ltap${h} / kw) * dh) - pt; let ldx${h} = i32((ltap${h} % kw) * dw) - pl;`).join('\n'),
    perK: `    let np = divmod(k, HoWo, rHoWo); let hw = divmod(np.y, Wo, rWo); let kin = k < kEnd;
    let xn = np.x * C * HW; let ihb = i32(hw.x * sh); let iwb = i32(hw.y * sw);`,
    value: (h) => `gatherX(kin && lok${h}, ihb + ldy${h}, iwb + ldx${h}, xn + lxo${h}, H, W)`,
  },
  loadB: gatherTile(t, 'Bs', 'qb', `      let np = divmod(k, HoWo, rHoWo); let gn = np.x * O * HoWo + np.y;`,
      (j) => `      v[${j}] = ${masked('G', `gn + go${j}`, `kin && okb${j}`)};`),
  epilogue: storeRows(t, storeTo('DW'), 'M', 'Og', '', '(split * u(24u) + grp * Og + col) * M + m'),
})

/**
 * Split-K: the reduction over N·Ho·Wo positions is long while the output [O, Cg·kh·kw] is often a handful
 * of tiles, so the positions are cut into slices (grid z) that write partial sums, added up by
 * `sumSlicesSource`. The slice count aims at SPLIT_TARGET workgroups and keeps ≥ 16 reduction steps per
 * slice.
 */
const SPLIT_TARGET = 32

const sumSlicesSource = `
@group(0) @binding(0) var<uniform> U: array<vec4<u32>, 16>;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let n = U[0].x;
  if (i >= n) { return; }
  var s = 0.0;
  for (var k = 0u; k < U[0].y; k++) { s += P[k * n + i]; }
  O[i] = s;
}`

/** dw = conv2dWeightGrad(x, g): x f32[N,C,H,W], g f32[N,O,Ho,Wo] → `out` f32[O,C/groups,kh,kw]. */
export const conv2dWeightGradGpu = (ctx: GpuContext, x: GpuArray, gy: GpuArray, g: ConvGeometry, out: Aval): GpuArray => {
  if (isDepthwise(g)) return depthwiseWeightGradGpu(ctx, x, gy, g, out)
  const cg = g.c / g.groups
  const og = g.o / g.groups
  const rows = cg * g.kh * g.kw
  const positions = g.n * g.ho * g.wo
  if (rows === 0 || og === 0 || positions === 0) return fillZeros(ctx, out)
  checkGroups('conv2dWeightGrad', ctx, g.groups)
  const t = pickTiling(rows, og)
  const tiles = Math.ceil(rows / tileRows(t)) * Math.ceil(og / tileCols(t)) * g.groups
  const steps = Math.ceil(positions / t.BK)
  const slices = Math.max(1, Math.min(Math.ceil(SPLIT_TARGET / tiles), Math.floor(steps / 16), Math.floor(ctx.maxWorkgroupsPerDimension / g.groups)))
  const perSlice = Math.ceil(steps / slices) * t.BK
  const used = Math.ceil(positions / perSlice)
  const subgroups = subgroupMode(ctx)
  const code = memo(`cwg${JSON.stringify(t)}${subgroups}`, () => weightGradSource(t, subgroups))
  const { words, workgroups } = gemmGrid(ctx, t, rows, og, g.groups * used)
  const dw = ctx.alloc(out)
  const partial = used === 1 ? dw : ctx.alloc({ shape: [used, ...out.shape], dtype: 'float32' })
  ctx.dispatch({
    name: 'conv2dWeightGrad', code, inputs: [x, gy], outputs: [partial], workgroups,
    uniforms: [...words, rows, og, positions, g.c, g.h, g.w, g.o, g.ho * g.wo, g.wo, g.strideH, g.strideW, g.padTop, g.padLeft,
      g.dilationH, g.dilationW, g.kw, cg, g.kh * g.kw, rcp(g.ho * g.wo), rcp(g.wo), used, perSlice, g.o],
  })
  if (used > 1) {
    const n = g.o * rows
    ctx.dispatch({ name: 'conv2dWeightGrad.sum', code: sumSlicesSource, inputs: [partial], outputs: [dw], uniforms: [n, used], workgroups: grid1d(ctx, n) })
  }
  return dw
}
