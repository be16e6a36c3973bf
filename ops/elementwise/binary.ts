/**
 * Binary elementwise primitives with NumPy broadcasting, plus `cast` and `where`. Public wrappers accept
 * plain JS numbers as weakly typed scalars and promote mixed dtypes (bool < int32 < float32) as JAX does.
 * Gradients are written with ops and summed back over broadcast axes (`sumToShape`).
 */
import { type DType, isDType } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { broadcastShapes } from '../../core/shape.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { type TensorLike, asTensor, describeAll, expectDTypes, resultDType } from '../operand.js'
import { sumToShape } from '../reduce/sum.js'
import { batchFirst, reshape } from '../shape/basic.js'
import { elementwiseKernel } from './kernels.js'
import { castExpr as castGpuExpr, elementwiseGpu } from './wgsl.js'
import { unaryRules } from './unary.js'

type Exprs = { readonly float?: string; readonly int?: string; readonly bool?: string }

type BinarySpec = {
  readonly name: string
  /** CPU (JS) expressions in a, b. */
  readonly expr: Exprs
  /** WGSL expressions in a, b (f32, i32, or u32 for bool). */
  readonly gpu: Exprs
  /** Output dtype when it is not the operands' (comparisons give bool). */
  readonly out?: DType
  /** Partial derivatives [∂y/∂a, ∂y/∂b] (unbroadcast), or absent for non-differentiable ops. */
  readonly partials?: (a: Tensor, b: Tensor, y: Tensor) => [Tensor, Tensor]
  /** For add/sub: y's tangent from the operands' tangents, and the cotangent's sign for b. */
  readonly linearSign?: 1 | -1
  readonly hint?: string
}

const classOf = (d: DType): keyof Exprs => (d === 'float32' ? 'float' : d === 'int32' ? 'int' : 'bool')

/** Broadcast output shape of several operands, with a message naming the op and operands. */
export const broadcastAvals = (op: string, xs: readonly Aval[]): number[] =>
  broadcastShapes(op, xs.map((x) => x.shape), () => describeAll(xs))

/**
 * Batching for elementwise primitives: batched operands get their batch axis first and are padded to the
 * logical output rank so that broadcasting lines up; unbatched ones broadcast as they are.
 */
export const vmapElementwise = (rule: Rule<any>) => (args: readonly Tensor[], dims: readonly BatchDim[], params: unknown, n: number): [Tensor[], BatchDim[]] => {
  const rank = Math.max(...args.map((x, i) => x.shape.length - (dims[i] === null ? 0 : 1)))
  const moved = args.map((x, i) => {
    if (dims[i] === null) return x
    const xb = batchFirst(x, dims[i]!, n)
    return reshape(xb, [n, ...new Array(rank - (xb.shape.length - 1)).fill(1), ...xb.shape.slice(1)])
  })
  return [[bind1(rule, moved, params)], [0]]
}

const binaryRule = (spec: BinarySpec): Rule<Record<string, never>> => {
  const kernels = new Map<string, ReturnType<typeof elementwiseKernel>>()
  const kernelFor = (d: DType) => {
    const expr = spec.expr[classOf(d)]!
    if (!kernels.has(expr)) kernels.set(expr, elementwiseKernel(expr, 2))
    return kernels.get(expr)!
  }
  const allowed = (['float32', 'int32', 'bool'] as const).filter((d) => spec.expr[classOf(d)] !== undefined)
  const rule: Rule<Record<string, never>> = {
    name: spec.name,
    abstractEval: ([a, b]) => {
      expectDTypes(spec.name, [a!, b!], allowed, spec.hint ?? 'cast the operands first')
      if (a!.dtype !== b!.dtype) fail(spec.name, `operands have different dtypes: ${describeAll([a!, b!])} (internal: wrappers promote)`)
      return [{ shape: broadcastAvals(spec.name, [a!, b!]), dtype: spec.out ?? a!.dtype }]
    },
    cpu: ([a, b], _, [o]) => [kernelFor(a!.dtype)([a!, b!], o!.shape, o!.dtype)],
    jvp: ([a, b], [ta, tb], _, [y]) => {
      if (spec.linearSign !== undefined) return [spec.linearSign === 1 ? add(ta!, tb!) : sub(ta!, tb!)]
      if (spec.partials === undefined) return [null]
      const [da, db] = spec.partials(a!, b!, y!)
      return [add(mul(ta!, da), mul(tb!, db))]
    },
    vjp: ([ct], [a, b], _, [y]) => {
      if (ct === null) return [null, null]
      if (spec.linearSign !== undefined) {
        return [sumToShape(ct, a!.shape), sumToShape(spec.linearSign === 1 ? ct : bind1(negRule(), [ct], {}), b!.shape)]
      }
      if (spec.partials === undefined) return [null, null]
      const [da, db] = spec.partials(a!, b!, y!)
      return [sumToShape(mul(ct, da), a!.shape), sumToShape(mul(ct, db), b!.shape)]
    },
    vmap: (args, dims, params, n) => vmapElementwise(rule)(args, dims, params, n),
    webgpu: (ctx, [a, b], _, [o]) => [elementwiseGpu(ctx, spec.name, spec.gpu[classOf(a!.dtype)]!, [a!, b!], o!)],
  }
  return rule
}

