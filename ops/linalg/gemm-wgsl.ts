/**
 * The tiled GEMM skeleton that every linear-algebra lowering (matmul and the three convolutions) fills in.
 *
 * Tiling: a workgroup of WX×WY invocations owns a BM×BN block of C[M, N] (BM = WY·TM, BN = WX·TN) and
 * walks the reduction in steps of BK. Per step it stages A[BM, BK] and B[BK, BN] in workgroup memory,
 * both k-major as rows of vec4 (`As[k][m/4]`, `Bs[k][n/4]`), then every invocation accumulates its
 * TM×TN register tile (rows m0 + TM·ly .., columns n0 + TN·lx ..) with vec4 FMAs. Operands are loaded by the variant's own WGSL: a matmul copies (possibly transposed)
 * matrices, a convolution gathers straight from the image and the weights (implicit GEMM, no im2col
 * buffer). Tiles are numbered linearly over (m-tile, n-tile) and spread over grid x and y, so no grid
 * dimension passes 65,535; grid z is the variant's (batch, group, split-K slice).
 *
 * Subgroup path: on a device with subgroups of 8 lanes (lavapipe's 256-bit SIMD; Intel SIMD8), the 8
 * lanes of a subgroup share `ly` (WX ≥ 8), hence the same TM rows of A. Each lane then reads TM/8 of
 * those values from workgroup memory and the others arrive by `subgroupBroadcast`, instead of every lane
 * reading all TM. On lavapipe every workgroup-memory read costs a per-lane scalar loop, so this cuts the
 * inner loop's reads by ~2× (W1 1024³: 4.3 → 5.9 GFLOP per CPU-second). Other subgroup sizes (32 on
 * NVIDIA and Apple, 64 on AMD) take the plain path, where such reads are broadcasts anyway. Which loops
 * a shader carries follows the adapter's subgroup size range (`subgroupMode`); where 8 is only one of
 * several sizes the workgroup checks at run time (`laneCheck`).
 *
 * Sizes are never baked in: M, N, K, strides and geometry travel in uniforms, and one shader serves each
 * (variant, tiling) pair.
 */
import type { GpuContext } from '../../core/rule.js'

/** Thread tile TM×TN, workgroup WX×WY, reduction step BK. TM is a multiple of 8, TN of 4. */
export type Tiling = { readonly TM: number; readonly TN: number; readonly WX: number; readonly WY: number; readonly BK: number }

/**
 * The tile shapes a lowering may pick from (a small fixed set, never a tensor dimension). `wide` is
 * 128×128 for large products; `narrow` (128×64) fits N = 64 (ResNet's first stage) without wasting half
 * the tile; `small` (64×64) keeps more workgroups busy on small problems.
 */
export const TILINGS = {
  wide: { TM: 16, TN: 8, WX: 16, WY: 8, BK: 16 },
  narrow: { TM: 16, TN: 4, WX: 16, WY: 8, BK: 16 },
  tall: { TM: 16, TN: 8, WX: 8, WY: 16, BK: 16 },
  small: { TM: 8, TN: 4, WX: 16, WY: 8, BK: 16 },
} as const satisfies Record<string, Tiling>

export const tileRows = (t: Tiling): number => t.WY * t.TM
export const tileCols = (t: Tiling): number => t.WX * t.TN
export const threads = (t: Tiling): number => t.WX * t.WY

/**
 * The tiling with the least padded work for an M×N output (ties and near-ties go to the larger tile,
 * whose inner loop does more FMAs per workgroup-memory read).
 */
export const pickTiling = (m: number, n: number): Tiling => tilingFor(m, n).tiling

/** `pickTiling` with its cost: padded multiply-adds weighted by the tiling's relative inefficiency. */
export const tilingFor = (m: number, n: number): { readonly tiling: Tiling; readonly cost: number } => {
  const options: [Tiling, number][] = [[TILINGS.wide, 1], [TILINGS.tall, 1], [TILINGS.narrow, 1.15], [TILINGS.small, 1.6]]
  const costs = options.map(([t, penalty]) => ({ tiling: t, cost: Math.ceil(m / tileRows(t)) * tileRows(t) * Math.ceil(n / tileCols(t)) * tileCols(t) * penalty }))
  return costs.reduce((best, c) => (c.cost < best.cost ? c : best))
}

