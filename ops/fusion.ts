/**
 * Fusion of elementwise chains (a named pass, tested by kernel counts). Rule: consecutive elementwise
 * equations whose outputs all have the same shape (the group's domain) form one `fused` equation when
 * each joins through a value produced inside the group; operands may broadcast into the domain. A group
 * closes when anything outside it needs one of its values; values used outside become the fused
 * equation's outputs, the rest never reach memory. `relu(x * 2 + 1)` is one kernel.
 *
 * The fused primitive compiles its chain into one loop: JS on the CPU (every float intermediate rounded
 * with Math.fround, so results are bit-identical to the unfused ops) and one WGSL kernel on WebGPU.
 */
import type { DType, TypedArray } from '../core/dtype.js'
import { allocate } from '../core/dtype.js'
import { fail } from '../core/errors.js'
import type { Eqn, Program, Var } from '../core/ir/program.js'
import type { CpuArray, GpuArray, GpuContext, Rule } from '../core/rule.js'
import { type Shape, shapesEqual, size } from '../core/shape.js'
import { broadcastStrides, compileLoop, forEachRow } from './elementwise/kernels.js'
import { elementwiseExprs } from './elementwise/exprs.js'
import { type ChainBody, type ChainStep, MAX_BINDINGS, MAX_INPUTS, describeChain, dispatchChain, valueDType, valueName } from './wgsl/chain.js'
import { stopGradientRule } from './transforms.js'
import { fusedReduceParams, fusedReduceRule, prologueFolds } from './fusion-reduce.js'
import { MAX_RANK } from './wgsl/prelude.js'

/** One operation of a fused chain, with its CPU expression (JS over `a, b, c`) beside the WGSL one. */
type FusedStep = ChainStep & { readonly cpu: string }

type FusedBody = ChainBody<FusedStep>

/** Printed params are `chain` (readable, also the CSE key) and `domain`; the body rides along unprinted. */
export type FusedParams = { readonly chain: string; readonly domain: Shape }

export const bodyOf = (p: FusedParams): FusedBody => (p as unknown as { body: FusedBody }).body

const NAMES = ['a', 'b', 'c']

// ---- CPU: one generated loop per chain (cached by chain text and dtypes) ----

const cpuLoops = new Map<string, (...args: unknown[]) => void>()

const cpuLoop = (body: FusedBody): ((...args: unknown[]) => void) => {
  const key = `${describeChain(body)}|${body.inputs.join(',')}`
  let loop = cpuLoops.get(key)
  if (loop !== undefined) return loop
  const steps = body.steps.map((s, k) => {
    const bind = s.args.map((a, j) => `${NAMES[j]} = ${valueName(body, a)}`).join(', ')
    const round = s.dtype === 'float32' ? `Math.fround(${s.cpu})` : s.cpu
    return `let t${k}; { const ${bind}; t${k} = ${round}; }`
  })
  const outs = body.outputs.map((o, j) => `O${j}[o + i] = ${valueName(body, o)};`)
  const params = [...body.inputs.map((_, i) => `X${i}`), ...body.outputs.map((_, j) => `O${j}`), 'o', 'offs', 'len', 'st']
  loop = compileLoop(params, `${body.inputs.map((_, i) => `let p${i} = offs[${i}]; const s${i} = st[${i}];`).join(' ')}
    for (let i = 0; i < len; i++) {
      ${body.inputs.map((_, i) => `const x${i} = X${i}[p${i}]; p${i} += s${i};`).join(' ')}
      ${steps.join('\n      ')}
      ${outs.join(' ')}
    }`)
  cpuLoops.set(key, loop)
  return loop
}

const fusedCpu = (inputs: readonly CpuArray[], params: FusedParams): TypedArray[] => {
  const body = bodyOf(params)
  const outs = body.outputs.map((o) => allocate(valueDType(body, o), size(params.domain)))
  const loop = cpuLoop(body)
  const strides = inputs.map((x) => broadcastStrides(x.shape, params.domain))
  forEachRow(params.domain, strides, (o, offsets, len, st) => loop(...inputs.map((x) => x.data), ...outs, o, offsets, len, st))
  return outs
}

// ---- WebGPU: one WGSL kernel per chain (wgsl/chain.ts); shapes in the uniforms ----

