/**
 * Elementwise chains as WGSL: a list of steps over a kernel's inputs, computed in registers, some of
 * whose values are stored. Shared by the jit's `fused` and `fusedReduce` primitives (ops/fusion*.ts) and
 * by eager fusion (ops/elementwise/deferred.ts).
 *
 * Value numbering: 0..inputs-1 are the inputs (`x0`, `x1`, …), then one value per step (`t0`, `t1`, …).
 */
import type { DType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { type Shape, size } from '../../core/shape.js'
import { type OperandIndexing, flatIndexings, indexExpr, indexingWords, kindsKey } from './broadcast.js'
import { MAX_RANK, PER_THREAD, broadcastWalk, flatLoop, grid1d, keyedSourceMemo, main1d, mathHelpers, offsetFn, storageBindings, uniformBlock, wgslType } from './prelude.js'

/** One operation: `gpu` is a WGSL expression in `a, b, c`, bound to the values `args` in order. */
export type ChainStep = { readonly op: string; readonly args: readonly number[]; readonly gpu: string; readonly dtype: DType }

/** `outputs` are value numbers (an input may be an output, though the passes never ask for that). */
export type ChainBody<S extends ChainStep = ChainStep> = { readonly inputs: readonly DType[]; readonly steps: readonly S[]; readonly outputs: readonly number[] }

const NAMES = ['a', 'b', 'c']

export const valueName = (body: ChainBody, i: number): string => (i < body.inputs.length ? `x${i}` : `t${i - body.inputs.length}`)

/** Readable text of the chain, e.g. `t0=mul(x0,x1) t1=relu(t0) -> t1` (the jit's CSE key and kernel name). */
export const describeChain = (body: ChainBody): string =>
  body.steps.map((s, k) => `${valueName(body, body.inputs.length + k)}=${s.op}(${s.args.map((a) => valueName(body, a)).join(',')})`).join(' ') +
  ` -> ${body.outputs.map((o) => valueName(body, o)).join(',')}`

export const valueDType = (body: ChainBody, i: number): DType => (i < body.inputs.length ? body.inputs[i]! : body.steps[i - body.inputs.length]!.dtype)

/** The WGSL statements computing every step from `x0…` already in scope, one per line, indented by `pad`. */
export const stepStatements = (body: ChainBody, pad: string): string =>
  body.steps.map((s, k) => `${pad}var t${k}: ${wgslType(s.dtype)}; { ${s.args.map((a, j) => `let ${NAMES[j]} = ${valueName(body, a)};`).join(' ')} t${k} = ${s.gpu}; }`).join('\n')

// Two variants, like the unfused elementwise kernels: flat (each operand indexed by one of the kinds of
// wgsl/broadcast.ts; PER_THREAD elements per invocation; uniforms [n, (inner, extent)_i...]) and strided
// (other broadcasts; uniforms [n, rank, domain[8], strides_i[8]...]).
const source = (body: ChainBody, flat: readonly OperandIndexing[] | undefined, rank: number): string => {
  const header = `${uniformBlock}
${mathHelpers}
${storageBindings(body.inputs.map((d, i) => [`X${i}`, d]), body.outputs.map((o, j) => [`O${j}`, valueDType(body, o)]))}`
  const compute = (i: string, load: (k: number) => string) => `${body.inputs.map((_, k) => `    let x${k} = X${k}[${load(k)}];`).join('\n')}
${stepStatements(body, '    ')}
${body.outputs.map((o, j) => `    O${j}[${i}] = ${valueName(body, o)};`).join('\n')}`
  if (flat !== undefined) {
    return `${header}
${main1d()}
${flatLoop(compute('i', (k) => indexExpr(flat[k]!, k, 'i')))}
}`
  }
  return `${header}
${body.inputs.map((_, k) => offsetFn(`off${k}`, 1, 2, 2 + MAX_RANK * (k + 1), rank)).join('\n')}
${main1d()}
  if (idx >= u(0u)) { return; }
${compute('idx', (k) => `off${k}(idx)`)}
}`
}

const sources = keyedSourceMemo()

/**
 * Storage bindings one chain kernel may use (WebGPU's guaranteed minimum per stage), and how many of them
 * a chain may spend on inputs (the rest are its outputs).
 */
export const MAX_BINDINGS = 8
export const MAX_INPUTS = 6

/** Uniform words in a dispatch (the 256-byte block); constants fill it from the top. */
export const UNIFORM_WORDS = 64

/**
 * The WGSL value of constant `c` of a chain dispatch (see `dispatchChain`), of `dtype`: a step with no
 * arguments whose expression this is reads the constant from the uniforms, not from a binding.
 */
export const constantExpr = (c: number, dtype: DType): string => {
  const w = `u(${UNIFORM_WORDS - 1 - c}u)`
  return dtype === 'float32' ? `bitcast<f32>(${w})` : dtype === 'int32' ? `bitcast<i32>(${w})` : w
}

/** Uniform words a chain dispatch over `inputs` buffers needs at most (the strided variant's), before constants. */
export const chainWords = (inputs: number): number => 2 + MAX_RANK * (inputs + 1)

/** What determines a chain's source besides the operand kinds: every step's expression, args and dtype. */
export const bodyKey = (body: ChainBody): string =>
  `${body.inputs.join(',')}|${body.steps.map((s) => `${s.gpu}:${s.dtype}(${s.args.join(',')})`).join(';')}|${body.outputs.join(',')}`

/**
 * Records one kernel computing `body` over `domain` from `inputs` (each broadcast into the domain) into
 * `outs`, one per body output, already allocated with the domain's shape. `constants` are u32 words the
 * body's `constantExpr` steps read (at most 64 − `chainWords(inputs)`).
 */
export const dispatchChain = (ctx: GpuContext, name: string, body: ChainBody, inputs: readonly GpuArray[], outs: readonly GpuArray[], domain: Shape, constants: readonly number[] = []): void => {
  const count = size(domain)
  if (count === 0) return
  const flat = flatIndexings(inputs.map((x) => x.shape), domain)
  const walk = flat === undefined ? broadcastWalk(inputs.map((x) => x.shape), domain) : undefined
  const uniforms = walk === undefined ? [count, ...indexingWords(flat!)] : [count, ...walk.words]
  if (constants.length > 0) {
    if (uniforms.length + constants.length > UNIFORM_WORDS) fail(name, `${constants.length} constants do not fit the uniforms beside ${inputs.length} inputs (internal error)`)
    uniforms.push(...new Array<number>(UNIFORM_WORDS - uniforms.length - constants.length).fill(0), ...[...constants].reverse())
  }
  const key = `${bodyKey(body)}|${walk === undefined ? kindsKey(flat!) : `strided${walk.rank}`}`
  ctx.dispatch({
    name, code: sources(key, () => source(body, flat, walk?.rank ?? 0)), inputs, outputs: outs, uniforms,
    workgroups: grid1d(ctx, flat !== undefined ? Math.ceil(count / PER_THREAD) : count),
  })
}