// unary.ts imports this file too; the rule is looked up at call time, after both modules have loaded.
const negRule = () => unaryRules.neg

const FLOAT_ONLY = "this op is defined for float32 only; use cast(x, 'float32')"
const cmp = (name: string, op: string, wgslOp: string): BinarySpec => {
  const e = `a ${op} b ? 1 : 0`
  const g = `select(0u, 1u, a ${wgslOp} b)`
  // Drivers that compile with no-NaN assumptions (lavapipe) fold NaN != x to false: spell NaN out.
  const f = wgslOp === '!=' ? 'select(0u, 1u, isnan_(a) || isnan_(b) || a != b)' : `select(0u, 1u, !isnan_(a) && !isnan_(b) && a ${wgslOp} b)`
  return { name, expr: { float: e, int: e, bool: e }, gpu: { float: f, int: g, bool: g }, out: 'bool' }
}
/** ∂max(a,b)/∂a: 1 where a wins, 1/2 on ties (PyTorch and JAX split ties evenly). */
const winner = (a: Tensor, b: Tensor, beats: (a: Tensor, b: Tensor) => Tensor): [Tensor, Tensor] => {
  const wa = add(cast(beats(a, b), a.dtype), mul(cast(equal(a, b), a.dtype), 0.5))
  return [wa, sub(1, wa)]
}

export const binarySpecs = {
  add: { name: 'add', expr: { float: 'a + b', int: '(a + b) | 0' }, gpu: { float: 'a + b', int: 'a + b' }, linearSign: 1 },
  sub: { name: 'sub', expr: { float: 'a - b', int: '(a - b) | 0' }, gpu: { float: 'a - b', int: 'a - b' }, linearSign: -1 },
  mul: { name: 'mul', expr: { float: 'a * b', int: 'Math.imul(a, b)' }, gpu: { float: 'a * b', int: 'a * b' }, partials: (a, b) => [b, a] },
  div: { name: 'div', expr: { float: 'a / b' }, gpu: { float: 'a / b' }, partials: (_, b, y) => [div(1, b), neg1(div(y, b))], hint: `${FLOAT_ONLY} (integer division by zero has no NaN to return)` },
  pow: {
    name: 'pow',
    expr: { float: 'Math.pow(a, b)' },
    gpu: { float: 'pow_(a, b)' },
    partials: (a, b, y) => [mul(b, pow(a, sub(b, 1))), where(equal(a, 0), 0, mul(y, logOf(a)))],
    hint: FLOAT_ONLY,
  },
  maximum: { name: 'maximum', expr: { float: 'Math.max(a, b)', int: 'Math.max(a, b)' }, gpu: { float: 'maxf_(a, b)', int: 'max(a, b)' }, partials: (a, b) => winner(a, b, greater) },
  minimum: { name: 'minimum', expr: { float: 'Math.min(a, b)', int: 'Math.min(a, b)' }, gpu: { float: 'minf_(a, b)', int: 'min(a, b)' }, partials: (a, b) => winner(a, b, less) },
  equal: cmp('equal', '===', '=='),
  notEqual: cmp('notEqual', '!==', '!='),
  less: cmp('less', '<', '<'),
  lessEqual: cmp('lessEqual', '<=', '<='),
  greater: cmp('greater', '>', '>'),
  greaterEqual: cmp('greaterEqual', '>=', '>='),
  logicalAnd: { name: 'logicalAnd', expr: { bool: 'a & b' }, gpu: { bool: 'a & b' }, hint: 'compare first, e.g. notEqual(x, 0)' },
  logicalOr: { name: 'logicalOr', expr: { bool: 'a | b' }, gpu: { bool: 'a | b' }, hint: 'compare first, e.g. notEqual(x, 0)' },
} satisfies Record<string, BinarySpec>

export type BinaryName = keyof typeof binarySpecs

export const binaryRules = Object.fromEntries(
  Object.entries(binarySpecs).map(([k, spec]) => [k, binaryRule(spec as BinarySpec)]),
) as { readonly [K in BinaryName]: Rule<Record<string, never>> }

const neg1 = (x: Tensor): Tensor => bind1(negRule(), [x], {})
const logOf = (x: Tensor): Tensor => bind1(unaryRules.log, [x], {})

/** Converts both operands to their common dtype (numbers are weak). */
export const promoteOperands = (op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] => {
  const d = resultDType(op, [a, b])
  return [cast(asTensor(op, a, d), d), cast(asTensor(op, b, d), d)]
}

