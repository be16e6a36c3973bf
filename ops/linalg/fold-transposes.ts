/**
 * Pass `foldTransposes` (jit): a matmul reads either operand transposed at no cost (its `transposeA` /
 * `transposeB` flags), so a transpose that only swaps the last two axes need not be materialised.
 * Rules, applied in program order:
 *
 * 1. `matmul(transpose(a), b)` reads `a` in place with `transposeA` flipped (likewise for `b`). A linear
 *    layer's `x · transpose(W)` becomes one kernel instead of a copy of W and a matmul.
 * 2. `transpose(matmul(a, b))`, when the transpose is the product's only reader, is the product of the
 *    swapped operands with both flags flipped: (op(A)·op(B))ᵀ = op(B)ᵀ·op(A)ᵀ. The weight gradient of a
 *    linear layer has this form.
 *
 * Transposes left without readers are removed by `dce`.
 */
import { dce } from '../../core/ir/passes.js'
import { type Eqn, type Program, type Var, usesOf } from '../../core/ir/program.js'
import { type TransposeParams, transposeRule } from '../shape/basic.js'
import { type MatmulParams, matmulRule } from './matmul.js'

/** Whether `perm` exchanges the last two axes and keeps the others. */
export const swapsLastTwo = (perm: readonly number[]): boolean => {
  const r = perm.length
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, -2).every((p, i) => p === i)
}

const flags = (transposeA: boolean, transposeB: boolean): MatmulParams => ({ ...(transposeA ? { transposeA } : {}), ...(transposeB ? { transposeB } : {}) })

export const foldTransposes = (p: Program): Program => {
  const producer = new Map<Var, Eqn>()
  const uses = usesOf(p.eqns, p.outputs)
  const swapped = (v: Var): Var | undefined => {
    const t = producer.get(v)
    return t?.rule === transposeRule && swapsLastTwo((t.params as TransposeParams).perm) ? t.inputs[0] : undefined
  }
  const eqns: Eqn[] = []
  for (const e of p.eqns) {
    let rewritten = e
    if (e.rule === matmulRule) {
      const { transposeA = false, transposeB = false } = e.params as MatmulParams
      const [a, b] = e.inputs as [Var, Var]
      const [sa, sb] = [swapped(a), swapped(b)]
      if (sa !== undefined || sb !== undefined) {
        rewritten = { ...e, inputs: [sa ?? a, sb ?? b], params: flags(transposeA !== (sa !== undefined), transposeB !== (sb !== undefined)) }
      }
    } else if (e.rule === transposeRule && swapsLastTwo((e.params as TransposeParams).perm)) {
      const m = producer.get(e.inputs[0]!)
      if (m?.rule === matmulRule && uses.get(e.inputs[0]!) === 1) {
        const { transposeA = false, transposeB = false } = m.params as MatmulParams
        rewritten = { rule: matmulRule, inputs: [m.inputs[1]!, m.inputs[0]!], params: flags(!transposeB, !transposeA), outputs: e.outputs }
      }
    }
    for (const v of rewritten.outputs) producer.set(v, rewritten)
    eqns.push(rewritten)
  }
  return dce({ ...p, eqns })
}