export type GemmVariant = {
  readonly tiling: Tiling
  /** Which inner loops the shader carries (see `subgroupMode`). */
  readonly subgroups: SubgroupMode
  /** Storage bindings and helper functions. */
  readonly header: string
  /** Statements run once; they see `m0`, `n0`, `wz` (grid z), `lx`, `ly`, `tid` and must define `kBegin`, `kEnd`. */
  readonly prologue: string
  /** Statements that fill `As` (resp. `Bs`) for the step `k0 .. k0 + BK` (zeros past the edges). */
  readonly loadA: string
  readonly loadB: string
  /**
   * Optional, for the subgroup path: reading lane-owned A values straight from memory instead of staging
   * A (see `LaneA`).
   */
  readonly laneA?: LaneA
  /** Statements that store the accumulators (see `forEachAcc`). */
  readonly epilogue: string
}

/**
 * On the subgroup path lane `sl` owns rows `m0 + TM·ly + 8h + sl` (h < TM/8) of A: `laneRow(h)`. A
 * variant whose A is an expensive gather (a convolution's im2col) may fetch those values itself, once per
 * k, instead of staging the A tile: with WX = 8 each row belongs to exactly one subgroup, so that is the
 * same number of gathers without the workgroup-memory store and reload.
 * `prologue` runs once (per-row set-up), `perK` once per k (sees `k`, which may be ≥ kEnd), and
 * `value(h)` is the f32 of row h at k (zero past the edges).
 */
export type LaneA = { readonly prologue: string; readonly perK: string; readonly value: (h: number) => string }

/** The row of A that lane `sl` owns on the subgroup path (see `LaneA`). */
export const laneRow = (t: Tiling, h: number): string => `m0 + ${t.TM}u * ly + ${8 * h}u + sl`

const acc = (i: number, q: number): string => `acc${i}_${q}`

/** WGSL for every accumulator: `body(i, q, name)`; the vec4 `name` is row m0 + TM·ly + i, columns n0 + TN·lx + 4q ... */
export const forEachAcc = (t: Tiling, body: (i: number, q: number, v: string) => string): string => {
  const out: string[] = []
  for (let i = 0; i < t.TM; i++) for (let q = 0; q < t.TN / 4; q++) out.push(body(i, q, acc(i, q)))
  return out.join('\n')
}

const fmaRow = (t: Tiling, i: number, a: string): string =>
  Array.from({ length: t.TN / 4 }, (_, q) => `${acc(i, q)} = fma(${a}, b${q}, ${acc(i, q)});`).join(' ')

const loadB = (t: Tiling): string =>
  Array.from({ length: t.TN / 4 }, (_, q) => `b${q} = Bs[kk * ${tileCols(t) / 4}u + ${t.TN / 4}u * lx + ${q}u];`).join(' ')

/** Every lane reads its TM rows of A as vec4s. */
const plainStep = (t: Tiling): string => {
  const loads = Array.from({ length: t.TM / 4 }, (_, i) => `a${i} = As[kk * ${tileRows(t) / 4}u + ${t.TM / 4}u * ly + ${i}u];`).join(' ')
  const fmas = Array.from({ length: t.TM }, (_, i) => fmaRow(t, i, `vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]})`)).join(' ')
  return `    ${loads} ${loadB(t)}\n    ${fmas}`
}

/** Lane `sl` of an 8-lane subgroup reads rows sl, sl + 8, ... of the subgroup's TM rows; the rest is broadcast. */
const subgroupStep = (t: Tiling, lane?: LaneA): string => {
  const loads = lane
    ? `let k = k0 + kk;\n${lane.perK}\n    ${Array.from({ length: t.TM / 8 }, (_, h) => `let s${h} = ${lane.value(h)};`).join(' ')}`
    : Array.from({ length: t.TM / 8 }, (_, h) => `let s${h} = As[kk * ${tileRows(t) / 4}u + ${t.TM / 4}u * ly + ${2 * h}u + (sl >> 2u)][sl & 3u];`).join(' ')
  const fmas = Array.from({ length: t.TM }, (_, i) => fmaRow(t, i, `vec4<f32>(subgroupBroadcast(s${i >> 3}, ${i & 7}u))`)).join(' ')
  return `    {\n    ${loads} ${loadB(t)}\n    ${fmas}\n    }`
}