const apply = (name: BinaryName) => (a: TensorLike, b: TensorLike): Tensor => {
  const [x, y] = promoteOperands(name, a, b)
  return bind1(binaryRules[name], [x, y], {})
}

/** a + b with broadcasting. */
export const add = apply('add')
export const sub = apply('sub')
export const mul = apply('mul')
/** True division (float32 only). */
export const div = apply('div')
/** a ** b (float32 only); ∂/∂b is taken as 0 where a == 0. */
export const pow = apply('pow')
/** Elementwise max; NaN propagates; ties split the gradient evenly. */
export const maximum = apply('maximum')
export const minimum = apply('minimum')
export const equal = apply('equal')
export const notEqual = apply('notEqual')
export const less = apply('less')
export const lessEqual = apply('lessEqual')
export const greater = apply('greater')
export const greaterEqual = apply('greaterEqual')
export const logicalAnd = apply('logicalAnd')
export const logicalOr = apply('logicalOr')

export type CastParams = { readonly dtype: DType }

// float→int32 truncates toward zero, saturates out of range and maps NaN to 0 (the WGSL lowering agrees).
export const castExpr = (from: DType, to: DType): string =>
  to === 'bool' ? 'a !== 0 ? 1 : 0'
  : to === 'int32' && from === 'float32' ? '(a !== a ? 0 : a >= 2147483647 ? 2147483647 : a <= -2147483648 ? -2147483648 : Math.trunc(a))'
  : 'a'

export const castRule: Rule<CastParams> = {
  name: 'cast',
  abstractEval: ([x], { dtype }) => {
    if (!isDType(dtype)) fail('cast', `unknown dtype ${JSON.stringify(dtype)} for ${describeAval(x!)}; expected float32, int32 or bool`)
    return [{ shape: x!.shape, dtype }]
  },
  cpu: ([x], { dtype }, [o]) => [elementwiseKernelFor(castExpr(x!.dtype, dtype))([x!], o!.shape, dtype)],
  jvp: ([x], [t], { dtype }) => [t === null || dtype !== 'float32' || x!.dtype !== 'float32' ? null : t],
  vjp: ([ct], [x]) => [ct === null || x!.dtype !== 'float32' ? null : cast(ct, x!.dtype)],
  vmap: ([x], [d], params) => [[bind1(castRule, [x!], params)], [d!]],
  webgpu: (ctx, [x], { dtype }, [o]) => [elementwiseGpu(ctx, 'cast', castGpuExpr('a', x!.dtype, dtype), [x!], o!)],
}

const castKernels = new Map<string, ReturnType<typeof elementwiseKernel>>()
const elementwiseKernelFor = (expr: string) => {
  if (!castKernels.has(expr)) castKernels.set(expr, elementwiseKernel(expr, 1))
  return castKernels.get(expr)!
}

/**
 * Converts to `dtype`: float→int truncates toward zero (NaN → 0), anything→bool is `x != 0`.
 * The gradient flows only between float32 values.
 */
export const cast = (x: Tensor, dtype: DType): Tensor => (x.dtype === dtype ? x : bind1(castRule, [x], { dtype }))

const selectKernel = elementwiseKernel('a ? b : c', 3)

export const whereRule: Rule<Record<string, never>> = {
  name: 'where',
  abstractEval: ([c, a, b]) => {
    if (c!.dtype !== 'bool') fail('where', `condition must be bool, got ${describeAll([c!, a!, b!])}`)
    if (a!.dtype !== b!.dtype) fail('where', `branches have different dtypes: ${describeAll([a!, b!])}`)
    return [{ shape: broadcastAvals('where', [c!, a!, b!]), dtype: a!.dtype }]
  },
  cpu: ([c, a, b], _, [o]) => [selectKernel([c!, a!, b!], o!.shape, o!.dtype)],
  jvp: ([c], [, ta, tb]) => [ta === null ? null : where(c!, ta, tb!)],
  vjp: ([ct], [c, a, b]) => {
    if (ct === null) return [null, null, null]
    const zero = mul(ct, 0)
    return [null, sumToShape(where(c!, ct, zero), a!.shape), sumToShape(where(c!, zero, ct), b!.shape)]
  },
  vmap: (args, dims, params, n) => vmapElementwise(whereRule)(args, dims, params, n),
  // Operands are named a, b, c in order: the condition, then the two branches.
  webgpu: (ctx, [c, a, b], _, [o]) => [elementwiseGpu(ctx, 'where', 'select(c, b, a != 0u)', [c!, a!, b!], o!)],
}

/**
 * Picks `a` where `cond` is true and `b` elsewhere, with broadcasting; numbers take the other branch's dtype.
 * cond: bool[...], a, b: T[...] → T[broadcast]
 */
export const where = (cond: Tensor, a: TensorLike, b: TensorLike): Tensor => {
  const [x, y] = promoteOperands('where', a, b)
  return bind1(whereRule, [cond, x, y], {})
}
