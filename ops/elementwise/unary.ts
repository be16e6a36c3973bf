/**
 * Unary elementwise primitives. One spec per op: its CPU expression (in `a`), the dtypes it accepts, and
 * its derivative f'(x) written with ops (so it can itself be differentiated). jvp is `t * f'(x)` and vjp
 * is `ct * f'(x)`; ops with zero derivative (sign, floor, ...) have none.
 */
import type { DType } from '../../core/dtype.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import type { Tensor } from '../../core/tensor.js'
import { expectDTypes } from '../operand.js'
import * as B from './binary.js'
import { elementwiseKernel } from './kernels.js'
import { elementwiseGpu } from './wgsl.js'

type UnarySpec = {
  readonly name: string
  /** CPU (JS) expression per input dtype class. */
  readonly expr: { readonly float?: string; readonly int?: string; readonly bool?: string }
  /** WGSL expression per input dtype class (operand `a` is f32, i32, or u32 for bool). */
  readonly gpu: { readonly float?: string; readonly int?: string; readonly bool?: string }
  /** Output dtype (default: the input's). */
  readonly out?: DType
  /** f'(x) given x and y = f(x); absent = zero derivative. */
  readonly deriv?: (x: Tensor, y: Tensor) => Tensor
  /** For linear ops: the tangent map itself (cheaper than multiplying by a constant derivative). */
  readonly linear?: (t: Tensor) => Tensor
  readonly hint?: string
}

const classOf = (d: DType): 'float' | 'int' | 'bool' => (d === 'float32' ? 'float' : d === 'int32' ? 'int' : 'bool')

const allowedDTypes = (spec: UnarySpec): DType[] =>
  (['float32', 'int32', 'bool'] as const).filter((d) => spec.expr[classOf(d)] !== undefined)

/** Builds the rule record of a unary elementwise primitive from its spec. */
export const unaryRule = (spec: UnarySpec): Rule<Record<string, never>> => {
  const kernels = new Map<string, ReturnType<typeof elementwiseKernel>>()
  const kernelFor = (d: DType) => {
    const expr = spec.expr[classOf(d)]!
    if (!kernels.has(expr)) kernels.set(expr, elementwiseKernel(expr, 1))
    return kernels.get(expr)!
  }
  const tangentOf = (t: Tensor | null, x: Tensor, y: Tensor): Tensor | null =>
    t === null ? null : spec.linear ? spec.linear(t) : spec.deriv ? B.mul(t, spec.deriv(x, y)) : null
  const rule: Rule<Record<string, never>> = {
    name: spec.name,
    abstractEval: ([x]) => {
      expectDTypes(spec.name, [x!], allowedDTypes(spec), spec.hint ?? 'cast the operand first')
      return [{ shape: x!.shape, dtype: spec.out ?? x!.dtype }]
    },
    cpu: ([x], _, [o]) => [kernelFor(x!.dtype)([x!], o!.shape, o!.dtype)],
    jvp: ([x], [t], _, [y]) => [tangentOf(t!, x!, y!)],
    vjp: ([ct], [x], _, [y]) => [tangentOf(ct!, x!, y!)],
    vmap: ([x], [d]) => [[bind1(rule, [x!], {})], [d!]],
    webgpu: (ctx, [x], _, [o]) => [elementwiseGpu(ctx, spec.name, spec.gpu[classOf(x!.dtype)]!, [x!], o!)],
  }
  return rule
}

const FLOAT_ONLY = "this op is defined for float32 only; use cast(x, 'float32')"
const float = (name: string, expr: string, gpu: string, deriv?: UnarySpec['deriv']): UnarySpec =>
  ({ name, expr: { float: expr }, gpu: { float: gpu }, deriv, hint: FLOAT_ONLY })