// The k loop of a step stays a loop: unrolling it gains nothing measurable on lavapipe and multiplies
// its compile time (LLVM allocates registers for 128 live accumulators per unrolled step).
const loopOver = (t: Tiling, step: (t: Tiling) => string): string => `    for (var kk = 0u; kk < ${t.BK}u; kk++) {\n${step(t)}\n    }`

/** Lane-owned A pays off only when each row belongs to one subgroup (WX = 8); otherwise A is staged. */
const usesLaneA = (v: GemmVariant): boolean => v.subgroups !== 'none' && v.laneA !== undefined && v.tiling.WX === 8

const innerProduct = (v: GemmVariant): string => {
  const t = v.tiling
  const plain = loopOver(t, plainStep)
  if (v.subgroups === 'none') return plain
  const sub = loopOver(t, (tt) => subgroupStep(tt, usesLaneA(v) ? v.laneA : undefined))
  return v.subgroups === 'only' ? sub : `    if (sg8) {\n${sub}\n    } else {\n${plain}\n    }`
}

/**
 * The subgroup path assumes that a subgroup is 8 consecutive invocations with lane = index mod 8 (how
 * lavapipe and Intel's SIMD8 lay them out). WGSL does not promise that, so a `checked` shader verifies
 * it and takes the plain path unless every lane agrees; the flag is made workgroup-uniform because with
 * lane-owned A the two paths stage different tiles. (An `only` shader runs where every subgroup is 8
 * lanes wide: lavapipe, which fills its 8-wide SIMD rows in invocation order.)
 */
const laneCheck = `
  if (tid == 0u) { atomicStore(&lanesOk, 1u); }
  workgroupBarrier();
  if (sgSize != 8u || sl != (tid & 7u)) { atomicStore(&lanesOk, 0u); }
  workgroupBarrier();
  if (tid == 0u) { lanesFlag = atomicLoad(&lanesOk); }
  let sg8 = workgroupUniformLoad(&lanesFlag) == 1u;`

/**
 * The shader for one variant. Uniform words 0 and 1 are the skeleton's: the number of m-tiles and of
 * n-tiles (`gemmGrid` fills them); a variant's own uniforms start at word 2.
 */
export const gemmShader = (v: GemmVariant): string => {
  const t = v.tiling
  const lane = usesLaneA(v)
  const checked = v.subgroups === 'checked'
  const sgBuiltins = v.subgroups !== 'none' ? ', @builtin(subgroup_size) sgSize: u32, @builtin(subgroup_invocation_id) sl: u32' : ''
  return `${v.subgroups !== 'none' ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}
@group(0) @binding(0) var<uniform> U: array<vec4<u32>, 16>;
fn u(i: u32) -> u32 { return U[i >> 2u][i & 3u]; }
${v.header}
${checked ? 'var<workgroup> lanesOk: atomic<u32>;\nvar<workgroup> lanesFlag: u32;' : ''}
var<workgroup> As: array<vec4<f32>, ${(t.BK * tileRows(t)) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(t.BK * tileCols(t)) / 4}>;
@compute @workgroup_size(${t.WX}, ${t.WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32${sgBuiltins}) {
  let tile = wg.x + wg.y * nwg.x;
  let nTiles = u(1u);
  if (tile >= u(0u) * nTiles) { return; }
  let m0 = (tile / nTiles) * ${tileRows(t)}u;
  let n0 = (tile % nTiles) * ${tileCols(t)}u;
  let wz = wg.z;
  let lx = lid.x;
  let ly = lid.y;
${checked ? laneCheck : ''}
${forEachAcc(t, (_, __, name) => `  var ${name} = vec4<f32>(0.0);`)}
${Array.from({ length: t.TM / 4 }, (_, i) => `  var a${i}: vec4<f32>;`).join('\n')}
${Array.from({ length: t.TN / 4 }, (_, q) => `  var b${q}: vec4<f32>;`).join('\n')}
${v.prologue}
${lane ? v.laneA!.prologue : ''}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${t.BK}u) {
${!lane ? v.loadA : checked ? `  if (!sg8) {\n${v.loadA}\n  }` : ''}
${v.loadB}
    workgroupBarrier();
${innerProduct(v)}
    workgroupBarrier();
  }
${v.epilogue}
}`
}

