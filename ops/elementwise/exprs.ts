/**
 * The scalar expressions behind each elementwise primitive, by rule and operand dtypes — what the
 * fusion pass stitches into one kernel. CPU expressions are JS over `a, b, c`; GPU expressions are WGSL.
 */
import type { DType } from '../../core/dtype.js'
import type { AnyRule } from '../../core/tensor.js'
import { stopGradientRule } from '../transforms.js'
import { binaryRules, binarySpecs, castExpr, castRule, whereRule } from './binary.js'
import { unaryRules, unarySpecs } from './unary.js'
import { castExpr as castGpuExpr } from './wgsl.js'

export type ElementwiseExprs = { readonly cpu: string; readonly gpu: string }

type ExprTable = { readonly float?: string; readonly int?: string; readonly bool?: string }

const classOf = (d: DType): keyof ExprTable => (d === 'float32' ? 'float' : d === 'int32' ? 'int' : 'bool')

const byRule = new Map<AnyRule, (dtypes: readonly DType[], params: any) => ElementwiseExprs | undefined>()

const fromTables = (cpu: ExprTable, gpu: ExprTable) => (dtypes: readonly DType[]) => {
  const c = cpu[classOf(dtypes[0]!)]
  const g = gpu[classOf(dtypes[0]!)]
  return c === undefined || g === undefined ? undefined : { cpu: c, gpu: g }
}

for (const [name, spec] of Object.entries(unarySpecs)) byRule.set(unaryRules[name as keyof typeof unaryRules], fromTables(spec.expr, spec.gpu))
for (const [name, spec] of Object.entries(binarySpecs)) byRule.set(binaryRules[name as keyof typeof binaryRules], fromTables(spec.expr, spec.gpu))
byRule.set(castRule, (dtypes, params: { dtype: DType }) => ({ cpu: castExpr(dtypes[0]!, params.dtype), gpu: castGpuExpr('a', dtypes[0]!, params.dtype) }))
byRule.set(whereRule, () => ({ cpu: 'a ? b : c', gpu: 'select(c, b, a != 0u)' }))
byRule.set(stopGradientRule, () => ({ cpu: 'a', gpu: 'a' }))

/** The expressions of an elementwise primitive applied to operands of `dtypes`, or undefined if `rule` is not elementwise. */
export const elementwiseExprs = (rule: AnyRule, dtypes: readonly DType[], params: unknown): ElementwiseExprs | undefined =>
  byRule.get(rule)?.(dtypes, params)