const fusedGpu = (ctx: GpuContext, inputs: readonly GpuArray[], params: FusedParams, outAvals: readonly { shape: Shape; dtype: DType }[]): GpuArray[] => {
  const outs = outAvals.map((a) => ctx.alloc(a))
  dispatchChain(ctx, `fused(${params.chain})`, bodyOf(params), inputs, outs, params.domain)
  return outs
}

const notDifferentiable = (): never => fail('fused', 'fused kernels exist only inside compiled programs, which are never differentiated (internal error)')

export const fusedRule: Rule<FusedParams> = {
  name: 'fused',
  abstractEval: (_, p) => bodyOf(p).outputs.map((o) => ({ shape: p.domain, dtype: valueDType(bodyOf(p), o) })),
  cpu: (inputs, p) => fusedCpu(inputs, p),
  jvp: notDifferentiable,
  vjp: notDifferentiable,
  webgpu: (ctx, inputs, p, outAvals) => fusedGpu(ctx, inputs, p, outAvals),
}

// ---- the pass ----

type Group = { members: Eqn[]; domain: Shape }

/**
 * A compiled program is never differentiated, so `stopGradient` is the identity there: its uses are
 * redirected to its input (it would otherwise cost a kernel once fused).
 */
export const elideIdentities = (p: Program): Program => {
  const alias = new Map<Var, Var>()
  const r = (v: Var): Var => alias.get(v) ?? v
  const eqns: Eqn[] = []
  for (const e of p.eqns) {
    if (e.rule === stopGradientRule) alias.set(e.outputs[0]!, r(e.inputs[0]!))
    else eqns.push({ ...e, inputs: e.inputs.map(r) })
  }
  return { ...p, eqns, outputs: p.outputs.map(r) }
}

/** Groups elementwise chains into `fused` equations (see the module comment for the rule). */
export const fuse = (program: Program): Program => {
  const p = elideIdentities(program)
  const consumers = new Map<Var, Eqn[]>()
  for (const e of p.eqns) for (const v of e.inputs) consumers.set(v, [...(consumers.get(v) ?? []), e])
  const programOutputs = new Set(p.outputs)
  const producer = new Map<Var, Group>()
  const open = new Set<Group>()
  const out: Eqn[] = []

  const order = new Map<Eqn, number>(p.eqns.map((e, i) => [e, i]))
  // Reductions that took a group's chain as their prologue: they no longer read the group's values.
  const absorbed = new Set<Eqn>()
  const close = (g: Group): void => {
    open.delete(g)
    for (const m of g.members) for (const v of m.outputs) producer.delete(v)
    const memberSet = new Set(g.members)
    const outVars = g.members.map((m) => m.outputs[0]!).filter((v) =>
      programOutputs.has(v) || (consumers.get(v) ?? []).some((c) => !memberSet.has(c) && !absorbed.has(c)))
    if (outVars.length === 0) return
    const fused = g.members.length > 1 ? fusedEqn(g.members, g.domain, outVars) : undefined
    // A single equation, or a chain too wide for one kernel's bindings, stays unfused.
    if (fused === undefined || fused.inputs.length + fused.outputs.length > MAX_BINDINGS) out.push(...g.members)
    else out.push(fused)
  }

  for (const e of p.eqns) {
    const source = prologueFolds.has(e.rule) ? producer.get(e.inputs[0]!) : undefined
    if (source !== undefined && open.has(source) && trailing(e, source.domain) && externalInputs(source.members).length <= MAX_INPUTS) {
      out.push(fusedReduceEqn(source.members, source.domain, e.inputs[0]!, e))
      absorbed.add(e)
      continue
    }
    const exprs = elementwiseExprs(e.rule, e.inputs.map((v) => v.aval.dtype), e.params)
    const shape = e.outputs[0]!.aval.shape
    const fusable = exprs !== undefined && e.outputs.length === 1 && shape.length <= MAX_RANK && e.inputs.length <= 3
    const feeding = [...new Set(e.inputs.map((v) => producer.get(v)).filter((g): g is Group => g !== undefined))]
    let joined: Group | undefined
    if (fusable) {
      // Every open group with this domain that feeds e merges with it (open groups have no outside readers
      // yet, and a group reading another's value would have joined it, so their members commute).
      const same = feeding.filter((g) => shapesEqual(g.domain, shape))
      const members = [...same.flatMap((g) => g.members), e]
      if (same.length > 0 && externalInputs(members).length <= MAX_INPUTS) {
        joined = same[0]!
        for (const g of same.slice(1)) {
          joined.members.push(...g.members)
          for (const m of g.members) producer.set(m.outputs[0]!, joined)
          open.delete(g)
        }
        joined.members.sort((x, y) => order.get(x)! - order.get(y)!)
      }
    }
    // Any other open group this equation reads from must be materialized first.
    for (const g of feeding) if (g !== joined && open.has(g)) close(g)
    if (joined !== undefined) {
      joined.members.push(e)
      producer.set(e.outputs[0]!, joined)
    } else if (fusable) {
      const g: Group = { members: [e], domain: shape }
      open.add(g)
      producer.set(e.outputs[0]!, g)
    } else {
      out.push(e)
    }
  }
  for (const g of [...open]) close(g)
  return { ...p, eqns: out }
}