/** Grid for an M×N output (×`z` slices): the two skeleton uniform words and the workgroup counts. */
export const gemmGrid = (ctx: GpuContext, t: Tiling, m: number, n: number, z: number): { words: [number, number]; workgroups: [number, number, number] } => {
  const mTiles = Math.ceil(m / tileRows(t))
  const nTiles = Math.ceil(n / tileCols(t))
  const total = mTiles * nTiles
  const x = Math.min(total, ctx.maxWorkgroupsPerDimension)
  return { words: [mTiles, nTiles], workgroups: [x, Math.ceil(total / x), z] }
}

/**
 * `none`: plain inner loop only (no subgroups, or none of 8 lanes). `only`: the adapter's subgroups are
 * always 8 lanes (lavapipe), so the shader carries the subgroup loop alone — half the code, and on
 * lavapipe compile time grows with it. `checked`: 8 is one possible size, so both loops and the lane
 * check (`laneCheck`).
 */
export type SubgroupMode = 'none' | 'checked' | 'only'

export const subgroupMode = (ctx: GpuContext): SubgroupMode => {
  if (!(ctx.features?.includes('subgroups') ?? false)) return 'none'
  const [min, max] = ctx.subgroupSizes ?? [0, 0]
  if (min === 8 && max === 8) return 'only'
  return min <= 8 && 8 <= max ? 'checked' : 'none'
}

/**
 * WGSL that stages one operand tile of a matrix in memory, with zeros past `rows` and `K`. `kMajor`: k
 * is the operand's slow axis (B stored [K, N], A stored transposed [K, M]), so a quad along the fast
 * axis is one vec4 of a tile row; otherwise a quad along k is spread over four tile rows. `vec`: the
 * fast extent is a multiple of 4, so aligned quads may be read as vec4 (`src` is then array<vec4<f32>>).
 * Element (row i, k) sits at `off + k·ld + i` (kMajor) or `off + i·ld + k`.
 */
export const loadMatrixTile = (t: Tiling, o: {
  readonly dst: 'As' | 'Bs'
  readonly src: string
  readonly off: string
  readonly rows: string
  readonly ld: string
  readonly origin: string
  readonly kMajor: boolean
  readonly vec: boolean
}): string => {
  const R = o.dst === 'As' ? tileRows(t) : tileCols(t)
  const T = threads(t)
  const out: string[] = []
  if (o.kMajor) {
    const element = (j: number) => `    v[${j}] = ${masked(o.src, `base + ${j}u`, `k < K && i + ${j}u < ${o.rows}`)};`
    for (let p = 0; p < (R * t.BK) / 4 / T; p++) {
      out.push(`  {
    let e = tid + ${p * T}u; let r = e / ${R / 4}u; let q = e % ${R / 4}u; let k = k0 + r; let i = ${o.origin} + 4u * q;
    let base = ${o.off} + k * ${o.ld} + i;
${o.vec ? `    let v = ${masked(o.src, 'base >> 2u', `k < K && i < ${o.rows}`, true)};` : `    var v: vec4<f32>;\n${[0, 1, 2, 3].map(element).join('\n')}`}
    ${o.dst}[e] = v;
  }`)
    }
    return out.join('\n')
  }
  // Otherwise each invocation loads a 4×4 block (four rows, a quad along k) and stores it as four vec4
  // tile rows, a register transpose, instead of sixteen scalar stores into workgroup memory.
  const blocks = (R / 4) * (t.BK / 4)
  const row = (j: number) => o.vec
    ? `    let r${j} = ${masked(o.src, `(${o.off} + (i + ${j}u) * ${o.ld} + k) >> 2u`, `i + ${j}u < ${o.rows} && k < K`, true)};`
    : `    var r${j}: vec4<f32>; { let base = ${o.off} + (i + ${j}u) * ${o.ld} + k;${[0, 1, 2, 3].map((c) => ` r${j}[${c}] = ${masked(o.src, `base + ${c}u`, `i + ${j}u < ${o.rows} && k + ${c}u < K`)};`).join('')} }`
  for (let p = 0; p < Math.ceil(blocks / T); p++) {
    out.push(`  ${(p + 1) * T > blocks ? `if (tid + ${p * T}u < ${blocks}u) ` : ''}{
    let e = tid + ${p * T}u; let kq = e % ${t.BK / 4}u; let rq = e / ${t.BK / 4}u; let i = ${o.origin} + 4u * rq; let k = k0 + 4u * kq;
${[0, 1, 2, 3].map(row).join('\n')}
    let s = 4u * kq * ${R / 4}u + rq;
    ${o.dst}[s] = vec4<f32>(r0.x, r1.x, r2.x, r3.x); ${o.dst}[s + ${R / 4}u] = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
    ${o.dst}[s + ${R / 2}u] = vec4<f32>(r0.z, r1.z, r2.z, r3.z); ${o.dst}[s + ${(3 * R) / 4}u] = vec4<f32>(r0.w, r1.w, r2.w, r3.w);
  }`)
  }
  return out.join('\n')
}

