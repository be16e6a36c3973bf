/**
 * Running a program: each equation is applied with `bind` (so a program runs on any backend, and under
 * any outer transformation), and an intermediate value is released as soon as its last reader has run —
 * the memory plan: buffers return to the pool in time for later equations of the same call to reuse them.
 */
import { disposeAll, getBackendRecord } from '../backend/registry.js'
import { bind } from '../interpreters/stack.js'
import type { Concrete, Tensor } from '../tensor.js'
import { type Program, type Var, usesOf } from './program.js'

export const evalProgram = (p: Program, args: readonly Tensor[]): Tensor[] => {
  const env = new Map<Var, Tensor>()
  p.inputs.forEach((v, i) => env.set(v, args[i]!))
  for (const { v, value } of p.consts) env.set(v, value)
  const remaining = usesOf(p.eqns, p.outputs)
  const owned = new Set<Var>()
  const backend = getBackendRecord()
  for (const e of p.eqns) {
    const ins = e.inputs.map((v) => env.get(v)!)
    // Replaying on concrete values: shapes were checked when the program was traced, so the equation goes
    // straight to the backend. Under an outer transformation it goes through bind like any op.
    const outs = ins.every((x) => x.kind === 'tensor')
      ? backend.run(e.rule, ins as Concrete[], e.params, e.outputs.map((v) => v.aval))
      : bind(e.rule, ins, e.params)
    e.outputs.forEach((v, i) => {
      env.set(v, outs[i]!)
      owned.add(v)
    })
    for (const v of e.inputs) {
      const left = remaining.get(v)! - 1
      remaining.set(v, left)
      if (left === 0 && owned.has(v)) disposeAll([env.get(v)])
    }
    // Outputs nobody reads (e.g. the unused half of a multi-output primitive) are released at once.
    for (const v of e.outputs) if (!remaining.has(v)) disposeAll([env.get(v)])
  }
  // A replay on concrete values is one submission: its released intermediates become reusable at once, so
  // the next call takes the same buffers in the same order (and finds its bind groups cached).
  // (Constants are concrete, so concrete arguments mean every equation above ran on the backend.)
  if (args.every((x) => x.kind === 'tensor')) backend.submit?.()
  return p.outputs.map((v) => env.get(v)!)
}
