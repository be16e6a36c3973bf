/**
 * `jit(f, {staticArgnums})`: traces `f` once per input signature (pytree structure, shapes and dtypes of
 * tensor leaves, values of static arguments) into a program, optimizes it, and replays it on later
 * calls. Results are ordinary tensors. Called with values that an outer transformation is tracing
 * (grad, vmap, or an enclosing jit), it runs `f` as written under that transformation, so
 * `grad(jit(f))`, `jit(grad(f))`, `vmap(jit(f))` and jit inside jit all work.
 */
import { getBackendRecord, persist } from '../core/backend/registry.js'
import { fail } from '../core/errors.js'
import { evalProgram } from '../core/ir/eval.js'
import { optimize } from '../core/ir/passes.js'
import { printProgram } from '../core/ir/print.js'
import type { Program } from '../core/ir/program.js'
import { OuterTracer, traceProgram } from '../core/interpreters/jit.js'
import { type Tensor, describeAval, isTensor } from '../core/tensor.js'
import { type TreeDef, treeDefString, treeFlatten, treeUnflatten } from '../core/tree.js'
import { describeValue } from './operand.js'
import { fuse } from './fusion.js'
import { foldTransposes } from './linalg/fold-transposes.js'
import { fuseConvEpilogues } from './linalg/conv-epilogue.js'

export type JitOptions = { readonly staticArgnums?: readonly number[] }

export type Lowered = {
  /** The optimized program, printed deterministically (golden-testable). */
  readonly text: string
  /** Kernels one call launches on the current backend (GPU dispatches on webgpu, kernel calls on cpu). */
  readonly kernels: number
  /** WGSL source of each dispatch of one call (empty on cpu). */
  readonly wgsl: readonly string[]
}

export type Jitted<A extends unknown[], R> = ((...args: A) => R) & {
  /** Compiles for these arguments and describes the result (runs one call to count its kernels). */
  readonly lower: (...args: A) => Lowered
  /** How many times f has been traced (a new signature traces once; a cached one never). */
  readonly traceCount: () => number
}

type Compiled = { readonly program: Program; readonly outDef: TreeDef }

const staticKey = (op: string, value: unknown, i: number): string => {
  try {
    return JSON.stringify(value, (_, v) => {
      if (isTensor(v)) fail(op, `static argument ${i} contains a tensor; static arguments must be plain values (numbers, strings, records of them)`)
      return typeof v === 'function' ? `fn:${v.name}` : v
    })
  } catch (e) {
    if (e instanceof Error && e.name === 'FoveaError') throw e
    return fail(op, `static argument ${i} is not serialisable to a cache key: ${(e as Error).message}`)
  }
}

export const jit = <A extends unknown[], R>(f: (...args: A) => R, options: JitOptions = {}): Jitted<A, R> => {
  const staticArgnums = new Set(options.staticArgnums ?? [])
  const cache = new Map<string, Compiled | 'inline'>()
  let traces = 0

  const split = (args: A) => {
    const dynamic = args.map((a, i) => (staticArgnums.has(i) ? null : a))
    const [leaves, def] = treeFlatten(dynamic)
    leaves.forEach((leaf, k) => {
      if (!isTensor(leaf)) fail('jit', `argument leaf #${k} is ${describeValue(leaf)}, not a tensor; pass a tensor, or mark the argument static with jit(f, { staticArgnums: [i] })`)
    })
    const tensors = leaves as Tensor[]
    const key = `${treeDefString(def)}|${tensors.map(describeAval).join(',')}|${args.map((a, i) => (staticArgnums.has(i) ? staticKey('jit', a, i) : '_')).join('|')}`
    return { tensors, def, key }
  }

  const compile = (args: A, tensors: Tensor[], def: TreeDef): Compiled | 'inline' => {
    traces++
    let outDef: TreeDef | undefined
    const program = traceProgram((inputs) => {
      const dynamic = treeUnflatten<unknown[]>(def, inputs)
      const callArgs = args.map((a, i) => (staticArgnums.has(i) ? a : dynamic[i])) as A
      const [outs, d] = treeFlatten(f(...callArgs))
      outs.forEach((o, k) => {
        if (!isTensor(o)) fail('jit', `the function returned ${describeValue(o)} as output leaf #${k}; a jitted function must return tensors (pytrees of tensors)`)
      })
      outDef = d
      return outs as Tensor[]
    }, tensors)
    if (program === OuterTracer) return 'inline'
    const compiled = fuseConvEpilogues(fuse(foldTransposes(optimize(program))))
    // The program's constants outlive this call: a scope around the first call must not release them.
    persist(compiled.consts.map((c) => c.value))
    return { program: compiled, outDef: outDef! }
  }

  const prepare = (args: A) => {
    const { tensors, def, key } = split(args)
    if (tensors.some((t) => t.kind === 'tracer')) return { inline: true as const }
    let compiled = cache.get(key)
    if (compiled === undefined) {
      compiled = compile(args, tensors, def)
      cache.set(key, compiled)
    }
    return compiled === 'inline' ? { inline: true as const } : { inline: false as const, compiled, tensors }
  }

  const call = (...args: A): R => {
    const p = prepare(args)
    if (p.inline) return f(...args)
    return treeUnflatten<R>(p.compiled.outDef, evalProgram(p.compiled.program, p.tensors))
  }

  const lower = (...args: A): Lowered => {
    const p = prepare(args)
    if (p.inline) return fail('jit', 'lower() needs concrete arguments (it was called with traced values)')
    const backend = getBackendRecord()
    const recorder = backend.recordKernels
    if (recorder === undefined) {
      return { text: printProgram(p.compiled.program), kernels: p.compiled.program.eqns.length, wgsl: [] }
    }
    const codes = recorder(() => evalProgram(p.compiled.program, p.tensors))
    return { text: printProgram(p.compiled.program), kernels: codes.length, wgsl: codes }
  }

  return Object.assign(call, { lower, traceCount: () => traces })
}