/**
 * `src[index]` when `ok`, else zero, without a branch: the load reads element 0 instead (the index is
 * never out of range) and the select discards it. Branch-free staging is what keeps lavapipe's compile
 * times down (every divergent `if` costs LLVM a masked region; with them a GEMM shader took seconds).
 */
export const masked = (src: string, index: string, ok: string, vec = false): string =>
  `select(${vec ? 'vec4<f32>(0.0)' : '0.0'}, ${src}[select(0u, ${index}, ${ok})], ${ok})`

/** The quad of tile rows (As) or columns (Bs) that invocation `tid` gathers in `gatherTile`, fixed for the whole kernel. */
export const gatherQuad = (t: Tiling, dst: 'As' | 'Bs'): string => `tid % ${(dst === 'As' ? tileRows(t) : tileCols(t)) / 4}u`

/**
 * WGSL that stages a k-major tile by gathering: each invocation always fills the same quad of tile
 * rows/columns (`gatherQuad`, so per-position index math runs once, in the prologue) for a few k. Per k
 * it runs `perK` (which sees `k` and `kin` = k < kEnd) and then `element(j)` for j = 0..3, statements
 * that set `v[j]` for the quad's element j (v starts at zero), or `element.whole`, which sets the vec4 `v`
 * at once. Elements must read as zero unless `kin`.
 */
export const gatherTile = (t: Tiling, dst: 'As' | 'Bs', quad: string, perK: string, element: ((j: number) => string) | { readonly whole: string }): string => {
  const quads = (dst === 'As' ? tileRows(t) : tileCols(t)) / 4
  const rowsPerPass = threads(t) / quads
  const out: string[] = []
  for (let p = 0; p < t.BK / rowsPerPass; p++) {
    out.push(`  {
    let r = tid / ${quads}u + ${p * rowsPerPass}u; let k = k0 + r;
    var v = vec4<f32>(0.0);
    let kin = k < kEnd;
${perK}
${typeof element === 'function' ? [0, 1, 2, 3].map(element).join('\n') : element.whole}
    ${dst}[r * ${quads}u + ${quad}] = v;
  }`)
  }
  return out.join('\n')
}

/**
 * `divmod(x, d, r)` with r = 1/d as f32: the quotient and remainder of x by d without an integer division
 * (lavapipe runs a vector u32 division as eight scalar ones). The float estimate is within one of the
 * quotient whenever the quotient is below 2^22 (image, row and channel indices always are), and one
 * correction step each way makes it exact.
 */
export const divmodFn = `
fn divmod(x: u32, d: u32, r: f32) -> vec2<u32> {
  let q0 = u32(f32(x) * r);
  let q1 = select(q0, q0 - 1u, q0 * d > x);
  let rem = x - q1 * d;
  let up = rem >= d;
  return vec2<u32>(select(q1, q1 + 1u, up), select(rem, rem - d, up));
}`
