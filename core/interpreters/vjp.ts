/**
 * Reverse mode on a tape. While the user's function runs, every primitive applied to a VJP tracer is
 * evaluated on the primal values (one level down) and recorded with a closure that maps output
 * cotangents to input cotangents. The backward pass runs after the trace is popped, so the ops it
 * applies are seen by any outer transformation: grad(grad(f)) and jvp(grad(f)) work without special cases.
 */
import { isFloat } from '../dtype.js'
import { fail } from '../errors.js'
import { shapesEqual } from '../shape.js'
import { type Tensor, type Trace, type Tracer, describeAval } from '../tensor.js'
import type { AdOps } from './ad-ops.js'
import { bind, liftTo, topTrace, withTrace } from './stack.js'

/** A node id for values that depend on the inputs; -1 for constants. */
type VjpPayload = { readonly primal: Tensor; readonly node: number }

type TapeEntry = {
  readonly name: string
  readonly inputNodes: readonly number[]
  readonly inputs: readonly Tensor[]
  readonly outputNodes: readonly number[]
  readonly backward: (cts: readonly (Tensor | null)[]) => readonly (Tensor | null)[]
}

export type VjpTrace = Trace & {
  readonly tape: TapeEntry[]
  readonly newNode: () => number
}

const payloadOf = (t: Tracer): VjpPayload => t.payload as VjpPayload

const makeTracer = (trace: Trace, primal: Tensor, node: number): Tracer => ({
  kind: 'tracer',
  shape: primal.shape,
  dtype: primal.dtype,
  trace,
  payload: { primal, node } satisfies VjpPayload,
})

const vjpTrace = (level: number): VjpTrace => {
  let nodes = 0
  const tape: TapeEntry[] = []
  const trace: VjpTrace = {
    level,
    name: 'vjp',
    tape,
    newNode: () => nodes++,
    lift: (x) => makeTracer(trace, x, -1),
    process: (rule, inputs, params) => {
      const primals = inputs.map((x) => payloadOf(x).primal)
      const inputNodes = inputs.map((x) => payloadOf(x).node)
      const outs = bind(rule, primals, params)
      if (inputNodes.every((n) => n < 0)) return outs.map((o) => makeTracer(trace, o, -1))
      const wants = inputNodes.map((n) => n >= 0)
      return record(trace, rule.name, inputs, outs, (cts) => rule.vjp(cts, primals, params, outs, wants))
    },
  }
  return trace
}

/** Records one differentiable step on the tape and returns its outputs as tracers of `trace`. */
export const record = (
  trace: VjpTrace,
  name: string,
  inputs: readonly Tracer[],
  outs: readonly Tensor[],
  backward: TapeEntry['backward'],
): Tracer[] => {
  const outputNodes = outs.map((o) => (isFloat(o.dtype) ? trace.newNode() : -1))
  trace.tape.push({
    name,
    inputNodes: inputs.map((x) => payloadOf(x).node),
    inputs: inputs.map((x) => payloadOf(x).primal),
    outputNodes,
    backward,
  })
  return outs.map((o, i) => makeTracer(trace, o, outputNodes[i]!))
}

export const vjpPrimal = (t: Tracer): Tensor | undefined => (t.trace.name === 'vjp' ? payloadOf(t).primal : undefined)

export type VjpResult = {
  readonly outputs: Tensor[]
  /** Maps one cotangent per output to one cotangent per input (zeros where there is no dependence). */
  readonly backward: (cts: readonly Tensor[]) => Tensor[]
}

/** Runs `f` on `primals`, recording the tape; returns primal outputs and the backward function. */
export const vjpFlat = (ops: AdOps, f: (inputs: Tensor[]) => Tensor[], primals: readonly Tensor[]): VjpResult => {
  const { tape, inputNodes, outs } = withTrace(vjpTrace, (trace) => {
    const inputs = primals.map((p) => makeTracer(trace, p, isFloat(p.dtype) ? trace.newNode() : -1))
    const outs = f(inputs).map((o) => (o.kind === 'tracer' && o.trace === trace ? { primal: payloadOf(o).primal, node: payloadOf(o).node } : { primal: o, node: -1 }))
    return { tape: trace.tape, inputNodes: inputs.map((x) => payloadOf(x).node), outs }
  })
  const backward = (cts: readonly Tensor[]): Tensor[] => {
    if (cts.length !== outs.length) fail('vjp', `expected ${outs.length} cotangents, got ${cts.length}`)
    const acc = new Map<number, Tensor>()
    const accumulate = (node: number, ct: Tensor): void => {
      const prev = acc.get(node)
      acc.set(node, prev === undefined ? ct : ops.add(prev, ct))
    }
    outs.forEach((o, i) => {
      const ct = cts[i]!
      if (!shapesEqual(ct.shape, o.primal.shape) || ct.dtype !== o.primal.dtype) {
        fail('vjp', `cotangent ${i} is ${describeAval(ct)} but the output is ${describeAval(o.primal)}`)
      }
      if (o.node >= 0) accumulate(o.node, ct)
    })
    for (let e = tape.length - 1; e >= 0; e--) {
      const entry = tape[e]!
      const outCts = entry.outputNodes.map((n) => (n >= 0 ? (acc.get(n) ?? null) : null))
      if (outCts.every((c) => c === null)) continue
      entry.outputNodes.forEach((n) => acc.delete(n))
      const inCts = entry.backward(outCts)
      entry.inputNodes.forEach((n, i) => {
        const ct = inCts[i]
        if (n < 0 || ct === null || ct === undefined) return
        const x = entry.inputs[i]!
        if (!shapesEqual(ct.shape, x.shape) || ct.dtype !== x.dtype) {
          fail(entry.name, `vjp rule produced a ${describeAval(ct)} cotangent for a ${describeAval(x)} input ${i} (internal error)`)
        }
        accumulate(n, ct)
      })
    }
    return primals.map((p, i) => acc.get(inputNodes[i]!) ?? ops.zeros(p.shape, p.dtype))
  }
  return { outputs: outs.map((o) => o.primal), backward }
}

/** The innermost live VJP trace among `xs`, if that trace is the innermost trace overall. */
export const isVjpTrace = (t: Trace): t is VjpTrace => t.name === 'vjp'

/**
 * A function with a user-defined reverse rule. Under a VJP trace, `fwd` runs on the primal inputs and
 * returns `[outputs, residuals]`; the backward pass calls `bwd(residuals, cts)`. Under any other
 * transformation (jvp, vmap) or eagerly, `f` itself runs and is transformed as usual.
 */
export const customVjpFlat = (
  ops: AdOps,
  f: (inputs: Tensor[]) => Tensor[],
  fwd: (inputs: Tensor[]) => [Tensor[], unknown],
  bwd: (residuals: unknown, cts: Tensor[]) => (Tensor | null)[],
) => (inputs: readonly Tensor[]): Tensor[] => {
  const top = topTrace('customVjp', inputs)
  if (top === undefined || !isVjpTrace(top)) return f([...inputs])
  const lifted = inputs.map((x) => liftTo(top, x))
  const [outs, residuals] = fwd(lifted.map((x) => payloadOf(x).primal))
  return record(top, 'customVjp', lifted, outs, (cts) =>
    bwd(residuals, cts.map((c, i) => c ?? ops.zeros(outs[i]!.shape, outs[i]!.dtype))),
  )
}
