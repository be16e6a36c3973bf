/**
 * WebGPU lowering shared by every elementwise primitive. One shader per (expression, operand dtypes,
 * operand kinds): a flat variant when every operand is indexed by one of the kinds of wgsl/broadcast.ts
 * (full, single value, trailing or inner run), and a strided variant for other broadcasts (output shape
 * and operand strides in the uniforms, rank ≤ 8).
 */
import type { DType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import type { Aval } from '../../core/tensor.js'
import { elementwiseFuser } from './deferred.js'
import { type OperandIndexing, flatIndexings, indexExpr, indexingWords, kindsKey } from '../wgsl/broadcast.js'
import { MAX_RANK, PER_THREAD, broadcastWalk, flatLoop, keyedSourceMemo, grid1d, main1d, mathHelpers, offsetFn, storageBindings, uniformBlock } from '../wgsl/prelude.js'

const NAMES = ['a', 'b', 'c'] as const
const ARRAYS = ['A', 'B', 'C'] as const

/**
 * The source of an elementwise kernel over `dtypes` computing `expr` (in a, b, c) into an `out` array:
 * flat when `flat` gives each operand's indexing, strided otherwise.
 */
const source = (expr: string, dtypes: readonly DType[], out: DType, flat: readonly OperandIndexing[] | undefined, rank: number): string => {
  const bindings = storageBindings(dtypes.map((d, k) => [ARRAYS[k]!, d]), [['O', out]])
  // Uniform words: flat = [n, (inner, extent) per operand]; strided = [n, rank, shape[8], strides_k[8]...].
  if (flat !== undefined) {
    const loads = flat.map((x, k) => `    let ${NAMES[k]} = ${ARRAYS[k]}[${indexExpr(x, k, 'i')}];`).join('\n')
    return `${uniformBlock}
${mathHelpers}
${bindings}
${main1d()}
${flatLoop(`${loads}
    O[i] = ${expr};`)}
}`
  }
  const offsets = dtypes.map((_, k) => offsetFn(`off${k}`, 1, 2, 2 + MAX_RANK * (k + 1), rank)).join('\n')
  const loads = dtypes.map((_, k) => `  let ${NAMES[k]} = ${ARRAYS[k]}[off${k}(idx)];`).join('\n')
  return `${uniformBlock}
${mathHelpers}
${bindings}
${offsets}
${main1d()}
  if (idx >= u(0u)) { return; }
${loads}
  O[idx] = ${expr};
}`
}

const sources = keyedSourceMemo()

/**
 * Runs `expr` elementwise with broadcasting. `expr` sees operands as their WGSL types (f32, i32, or u32
 * for bool) and must produce the output's WGSL type. Where the runtime defers kernels (eager WebGPU),
 * the op joins the pending chain of elementwise ops (./deferred.ts) instead of dispatching at once.
 */
export const elementwiseGpu = (ctx: GpuContext, name: string, expr: string, inputs: readonly GpuArray[], out: Aval): GpuArray => {
  if (out.shape.length > MAX_RANK) fail(name, `rank ${out.shape.length} exceeds the WebGPU limit of ${MAX_RANK} for elementwise ops`)
  const o = ctx.alloc(out)
  if (out.shape.reduce((p, d) => p * d, 1) === 0) return o
  const alone = () => dispatchElementwise(ctx, name, expr, inputs, o)
  if (ctx.defer !== undefined && inputs.length <= 3) ctx.defer({ name, expr, inputs, output: o, alone, words: inputs.map((x) => ctx.hostWord?.(x)) }, elementwiseFuser)
  else alone()
  return o
}

/** Records the unfused kernel of `expr` over `inputs` into `o`. */
const dispatchElementwise = (ctx: GpuContext, name: string, expr: string, inputs: readonly GpuArray[], o: GpuArray): void => {
  const n = o.shape.reduce((p, d) => p * d, 1)
  const flat = flatIndexings(inputs.map((x) => x.shape), o.shape)
  const dtypes = inputs.map((x) => x.dtype)
  const walk = flat === undefined ? broadcastWalk(inputs.map((x) => x.shape), o.shape) : undefined
  const uniforms = walk === undefined ? [n, ...indexingWords(flat!)] : [n, ...walk.words]
  const key = `${expr}|${dtypes.join(',')}|${o.dtype}|${walk === undefined ? kindsKey(flat!) : `strided${walk.rank}`}`
  ctx.dispatch({ name, code: sources(key, () => source(expr, dtypes, o.dtype, flat, walk?.rank ?? 0)), inputs, outputs: [o], uniforms, workgroups: grid1d(ctx, flat !== undefined ? Math.ceil(n / PER_THREAD) : n) })
}

/** Expression converting a value of WGSL type for `from` to `to` with the CPU reference's rules. */
export const castExpr = (v: string, from: DType, to: DType): string => {
  if (from === to) return v
  // Tested on the bits: NaN must count as true, and fast-math drivers may fold `NaN != 0.0` to false.
  if (to === 'bool') return from === 'float32' ? `select(0u, 1u, (bitcast<u32>(${v}) & 0x7fffffffu) != 0u)` : `select(0u, 1u, ${v} != 0${from === 'int32' ? '' : 'u'})`
  if (to === 'float32') return `f32(${v})`
  return from === 'float32' ? `f2i_(${v})` : `i32(${v})`
}