export const unarySpecs = {
  neg: { name: 'neg', expr: { float: '-a', int: '(-a) | 0' }, gpu: { float: '-a', int: '-a' }, linear: (t) => neg(t) },
  abs: { name: 'abs', expr: { float: 'Math.abs(a)', int: 'Math.abs(a) | 0' }, gpu: { float: 'abs(a)', int: 'abs(a)' }, deriv: (x) => sign(x) },
  sign: { name: 'sign', expr: { float: 'Math.sign(a)', int: 'Math.sign(a)' }, gpu: { float: 'select(sign(a), a, isnan_(a))', int: 'sign(a)' } },
  exp: float('exp', 'Math.exp(a)', 'exp(a)', (_, y) => y),
  log: float('log', 'Math.log(a)', 'log(a)', (x) => B.div(1, x)),
  log1p: float('log1p', 'Math.log1p(a)', 'log1p_(a)', (x) => B.div(1, B.add(x, 1))),
  expm1: float('expm1', 'Math.expm1(a)', 'expm1_(a)', (_, y) => B.add(y, 1)),
  sqrt: float('sqrt', 'Math.sqrt(a)', 'sqrt(a)', (_, y) => B.div(0.5, y)),
  rsqrt: float('rsqrt', '1 / Math.sqrt(a)', '1.0 / sqrt(a)', (x, y) => B.mul(B.div(y, x), -0.5)),
  sin: float('sin', 'Math.sin(a)', 'sin(a)', (x) => cos(x)),
  cos: float('cos', 'Math.cos(a)', 'cos(a)', (x) => neg(sin(x))),
  tanh: float('tanh', 'Math.tanh(a)', 'tanh_(a)', (_, y) => B.sub(1, B.mul(y, y))),
  sigmoid: float('sigmoid', '1 / (1 + Math.exp(-a))', 'sigmoid_(a)', (_, y) => B.mul(y, B.sub(1, y))),
  erf: float('erf', 'erf(a)', 'erf_(a)', (x) => B.mul(exp(neg(B.mul(x, x))), 2 / Math.sqrt(Math.PI))),
  relu: { name: 'relu', expr: { float: 'a > 0 ? a : 0', int: 'a > 0 ? a : 0' }, gpu: { float: 'select(0.0, a, a > 0.0)', int: 'max(a, 0)' }, deriv: (x) => B.cast(B.greater(x, 0), x.dtype) },
  floor: { name: 'floor', expr: { float: 'Math.floor(a)', int: 'a' }, gpu: { float: 'floor(a)', int: 'a' } },
  ceil: { name: 'ceil', expr: { float: 'Math.ceil(a)', int: 'a' }, gpu: { float: 'ceil(a)', int: 'a' } },
  // WGSL's round() is round-half-to-even, like the CPU's roundEven.
  round: { name: 'round', expr: { float: 'roundEven(a)', int: 'a' }, gpu: { float: 'round(a)', int: 'a' } },
  logicalNot: { name: 'logicalNot', expr: { bool: 'a ? 0 : 1' }, gpu: { bool: 'select(1u, 0u, a != 0u)' }, hint: 'compare first, e.g. notEqual(x, 0)' },
  isNan: { name: 'isNan', expr: { float: 'a !== a ? 1 : 0', int: '0', bool: '0' }, gpu: { float: 'select(0u, 1u, isnan_(a))', int: '0u', bool: '0u' }, out: 'bool' },
  isFinite: { name: 'isFinite', expr: { float: 'Number.isFinite(a) ? 1 : 0', int: '1', bool: '1' }, gpu: { float: 'select(0u, 1u, isfinite_(a))', int: '1u', bool: '1u' }, out: 'bool' },
} satisfies Record<string, UnarySpec>

export type UnaryName = keyof typeof unarySpecs

export const unaryRules = Object.fromEntries(
  Object.entries(unarySpecs).map(([k, spec]) => [k, unaryRule(spec as UnarySpec)]),
) as { readonly [K in UnaryName]: Rule<Record<string, never>> }

const apply = (name: UnaryName) => (x: Tensor): Tensor => bind1(unaryRules[name], [x], {})

/** -x. T[...] → T[...] */
export const neg = apply('neg')
/** |x|; the derivative at 0 is 0 (sign). */
export const abs = apply('abs')
/** -1, 0 or 1. */
export const sign = apply('sign')
export const exp = apply('exp')
/** Natural log (float32 only). */
export const log = apply('log')
/** log(1 + x), accurate near 0. */
export const log1p = apply('log1p')
/** exp(x) - 1, accurate near 0. */
export const expm1 = apply('expm1')
export const sqrt = apply('sqrt')
/** 1 / sqrt(x). */
export const rsqrt = apply('rsqrt')
export const sin = apply('sin')
export const cos = apply('cos')
export const tanh = apply('tanh')
/** 1 / (1 + exp(-x)). */
export const sigmoid = apply('sigmoid')
/** The Gauss error function. */
export const erf = apply('erf')
/** max(x, 0); the derivative at 0 is 0, as in PyTorch. */
export const relu = apply('relu')
export const floor = apply('floor')
export const ceil = apply('ceil')
/** Rounds half to even (NumPy, PyTorch and JAX `round`). */
export const round = apply('round')
/** Boolean negation (bool only). */
export const logicalNot = apply('logicalNot')
/** True where x is NaN (never for integer dtypes). */
export const isNan = apply('isNan')
/** True where x is neither NaN nor ±Inf. */
export const isFinite = apply('isFinite')
