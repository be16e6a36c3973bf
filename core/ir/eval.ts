/**
 * Running a program: each equation is applied with `bind` (so a program runs on any backend, and under
 * any outer transformation), and an intermediate value is released as soon as its last reader has run —
 * the memory plan: buffers return to the pool in time for later equations of the same call to reuse them.
 */
import { disposeAll } from '../backend/registry.js'
import { bind } from '../interpreters/stack.js'
import type { Tensor } from '../tensor.js'
import { type Program, type Var, usesOf } from './program.js'

export const evalProgram = (p: Program, args: readonly Tensor[]): Tensor[] => {
  const env = new Map<Var, Tensor>()
  p.inputs.forEach((v, i) => env.set(v, args[i]!))
  for (const { v, value } of p.consts) env.set(v, value)
  const remaining = usesOf(p.eqns, p.outputs)
  const owned = new Set<Var>()
  for (const e of p.eqns) {
    const outs = bind(e.rule, e.inputs.map((v) => env.get(v)!), e.params)
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
  return p.outputs.map((v) => env.get(v)!)
}
