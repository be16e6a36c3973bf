/**
 * WebGPU layout kernels: a strided gather-copy (transpose, slice, broadcast: every output element reads
 * `base + Σ index_k · stride_k` of the input), a strided scatter-copy (concat, pad: every input element
 * lands at `base + Σ index_k · stride_k` of the output) and a fill. Shapes and strides are uniforms, so
 * each kernel is one shader per dtype (the copies also per rank, after collapsing the walk).
 */
import type { DType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Shape } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { MAX_RANK, collapseWalk, f32Bits, grid1d, keyedSourceMemo, main1d, offsetFn, padShape, padStrides, storageBindings, uniformBlock } from '../wgsl/prelude.js'

const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1)

const checkRank = (op: string, shape: Shape): void => {
  if (shape.length > MAX_RANK) fail(op, `rank ${shape.length} exceeds the WebGPU limit of ${MAX_RANK}`)
}

// Uniform words of both copies: [n, rank, base, shape[8] at 3, strides[8] at 11]; one shader per dtype and
// collapsed rank. The scatter reads the existing output first so the kernel can write into a buffer
// filled by an earlier dispatch (binding it read_write keeps one layout).
const copySource = (d: DType, rank: number, scatter: boolean): string => `${uniformBlock}
${storageBindings([['X', d]], [['O', d]])}
${offsetFn('walk', 1, 3, 11, rank)}
${main1d()}
  if (idx >= u(0u)) { return; }
  ${scatter ? 'O[u(2u) + walk(idx)] = X[idx];' : 'O[idx] = X[u(2u) + walk(idx)];'}
}`
const copySources = keyedSourceMemo()

/** Records one strided copy of `n` elements walking `shape` with `strides` (collapsed first). */
const dispatchCopy = (ctx: GpuContext, op: string, x: GpuArray, o: GpuArray, n: number, shape: Shape, strides: readonly number[], base: number, scatter: boolean): void => {
  const walk = collapseWalk(shape, [strides])
  const rank = walk.shape.length
  ctx.dispatch({
    name: op, code: copySources(`${x.dtype}${rank}${scatter}`, () => copySource(x.dtype, rank, scatter)), inputs: [x], outputs: [o],
    uniforms: [n, rank, base, ...padShape(walk.shape), ...padStrides(walk.strides[0]!)], workgroups: grid1d(ctx, n),
  })
}

/** out[i] = x[base + Σ idx_k(i) · strides[k]] over `outShape` (strides in elements; may be 0). */
export const stridedGatherGpu = (ctx: GpuContext, op: string, x: GpuArray, out: Aval, strides: readonly number[], base = 0): GpuArray => {
  checkRank(op, out.shape)
  const o = ctx.alloc(out)
  const n = sizeOf(out.shape)
  if (n > 0) dispatchCopy(ctx, op, x, o, n, out.shape, strides, base, false)
  return o
}

/** Writes every element of `x` to `o[base + Σ idx_k · strides[k]]` (o is written in place). */
export const stridedScatterGpu = (ctx: GpuContext, op: string, x: GpuArray, o: GpuArray, strides: readonly number[], base = 0): void => {
  checkRank(op, x.shape)
  const n = sizeOf(x.shape)
  if (n > 0) dispatchCopy(ctx, op, x, o, n, x.shape, strides, base, true)
}

const fillSource = (d: DType) => `${uniformBlock}
${storageBindings([], [['O', d]])}
${main1d()}
  if (idx >= u(0u)) { return; }
  O[idx] = ${d === 'float32' ? 'uf(1u)' : d === 'int32' ? 'ui(1u)' : 'u(1u)'};
}`

/** A new array of `out` filled with `value`. */
export const fillGpu = (ctx: GpuContext, out: Aval, value: number): GpuArray => {
  const o = ctx.alloc(out)
  const n = sizeOf(out.shape)
  if (n === 0) return o
  const word = out.dtype === 'float32' ? f32Bits(value) : out.dtype === 'int32' ? value | 0 : value !== 0 ? 1 : 0
  ctx.dispatch({ name: 'fill', code: fillSource(out.dtype), inputs: [], outputs: [o], uniforms: [n, word], workgroups: grid1d(ctx, n) })
  return o
}
