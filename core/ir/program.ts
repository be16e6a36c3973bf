/**
 * The IR `jit` records (JAX's jaxpr, simplified): a program is a list of input variables, constants
 * captured from the host, a flat list of equations — one primitive applied to variables, with its
 * params — and output variables. Variables are single-assignment; equations are in execution order.
 */
import type { Aval, AnyRule, Concrete } from '../tensor.js'

export type Var = { readonly id: number; readonly aval: Aval }

export type Eqn = {
  readonly rule: AnyRule
  readonly params: unknown
  readonly inputs: readonly Var[]
  readonly outputs: readonly Var[]
}

export type Program = {
  readonly inputs: readonly Var[]
  readonly consts: readonly { readonly v: Var; readonly value: Concrete }[]
  readonly eqns: readonly Eqn[]
  readonly outputs: readonly Var[]
}

/** Every variable an equation list reads (inputs of equations plus the program outputs). */
export const usesOf = (eqns: readonly Eqn[], outputs: readonly Var[]): Map<Var, number> => {
  const uses = new Map<Var, number>()
  const use = (v: Var) => uses.set(v, (uses.get(v) ?? 0) + 1)
  for (const e of eqns) e.inputs.forEach(use)
  outputs.forEach(use)
  return uses
}
