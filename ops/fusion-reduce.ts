/**
 * Reduction prologue fusion: a sum/max/min/prod over trailing axes whose operand is computed by an open
 * elementwise group reads that group's chain directly — the operand is computed in registers inside the
 * reduction kernel and never stored. The group itself stays available to its other readers (which may
 * recompute the chain; elementwise work is cheap next to a round trip through memory). This is what makes
 * softmax three kernels: max, sum(exp(x - max)), exp(x - max) / sum.
 */
import type { DType, TypedArray } from '../core/dtype.js'
import { fail } from '../core/errors.js'
import type { AnyRule } from '../core/tensor.js'
import type { CpuArray, GpuArray, GpuContext, Rule } from '../core/rule.js'
import { type Shape, size } from '../core/shape.js'
import { reduceMaxRule, reduceMinRule } from './reduce/chooser.js'
import { reduceProdRule } from './reduce/prod.js'
import { reduceSumRule } from './reduce/sum.js'
import { type FoldSpec, extremumFold, prodFold, sumFold } from './reduce/wgsl.js'
import { type ChainBody, stepStatements, valueDType, valueName } from './wgsl/chain.js'
import { MAX_RANK, broadcastWalk, sourceMemo, grid1d, main1d, mathHelpers, offsetFn, storageBindings, uniformBlock } from './wgsl/prelude.js'

export type FusedReduceParams = { readonly chain: string; readonly reduce: string; readonly domain: Shape; readonly axes: readonly number[] }

type Hidden = { readonly body: ChainBody; readonly rule: AnyRule; readonly chainCpu: (inputs: readonly CpuArray[]) => TypedArray }

const hidden = (p: FusedReduceParams): Hidden => p as unknown as Hidden

/** The reductions that accept a fused prologue, with their GPU folds. */
export const prologueFolds = new Map<AnyRule, (d: DType) => FoldSpec>([
  [reduceSumRule, sumFold],
  [reduceMaxRule, (d) => extremumFold('max', d)],
  [reduceMinRule, (d) => extremumFold('min', d)],
  [reduceProdRule, prodFold],
])

// Uniform words: [rows, length, rank, domain shape (8) at 3, operand strides (8 each) from 11].
const source = (body: ChainBody, fold: FoldSpec, out: DType, long: boolean, rank: number): string => {
  const offsets = body.inputs.map((_, i) => offsetFn(`off${i}`, 2, 3, 11 + MAX_RANK * i, rank)).join('\n')
  const load = `fn chain(i: u32) -> ${fold.acc} {
${body.inputs.map((_, i) => `  let x${i} = X${i}[off${i}(i)];`).join('\n')}
${stepStatements(body, '  ')}
  let v = ${valueName(body, body.outputs[0]!)};
  return ${fold.load};
}`
  const header = `${uniformBlock}
${mathHelpers}
${storageBindings(body.inputs.map((d, i) => [`X${i}`, d]), [['O', out]])}
${offsets}
${load}
fn combine(x: ${fold.acc}, y: ${fold.acc}) -> ${fold.acc} { return ${fold.combine}; }`
  if (!long) {
    return `${header}
${main1d()}
  if (idx >= u(0u)) { return; }
  let len = u(1u);
  var a: ${fold.acc} = ${fold.init};
  for (var j = 0u; j < len; j++) { a = combine(a, chain(idx * len + j)); }
  let x = a;
  O[idx] = ${fold.store ?? 'x'};
}`
  }
  return `${header}
var<workgroup> part: array<${fold.acc}, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let rows = u(0u);
  let len = u(1u);
  var a: ${fold.acc} = ${fold.init};
  if (row < rows) { for (var j = tid; j < len; j += 256u) { a = combine(a, chain(row * len + j)); } }
  part[tid] = a;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (tid < s) { part[tid] = combine(part[tid], part[tid + s]); }
    workgroupBarrier();
  }
  if (tid == 0u && row < rows) { let x = part[0]; O[row] = ${fold.store ?? 'x'}; }
}`
}

const reduceSources = sourceMemo<ChainBody>()
const reduceNames = sourceMemo<ChainBody>()

// An equation's operands keep their shapes from call to call, so its walk is worked out once: a jitted
// replay then spends no host time on it. The chain reads domain element row·length + j; collapsing the
// walk keeps that linear order.
const walks = new WeakMap<FusedReduceParams, { rank: number; words: number[] }>()
const walkOf = (p: FusedReduceParams, inputs: readonly GpuArray[]): { rank: number; words: number[] } => {
  let walk = walks.get(p)
  if (walk === undefined) walks.set(p, (walk = broadcastWalk(inputs.map((x) => x.shape), p.domain)))
  return walk
}

const fusedReduceGpu = (ctx: GpuContext, inputs: readonly GpuArray[], p: FusedReduceParams, out: { shape: Shape; dtype: DType }): GpuArray => {
  const h = hidden(p)
  const o = ctx.alloc(out)
  const length = p.axes.reduce((a, ax) => a * p.domain[ax]!, 1)
  const rows = size(out.shape)
  if (rows === 0) return o
  const long = length >= 64
  const walk = walkOf(p, inputs)
  const uniforms = [rows, length, ...walk.words]
  ctx.dispatch({
    name: reduceNames(h.body, p.reduce, () => `fusedReduce(${p.reduce}: ${p.chain})`),
    code: reduceSources(h.body, `${p.reduce}:${resultDType(p)}:${out.dtype}:${long}:${walk.rank}`, () => source(h.body, prologueFolds.get(h.rule)!(resultDType(p)), out.dtype, long, walk.rank)),
    inputs, outputs: [o], uniforms,
    workgroups: long ? grid1d(ctx, rows, 1) : grid1d(ctx, rows),
  })
  return o
}

const notDifferentiable = (): never => fail('fusedReduce', 'fused kernels exist only inside compiled programs, which are never differentiated (internal error)')

export const fusedReduceRule: Rule<FusedReduceParams> = {
  name: 'fusedReduce',
  abstractEval: (_, p) => hidden(p).rule.abstractEval([{ shape: p.domain, dtype: resultDType(p) }], { axes: p.axes }),
  // The CPU reference computes the chain, then runs the reduction's own kernel on it.
  cpu: (inputs, p, outAvals) => {
    const h = hidden(p)
    const operand = h.chainCpu(inputs)
    return h.rule.cpu([{ data: operand, shape: p.domain, dtype: resultDType(p) }], { axes: p.axes }, outAvals)
  },
  jvp: notDifferentiable,
  vjp: notDifferentiable,
  webgpu: (ctx, inputs, p, [o]) => [fusedReduceGpu(ctx, inputs, p, o!)],
}

const resultDType = (p: FusedReduceParams): DType => valueDType(hidden(p).body, hidden(p).body.outputs[0]!)

/** Params for a fused reduction of `body`'s single output over trailing `axes` of `domain`. */
export const fusedReduceParams = (chain: string, body: ChainBody, rule: AnyRule, domain: Shape, axes: readonly number[], chainCpu: Hidden['chainCpu']): FusedReduceParams => {
  const params = { chain, reduce: rule.name, domain, axes }
  Object.defineProperty(params, 'body', { value: body, enumerable: false })
  Object.defineProperty(params, 'rule', { value: rule, enumerable: false })
  Object.defineProperty(params, 'chainCpu', { value: chainCpu, enumerable: false })
  return params
}