/** Whether a reduction's axes are the trailing axes of `domain` (rows are then contiguous). */
const trailing = (e: Eqn, domain: Shape): boolean => {
  const axes = (e.params as { axes?: readonly number[] }).axes
  return axes !== undefined && shapesEqual(e.inputs[0]!.aval.shape, domain) && axes.every((a, i) => a === domain.length - axes.length + i)
}

const externalInputs = (members: readonly Eqn[]): Var[] => {
  const produced = new Set(members.flatMap((m) => m.outputs))
  return [...new Set(members.flatMap((m) => m.inputs).filter((v) => !produced.has(v)))]
}

/** The chain computing `outVars` from the group's members: its external inputs and its body. */
const chainOf = (members: readonly Eqn[], outVars: readonly Var[]): { inputs: Var[]; body: FusedBody } => {
  const inputs = externalInputs(members)
  const index = new Map<Var, number>(inputs.map((v, i) => [v, i]))
  const steps: FusedStep[] = members.map((m, k) => {
    const exprs = elementwiseExprs(m.rule, m.inputs.map((v) => v.aval.dtype), m.params)!
    index.set(m.outputs[0]!, inputs.length + k)
    return { op: m.rule.name, args: m.inputs.map((v) => index.get(v)!), cpu: exprs.cpu, gpu: exprs.gpu, dtype: m.outputs[0]!.aval.dtype }
  })
  return { inputs, body: { inputs: inputs.map((v) => v.aval.dtype), steps, outputs: outVars.map((v) => index.get(v)!) } }
}

/**
 * A lone elementwise equation as a one-step `fused` equation (the `fuse` pass leaves those as they are),
 * for passes that absorb chains into other kernels; undefined when `e` is not elementwise.
 */
export const asChain = (e: Eqn): Eqn | undefined => {
  if (e.rule === fusedRule) return e
  const exprs = elementwiseExprs(e.rule, e.inputs.map((v) => v.aval.dtype), e.params)
  if (exprs === undefined || e.outputs.length !== 1 || e.inputs.length > 3) return undefined
  return fusedEqn([e], e.outputs[0]!.aval.shape, e.outputs)
}

const fusedEqn = (members: readonly Eqn[], domain: Shape, outVars: readonly Var[]): Eqn => {
  const { inputs, body } = chainOf(members, outVars)
  const params = { chain: describeChain(body), domain }
  Object.defineProperty(params, 'body', { value: body, enumerable: false })
  return { rule: fusedRule, params, inputs, outputs: outVars }
}

/** A reduction over trailing axes of `v` (computed by `members`) with the chain fused into its loads. */
const fusedReduceEqn = (members: readonly Eqn[], domain: Shape, v: Var, reduction: Eqn): Eqn => {
  const { inputs, body } = chainOf(members, [v])
  const chainCpu = (xs: readonly CpuArray[]): TypedArray => fusedCpu(xs, withBody({ chain: describeChain(body), domain }, body))[0]!
  const axes = (reduction.params as { axes: readonly number[] }).axes
  return { rule: fusedReduceRule, params: fusedReduceParams(describeChain(body), body, reduction.rule, domain, axes, chainCpu), inputs, outputs: reduction.outputs }
}

export const withBody = <P extends object>(params: P, body: ChainBody): P => {
  Object.defineProperty(params, 'body', { value: body, enumerable: false })
  return params
}
