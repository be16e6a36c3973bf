/**
 * WebGPU matmul on the shared GEMM skeleton (gemm-wgsl.ts). Each grid-z slice is one output batch element; its operands' offsets come from the
 * broadcast batch strides in the uniforms (stride 0 on a broadcast axis), so broadcasting needs no copy.
 * When the right operand has no batch, the left operand's batch folds into its rows (one large GEMM).
 *
 * Variants (the only things baked into the source): whether A is stored [M, K] or transposed [K, M],
 * likewise B ([K, N] or [N, K]), and whether each operand and the output may be read/written as vec4
 * (its contiguous extent is a multiple of 4, so every quad lies in one row). Edge tiles zero-fill
 * their loads and mask their stores; K = 0 leaves the accumulators at zero.
 */
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import { grid1d, keyedSourceMemo, main1d, storageBindings, uniformBlock } from '../wgsl/prelude.js'
import type { Aval } from '../../core/tensor.js'
import { type Tiling, forEachAcc, gemmGrid, gemmShader, type SubgroupMode, subgroupMode, loadMatrixTile, tilingFor } from './gemm-wgsl.js'

const MAX_BATCH_RANK = 6

export type MatmulLayout = {
  /** A is stored [.., K, M] (its transpose is used). */
  readonly transA: boolean
  /** B is stored [.., N, K]. */
  readonly transB: boolean
}

/**
 * `turned`: the kernel computes Cᵀ = op(B)ᵀ·op(A)ᵀ (its M and N are the product's N and M) and stores
 * it transposed, for products with few rows and many columns, whose tiles fit better that way round.
 */
type Variant = MatmulLayout & {
  readonly vecA: boolean; readonly vecB: boolean; readonly vecC: boolean; readonly turned: boolean; readonly tiling: Tiling; readonly subgroups: SubgroupMode
}

// Uniform words (after the skeleton's two): 2 M, 3 N, 4 K, 5 first batch index of this dispatch,
// 6 batch rank, 7.. batch shape[6], 13.. A batch strides[6], 19.. B batch strides[6].

const store = (t: Tiling, vec: boolean, turned: boolean): string => forEachAcc(t, (i, q, acc) => `  {
    let m = m0 + ${t.TM}u * ly + ${i}u;
    let n = n0 + ${t.TN}u * lx + ${4 * q}u;
    if (m < M) {
      let base = cOff + ${turned ? 'n * M + m' : 'm * N + n'};
${vec ? `      if (n < N) { C[base >> 2u] = ${acc}; }` : [0, 1, 2, 3].map((j) => `      if (n + ${j}u < N) { C[base + ${turned ? `${j}u * M` : `${j}u`}] = ${acc}[${j}]; }`).join('\n')}
    }
  }`)

const source = (v: Variant): string => gemmShader({
  tiling: v.tiling,
  subgroups: v.subgroups,
  header: `
@group(0) @binding(1) var<storage, read> A: array<${v.vecA ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(2) var<storage, read> B: array<${v.vecB ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<storage, read_write> C: array<${v.vecC ? 'vec4<f32>' : 'f32'}>;`,
  prologue: `
  let M = u(2u); let N = u(3u); let K = u(4u);
  let t = wz + u(5u);
  var rest = t;
  var aOff = 0u;
  var bOff = 0u;
  for (var d = u(6u); d > 0u; d--) {
    let len = u(6u + d);
    let i = rest % len;
    rest /= len;
    aOff += i * u(12u + d);
    bOff += i * u(18u + d);
  }
  let cOff = t * M * N;
  let kBegin = 0u;
  let kEnd = K;`,
  loadA: loadMatrixTile(v.tiling, { dst: 'As', src: 'A', off: 'aOff', rows: 'M', ld: v.transA ? 'M' : 'K', origin: 'm0', kMajor: v.transA, vec: v.vecA }),
  loadB: loadMatrixTile(v.tiling, { dst: 'Bs', src: 'B', off: 'bOff', rows: 'N', ld: v.transB ? 'K' : 'N', origin: 'n0', kMajor: !v.transB, vec: v.vecB }),
  epilogue: store(v.tiling, v.vecC, v.turned),
})

// A single output row (a batch-1 classifier head): one invocation per output column folds its dot product
// straight from memory; a GEMM tile would compute 63 padded rows for every real one. Words: 0 N, 1 K.
const GEMV_GROUP = 64
const gemvSource = (transB: boolean): string => `${uniformBlock}
${storageBindings([['A', 'float32'], ['B', 'float32']], [['C', 'float32']])}
${main1d(GEMV_GROUP)}
  let N = u(0u); let K = u(1u);
  if (idx >= N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < K; k++) { acc = fma(A[k], B[${transB ? 'idx * K + k' : 'k * N + idx'}], acc); }
  C[idx] = acc;
}`

