/**
 * A deterministic text form of a program, for tests (golden IR) and for `jit(f).lower(...).text`:
 *
 *   in a:f32[2,3] b:f32[3]
 *   const c:f32[] = 2
 *   d:f32[2,3] = mul a c
 *   e:f32[2,3] = add d b
 *   out e
 *
 * Variables are named a, b, …, z, ba, bb, … in order of first appearance; params are printed as
 * sorted `key=value` pairs; small constants show their values.
 */
import type { TypedArray } from '../dtype.js'
import { describe } from '../shape.js'
import type { Program, Var } from './program.js'

const letters = 'abcdefghijklmnopqrstuvwxyz'

const nameOf = (i: number): string => {
  let s = ''
  let n = i
  do {
    s = letters[n % 26] + s
    n = Math.floor(n / 26) - 1
  } while (n >= 0)
  return s
}

const formatValue = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${k}:${formatValue((v as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return typeof v === 'string' ? v : String(v)
}

export const formatParams = (params: unknown): string => {
  if (params === null || typeof params !== 'object') return ''
  const keys = Object.keys(params).sort()
  return keys.length === 0 ? '' : `[${keys.map((k) => `${k}=${formatValue((params as Record<string, unknown>)[k])}`).join(' ')}]`
}

export const printProgram = (p: Program): string => {
  const names = new Map<Var, string>()
  const name = (v: Var): string => {
    let n = names.get(v)
    if (n === undefined) {
      n = nameOf(names.size)
      names.set(v, n)
    }
    return n
  }
  const typed = (v: Var) => `${name(v)}:${describe(v.aval.shape, v.aval.dtype)}`
  const lines = [`in ${p.inputs.map(typed).join(' ')}`.trimEnd()]
  for (const { v, value } of p.consts) {
    const data = value.backend === 'cpu' ? (value.data as TypedArray) : undefined
    const shown = data !== undefined && data.length <= 4 ? (data.length === 1 && v.aval.shape.length === 0 ? String(data[0]) : `[${Array.from(data).join(',')}]`) : '…'
    lines.push(`const ${typed(v)} = ${shown}`)
  }
  for (const e of p.eqns) {
    lines.push(`${e.outputs.map(typed).join(' ')} = ${e.rule.name}${formatParams(e.params)} ${e.inputs.map(name).join(' ')}`.trimEnd())
  }
  lines.push(`out ${p.outputs.map(name).join(' ')}`.trimEnd())
  return lines.join('\n')
}
