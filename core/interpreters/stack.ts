/**
 * The interpreter stack (the Autodidax design). Every primitive application goes through `bind`: it runs
 * the shape rule, then hands the operation to the innermost transformation that owns one of the inputs,
 * or, when no input is traced, evaluates it on the current backend. A transformation pushes a trace for
 * the duration of the user's function and pops it afterwards; `jit` (a later issue) is one more trace.
 */
import { fail } from '../errors.js'
import { type Aval, type AnyRule, type Concrete, type Tensor, type Trace, type Tracer, describeAval } from '../tensor.js'
import { getBackendRecord } from '../backend/registry.js'

const stack: Trace[] = []

/** The level the next pushed trace gets. */
export const nextLevel = (): number => stack.length

/** Pushes the trace built by `make`, runs `body`, and pops it even when `body` throws. */
export const withTrace = <T extends Trace, R>(make: (level: number) => T, body: (trace: T) => R): R => {
  const trace = make(stack.length)
  stack.push(trace)
  try {
    return body(trace)
  } finally {
    stack.pop()
  }
}

const checkLive = (op: string, t: Tracer): void => {
  if (stack[t.trace.level] !== t.trace) {
    fail(op, `got a ${describeAval(t)} tracer from a ${t.trace.name} transformation that has already finished; ` +
      'a traced value escaped its transformation (e.g. stored in an outer variable). Return it from the function instead.')
  }
}

/** The innermost trace owning one of `inputs`, or undefined when all inputs are concrete. */
export const topTrace = (op: string, inputs: readonly Tensor[]): Trace | undefined => {
  let top: Trace | undefined
  for (const x of inputs) {
    if (x.kind !== 'tracer') continue
    checkLive(op, x)
    if (top === undefined || x.trace.level > top.level) top = x.trace
  }
  return top
}

/** Lifts `x` into `trace` (identity when it already belongs to it). */
export const liftTo = (trace: Trace, x: Tensor): Tracer =>
  x.kind === 'tracer' && x.trace === trace ? x : trace.lift(x)

/** Applies a primitive. All ops, eager or traced, end up here. */
export const bind = <P>(rule: AnyRule, inputs: readonly Tensor[], params: P): Tensor[] => {
  const outAvals: Aval[] = rule.abstractEval(inputs, params)
  const trace = topTrace(rule.name, inputs)
  if (trace === undefined) return getBackendRecord().run(rule, inputs as readonly Concrete[], params, outAvals)
  return trace.process(rule, inputs.map((x) => liftTo(trace, x)), params, outAvals)
}

/** `bind` for single-output primitives. */
export const bind1 = <P>(rule: AnyRule, inputs: readonly Tensor[], params: P): Tensor => bind(rule, inputs, params)[0]!
