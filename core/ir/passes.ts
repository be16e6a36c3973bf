/**
 * Program-to-program passes, each with its rule stated:
 * - `dce`: an equation is kept only if one of its outputs is used by a kept equation or is a program output.
 * - `cse`: two equations with the same primitive, params (by printed form) and inputs compute the same
 *   values; later uses are redirected to the first.
 * - `foldConstants`: an equation whose inputs are all constants is evaluated at compile time and its
 *   outputs become constants.
 * Primitives are pure, so all three preserve meaning.
 */
import { bind } from '../interpreters/stack.js'
import type { Concrete } from '../tensor.js'
import { formatParams } from './print.js'
import type { Eqn, Program, Var } from './program.js'

export const dce = (p: Program): Program => {
  const live = new Set<Var>(p.outputs)
  const kept: Eqn[] = []
  for (let i = p.eqns.length - 1; i >= 0; i--) {
    const e = p.eqns[i]!
    if (!e.outputs.some((v) => live.has(v))) continue
    kept.push(e)
    e.inputs.forEach((v) => live.add(v))
  }
  kept.reverse()
  return { ...p, eqns: kept, consts: p.consts.filter(({ v }) => live.has(v)) }
}

export const cse = (p: Program): Program => {
  const replace = new Map<Var, Var>()
  const seen = new Map<string, Eqn>()
  const r = (v: Var): Var => replace.get(v) ?? v
  const eqns: Eqn[] = []
  for (const e of p.eqns) {
    const inputs = e.inputs.map(r)
    const key = `${e.rule.name}${formatParams(e.params)}(${inputs.map((v) => v.id).join(',')})`
    const prior = seen.get(key)
    if (prior !== undefined && prior.rule === e.rule) {
      e.outputs.forEach((v, i) => replace.set(v, prior.outputs[i]!))
      continue
    }
    const rewritten = { ...e, inputs }
    seen.set(key, rewritten)
    eqns.push(rewritten)
  }
  return { ...p, eqns, outputs: p.outputs.map(r) }
}

export const foldConstants = (p: Program): Program => {
  const values = new Map<Var, Concrete>(p.consts.map(({ v, value }) => [v, value]))
  const eqns: Eqn[] = []
  for (const e of p.eqns) {
    if (e.inputs.length > 0 && e.inputs.every((v) => values.has(v))) {
      const outs = bind(e.rule, e.inputs.map((v) => values.get(v)!), e.params) as Concrete[]
      e.outputs.forEach((v, i) => values.set(v, outs[i]!))
      continue
    }
    eqns.push(e)
  }
  const folded = { ...p, eqns, consts: [...values].map(([v, value]) => ({ v, value })) }
  return dce(folded)
}

/** The standard pipeline, in order. */
export const optimize = (p: Program): Program => dce(cse(foldConstants(p)))