const gemvSources = keyedSourceMemo()

const sources = new Map<string, string>()
const sourceFor = (v: Variant): string => {
  const key = JSON.stringify(v)
  let s = sources.get(key)
  if (s === undefined) sources.set(key, (s = source(v)))
  return s
}

/** Element strides of each batch axis of `own` against the output batch shape `out` (0 where broadcast). */
const batchStrides = (out: readonly number[], own: readonly number[], matrix: number): number[] => {
  const lead = out.length - own.length
  const strides = new Array<number>(out.length).fill(0)
  let stride = matrix
  for (let d = own.length - 1; d >= 0; d--) {
    if (own[d] !== 1) strides[d + lead] = stride
    stride *= own[d]!
  }
  return strides
}

const padTo = (xs: readonly number[], fill: number): number[] => [...xs, ...new Array<number>(MAX_BATCH_RANK - xs.length).fill(fill)]

/**
 * C = op(A) · op(B) for a: f32[...A, M, K] (or [...A, K, M] when `transA`), b: f32[...B, K, N] (or
 * [...B, N, K] when `transB`) into `out`: f32[broadcast(A, B), M, N].
 */
export const matmulGpu = (ctx: GpuContext, a: GpuArray, b: GpuArray, out: Aval, layout: MatmulLayout = { transA: false, transB: false }): GpuArray => {
  const c = ctx.alloc(out)
  if (size(out.shape) === 0) return c
  const [m, n] = out.shape.slice(-2) as [number, number]
  const k = layout.transA ? a.shape.at(-2)! : a.shape.at(-1)!
  let batch = out.shape.slice(0, -2)
  let aBatch = a.shape.slice(0, -2)
  const bBatch = b.shape.slice(0, -2)
  let rows = m
  if (size(bBatch) === 1 && !layout.transA) {
    // One right operand for every batch element: a's batch elements are consecutive row blocks.
    rows = m * size(aBatch)
    batch = []
    aBatch = []
  }
  if (rows === 1 && size(batch) === 1) {
    const { transB } = layout
    ctx.dispatch({ name: 'matmul.gemv', code: gemvSources(`${transB}`, () => gemvSource(transB)), inputs: [a, b], outputs: [c], uniforms: [n, k], workgroups: grid1d(ctx, n, GEMV_GROUP) })
    return c
  }
  if (batch.length > MAX_BATCH_RANK) fail('matmul', `${batch.length} batch axes exceed the WebGPU limit of ${MAX_BATCH_RANK}`)
  const aStrides = batchStrides(batch, aBatch, m * k)
  const bStrides = batchStrides(batch, bBatch, k * n)
  const quad = (x: number) => x % 4 === 0
  const count = size(batch)
  const straight = tilingFor(rows, n)
  const turnedTiling = tilingFor(n, rows)
  // Turned round when that saves a fifth of the padded work (as conv2d picks channels-major tiles); a
  // batch-8 classifier head [8, 512]·[512, 1000] then runs 1024×64 tiles instead of 64-row ones.
  if (count === 1 && turnedTiling.cost < 0.8 * straight.cost) {
    const variant: Variant = {
      transA: !layout.transB, transB: !layout.transA, tiling: turnedTiling.tiling, subgroups: subgroupMode(ctx),
      vecA: quad(layout.transB ? k : n), vecB: quad(layout.transA ? m : k), vecC: false, turned: true,
    }
    const { words, workgroups } = gemmGrid(ctx, variant.tiling, n, rows, 1)
    ctx.dispatch({
      name: 'matmul', code: sourceFor(variant), inputs: [b, a], outputs: [c], workgroups,
      uniforms: [...words, n, rows, k, 0, 0, ...padTo([], 1), ...padTo([], 0), ...padTo([], 0)],
    })
    return c
  }
  const variant: Variant = {
    ...layout,
    tiling: straight.tiling,
    subgroups: subgroupMode(ctx),
    vecA: quad(layout.transA ? m : k),
    vecB: quad(layout.transB ? k : n),
    vecC: quad(n),
    turned: false,
  }
  const code = sourceFor(variant)
  const { words, workgroups } = gemmGrid(ctx, variant.tiling, rows, n, 1)
  const max = ctx.maxWorkgroupsPerDimension
  for (let first = 0; first < count; first += max) {
    ctx.dispatch({
      name: 'matmul', code, inputs: [a, b], outputs: [c],
      uniforms: [...words, rows, n, k, first, batch.length, ...padTo(batch, 1), ...padTo(aStrides, 0), ...padTo(bStrides, 0)],
      workgroups: [workgroups[0], workgroups[1], Math.min(max, count - first)],
    })
  }
  return c
}
