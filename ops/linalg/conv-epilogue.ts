/**
 * Pass `fuseConvEpilogues` (jit, after `fuse`): a conv2d whose only reader is a fused elementwise chain
 * (or a lone elementwise op) over the convolution's output computes that chain as it stores its results — bias, residual add,
 * activation — so the convolution's output never reaches memory and the chain costs no kernel of its own
 * (a ResNet block's conv → +bias → +identity → relu is one dispatch). The chain is the `fused` equation's
 * own, so every value it stored before is stored again, now by the convolution.
 *
 * Conditions: the conv2d output is read once (by the chain) and is not a program output; the chain's
 * domain is the output's shape; its other inputs broadcast into it by one of the flat kinds of
 * wgsl/broadcast.ts (a bias [1,O,1,1], a same-shaped residual, a scalar); the kernel's bindings fit; the
 * convolution is not depthwise (those take direct kernels, without the GEMM store this extends).
 */
import { fail } from '../../core/errors.js'
import type { Eqn, Program, Var } from '../../core/ir/program.js'
import { usesOf } from '../../core/ir/program.js'
import type { CpuArray, Rule } from '../../core/rule.js'
import { shapesEqual } from '../../core/shape.js'
import { type FusedParams, asChain, bodyOf, fusedRule, withBody } from '../fusion.js'
import { flatIndexings, kindsKey } from '../wgsl/broadcast.js'
import { type ChainBody, MAX_BINDINGS, bodyKey, valueDType } from '../wgsl/chain.js'
import { isDepthwise } from './conv-depthwise.js'
import { conv2dKernel } from './conv-kernels.js'
import { type ConvParams, convGeometry } from './conv-shape.js'
import { conv2dEpilogueGpu } from './conv-wgsl.js'
import { conv2dRule } from './conv.js'

/** The convolution's params, the chain (printed; its body rides along unprinted) and which chain input is the convolution. */
export type ConvEpilogueParams = ConvParams & { readonly chain: string; readonly convInput: number }

const chainBody = (p: ConvEpilogueParams): ChainBody => bodyOf(p as unknown as FusedParams)

const geometry = (x: { shape: readonly number[] }, w: { shape: readonly number[] }, p: ConvParams) =>
  convGeometry('conv2d', x.shape, w.shape, p, () => '')

const notDifferentiable = (): never => fail('conv2dEpilogue', 'fused kernels exist only inside compiled programs, which are never differentiated (internal error)')

/** conv2d(x, w) followed by the chain: inputs [x, w, ...the chain's other inputs in order]. */
export const conv2dEpilogueRule: Rule<ConvEpilogueParams> = {
  name: 'conv2dEpilogue',
  abstractEval: ([x, w], p) => {
    const g = geometry(x!, w!, p)
    const body = chainBody(p)
    return body.outputs.map((o) => ({ shape: [g.n, g.o, g.ho, g.wo], dtype: valueDType(body, o) }))
  },
  cpu: ([x, w, ...others], p, outAvals) => {
    const g = geometry(x!, w!, p)
    const shape = [g.n, g.o, g.ho, g.wo]
    const y: CpuArray = { data: conv2dKernel(x!.data as Float32Array, w!.data as Float32Array, g), shape, dtype: 'float32' }
    const inputs = [...others]
    inputs.splice(p.convInput, 0, y)
    return fusedRule.cpu(inputs, withBody({ chain: p.chain, domain: shape }, chainBody(p)), outAvals)
  },
  webgpu: (ctx, [x, w, ...others], p, outAvals) => {
    const g = geometry(x!, w!, p)
    const body = chainBody(p)
    const domain = [g.n, g.o, g.ho, g.wo]
    const indexings = flatIndexings(others.map((o) => o!.shape), domain)
    if (indexings === undefined) return fail('conv2dEpilogue', `an epilogue input does not broadcast by a flat kind into [${domain.join(',')}] (internal error)`)
    const outs = outAvals.map((a) => ctx.alloc(a))
    const key = `${bodyKey(body)}|${p.convInput}|${kindsKey(indexings)}`
    conv2dEpilogueGpu(ctx, x!, w!, g, { body, convInput: p.convInput, inputs: others.map((o) => o!), indexings, key }, outs)
    return outs
  },
  jvp: notDifferentiable,
  vjp: notDifferentiable,
}

/** The conv2d equation `c` with the fused chain `e` (reading c's output as input `j`) as its epilogue, if it fits. */
const absorb = (c: Eqn, e: Eqn, j: number): Eqn | undefined => {
  const fp = e.params as FusedParams
  const [x, w] = c.inputs as [Var, Var]
  const y = c.outputs[0]!
  if (!shapesEqual(y.aval.shape, fp.domain) || isDepthwise(geometry(x.aval, w.aval, c.params as ConvParams))) return undefined
  const others = e.inputs.filter((_, i) => i !== j)
  if (flatIndexings(others.map((v) => v.aval.shape), fp.domain) === undefined) return undefined
  if (2 + others.length + e.outputs.length > MAX_BINDINGS) return undefined
  const params = withBody({ ...(c.params as ConvParams), chain: fp.chain, convInput: j }, bodyOf(fp))
  return { rule: conv2dEpilogueRule, params, inputs: [x, w, ...others], outputs: e.outputs }
}

export const fuseConvEpilogues = (p: Program): Program => {
  const uses = usesOf(p.eqns, p.outputs)
  const producer = new Map<Var, Eqn>()
  for (const e of p.eqns) for (const v of e.outputs) producer.set(v, e)
  const absorbed = new Set<Eqn>()
  const replaced = new Map<Eqn, Eqn>()
  for (const eqn of p.eqns) {
    const e = eqn.inputs.some((v) => producer.get(v)?.rule === conv2dRule) ? asChain(eqn) : undefined
    if (e === undefined) continue
    for (let j = 0; j < e.inputs.length; j++) {
      const v = e.inputs[j]!
      const c = producer.get(v)
      if (c?.rule !== conv2dRule || uses.get(v) !== 1 || absorbed.has(c)) continue
      const fused = absorb(c, e, j)
      if (fused === undefined) continue
      absorbed.add(c)
      replaced.set(eqn, fused)
      break
    }
  }
  return { ...p, eqns: p.eqns.filter((e) => !absorbed.has(e)).map((e) => replaced.get(e) ?? e) }
}
