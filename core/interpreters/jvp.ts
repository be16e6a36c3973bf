/**
 * Forward mode. A JVP tracer carries a primal and a tangent (null = a symbolic zero, which saves work on
 * integer values and constants). Each primitive's `jvp` rule computes output tangents with ops, so a
 * JVP of a VJP (Hessian-vector products) or of a JVP works by stacking traces.
 */
import { isFloat } from '../dtype.js'
import { fail } from '../errors.js'
import { type Tensor, type Trace, type Tracer, describeAval } from '../tensor.js'
import { shapesEqual } from '../shape.js'
import type { AdOps } from './ad-ops.js'
import { bind, withTrace } from './stack.js'

type JvpPayload = { readonly primal: Tensor; readonly tangent: Tensor | null }

const payloadOf = (t: Tracer): JvpPayload => t.payload as JvpPayload

const makeTracer = (trace: Trace, primal: Tensor, tangent: Tensor | null): Tracer => ({
  kind: 'tracer',
  shape: primal.shape,
  dtype: primal.dtype,
  trace,
  payload: { primal, tangent } satisfies JvpPayload,
})

const jvpTrace = (ops: AdOps) => (level: number): Trace => {
  const trace: Trace = {
    level,
    name: 'jvp',
    lift: (x) => makeTracer(trace, x, null),
    process: (rule, inputs, params) => {
      const primals = inputs.map((x) => payloadOf(x).primal)
      const tangents = inputs.map((x) => payloadOf(x).tangent)
      const outs = bind(rule, primals, params)
      if (tangents.every((t) => t === null)) return outs.map((o) => makeTracer(trace, o, null))
      const filled = tangents.map((t, i) => t ?? (isFloat(primals[i]!.dtype) ? ops.zeros(primals[i]!.shape, primals[i]!.dtype) : null))
      const tangentsOut = rule.jvp(primals, filled, params, outs)
      return outs.map((o, i) => {
        const t = isFloat(o.dtype) ? (tangentsOut[i] ?? null) : null
        if (t !== null && (!shapesEqual(t.shape, o.shape) || t.dtype !== o.dtype)) {
          fail(rule.name, `jvp rule produced a ${describeAval(t)} tangent for a ${describeAval(o)} output (internal error)`)
        }
        return makeTracer(trace, o, t)
      })
    },
  }
  return trace
}

/**
 * Runs `f` on primals with tangents and returns `[outputs, outputTangents]` (flat lists). Tangents for
 * outputs that do not depend on the inputs are zeros.
 */
export const jvpFlat = (
  ops: AdOps,
  f: (inputs: Tensor[]) => Tensor[],
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
): [Tensor[], Tensor[]] =>
  withTrace(jvpTrace(ops), (trace) => {
    const inputs = primals.map((p, i) => makeTracer(trace, p, tangents[i]!))
    const outs = f(inputs)
    const primalsOut: Tensor[] = []
    const tangentsOut: Tensor[] = []
    for (const o of outs) {
      const mine = o.kind === 'tracer' && o.trace === trace
      const primal = mine ? payloadOf(o).primal : o
      const tangent = mine ? payloadOf(o).tangent : null
      primalsOut.push(primal)
      tangentsOut.push(tangent ?? ops.zeros(primal.shape, primal.dtype))
    }
    return [primalsOut, tangentsOut]
  })

/** The primal value under a JVP tracer (used to read values while differentiating eagerly). */
export const jvpPrimal = (t: Tracer): Tensor | undefined => (t.trace.name === 'jvp' ? payloadOf(t).primal : undefined)
