/**
 * The tensor value. A `Tensor` is either `Concrete` (data lives on a backend) or a `Tracer` (a stand-in
 * that a transformation — jvp, vjp, vmap, later jit — passes through the user's function). Both are
 * readonly records with `shape` and `dtype`, so user code never needs to know which one it holds.
 */
import type { DType } from './dtype.js'
import { type Shape, describe } from './shape.js'
import type { Rule } from './rule.js'

/** What every tensor-like value has: its abstract value. */
export type Aval = { readonly shape: Shape; readonly dtype: DType }

/** Opaque per-backend storage (a typed array on `cpu`, a buffer handle on `webgpu`). */
export type BackendData = unknown

export type Concrete = Aval & {
  readonly kind: 'tensor'
  readonly backend: string
  readonly data: BackendData
}

/** A value seen by a transformation; `trace` is the interpreter that owns it, `payload` is its state. */
export type Tracer = Aval & {
  readonly kind: 'tracer'
  readonly trace: Trace
  readonly payload: unknown
}

export type Tensor = Concrete | Tracer

/** One interpreter on the stack (see `interpreters/stack.ts`). */
export type Trace = {
  readonly level: number
  readonly name: string
  /** Wraps a value of a lower level into a tracer of this level. */
  readonly lift: (x: Tensor) => Tracer
  /** Applies a primitive to tracers of this level (inputs already lifted, outputs' avals known). */
  readonly process: (rule: AnyRule, inputs: readonly Tracer[], params: unknown, outAvals: readonly Aval[]) => Tensor[]
}

/** A rule with its parameter type erased; see core/rule.ts for the typed form. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRule = Rule<any>

export const isTensor = (x: unknown): x is Tensor =>
  typeof x === 'object' && x !== null && ((x as Tensor).kind === 'tensor' || (x as Tensor).kind === 'tracer')

export const avalOf = (x: Aval): Aval => ({ shape: x.shape, dtype: x.dtype })

export const describeAval = (x: Aval): string => describe(x.shape, x.dtype)
