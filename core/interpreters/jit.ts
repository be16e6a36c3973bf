/**
 * Tracing for `jit`: a trace whose tracers stand for program variables. Applying a primitive to them
 * records an equation instead of computing. Concrete tensors met during tracing (closed-over values,
 * weak scalars) become program constants. A tracer of an *outer* transformation met inside (e.g. a
 * value captured from an enclosing `grad`) cannot be a constant: tracing then stops and the caller runs
 * the function without compiling (`OuterTracer`).
 */
import { fail } from '../errors.js'
import type { Eqn, Program, Var } from '../ir/program.js'
import type { Aval, Concrete, Tensor, Trace, Tracer } from '../tensor.js'
import { withTrace } from './stack.js'

type JitPayload = { readonly v: Var }

/** Thrown (and caught by jit) when the traced function closes over a tracer of an outer transformation. */
export const OuterTracer: unique symbol = Symbol('fovea.jit.outerTracer')

const payloadOf = (t: Tracer): JitPayload => t.payload as JitPayload

/** Records `f` applied to abstract inputs; returns the program, or OuterTracer. */
export const traceProgram = (f: (inputs: Tensor[]) => Tensor[], avals: readonly Aval[]): Program | typeof OuterTracer => {
  let ids = 0
  const newVar = (aval: Aval): Var => ({ id: ids++, aval: { shape: aval.shape, dtype: aval.dtype } })
  const eqns: Eqn[] = []
  const consts = new Map<Concrete, Var>()
  const constVar = (x: Concrete): Var => {
    let v = consts.get(x)
    if (v === undefined) {
      v = newVar(x)
      consts.set(x, v)
    }
    return v
  }
  const makeTracer = (trace: Trace, v: Var): Tracer => ({ kind: 'tracer', shape: v.aval.shape, dtype: v.aval.dtype, trace, payload: { v } satisfies JitPayload })
  const jitTrace = (level: number): Trace => {
    const trace: Trace = {
      level,
      name: 'jit',
      lift: (x) => {
        if (x.kind === 'tracer') throw OuterTracer
        return makeTracer(trace, constVar(x))
      },
      process: (rule, inputs, params, outAvals) => {
        const outputs = outAvals.map(newVar)
        eqns.push({ rule, params, inputs: inputs.map((x) => payloadOf(x).v), outputs })
        return outputs.map((v) => makeTracer(trace, v))
      },
    }
    return trace
  }
  try {
    return withTrace(jitTrace, (trace) => {
      const inputs = avals.map(newVar)
      const outs = f(inputs.map((v) => makeTracer(trace, v)))
      const outputs = outs.map((o) => {
        if (o.kind === 'tensor') return constVar(o)
        if (o.trace !== trace) throw OuterTracer
        return payloadOf(o).v
      })
      return { inputs, consts: [...consts].map(([value, v]) => ({ v, value })), eqns, outputs }
    })
  } catch (e) {
    if (e === OuterTracer) return OuterTracer
    throw e
  }
}

/** Whether a tracer belongs to a jit trace (its value is unknown while tracing). */
export const isJitTracer = (t: Tracer): boolean => t.trace.name === 'jit'

export const jitMisuse = (op: string, what: string): never =>
  fail(op, `${what} inside jit: values are not known while jit traces the function. Mark the argument static ` +
    '(jit(f, { staticArgnums: [i] })) if the code branches on it, use where() instead of data-dependent branches, or move the read outside jit.')
