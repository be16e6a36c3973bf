/**
 * The public transformations over pytrees: grad, valueAndGrad, vjp, jvp, vmap, customVjp, stopGradient.
 * They flatten arguments, check that differentiated leaves are tensors, and call the interpreters in
 * core/interpreters with the ops those need (`adOps`).
 */
import { isFloat } from '../core/dtype.js'
import { fail } from '../core/errors.js'
import type { AdOps } from '../core/interpreters/ad-ops.js'
import { jvpFlat } from '../core/interpreters/jvp.js'
import { bind1 } from '../core/interpreters/stack.js'
import { customVjpFlat, vjpFlat } from '../core/interpreters/vjp.js'
import { vmapFlat } from '../core/interpreters/vmap.js'
import type { BatchDim, Rule } from '../core/rule.js'
import { type Tensor, describeAval, isTensor } from '../core/tensor.js'
import { type TreeDef, treeDefString, treeFlatten, treeUnflatten } from '../core/tree.js'
import { full, zeros } from './creation.js'
import { add } from './elementwise/binary.js'
import { indexAxis, stack } from './shape/index-axis.js'
import { broadcastTo, moveAxis, reshape } from './shape/basic.js'
import { describeValue } from './operand.js'

export const adOps: AdOps = {
  add: (a, b) => add(a, b),
  zeros: (shape, dtype) => zeros(shape, dtype),
  full: (shape, value, dtype) => full(shape, value, dtype),
  moveAxis,
  broadcastAxis: (x, axis, size) => {
    const shape = [...x.shape]
    shape.splice(axis, 0, 1)
    const target = [...x.shape]
    target.splice(axis, 0, size)
    return broadcastTo(reshape(x, shape), target)
  },
  indexAxis,
  stack,
}

/** Flattens a pytree whose leaves must all be tensors (what `op` differentiates or maps over). */
const tensorLeaves = (op: string, what: string, tree: unknown): [Tensor[], TreeDef] => {
  const [leaves, def] = treeFlatten(tree)
  leaves.forEach((leaf, i) => {
    if (!isTensor(leaf)) fail(op, `${what} has a non-tensor leaf #${i} (${describeValue(leaf)}); every leaf must be a tensor — wrap numbers with tensor(), or pass the value through a closure or a non-differentiated argument`)
  })
  return [leaves as Tensor[], def]
}

/** Several argument trees flattened into one list of tensor leaves, with the inverse. */
type FlatArgs = {
  readonly leaves: Tensor[]
  readonly perArg: readonly (readonly Tensor[])[]
  readonly defs: readonly TreeDef[]
  readonly rebuild: (leaves: readonly Tensor[]) => unknown[]
}

const flattenArgs = (op: string, what: (i: number) => string, trees: readonly unknown[]): FlatArgs => {
  const flat = trees.map((t, i) => tensorLeaves(op, what(i), t))
  const rebuild = (leaves: readonly Tensor[]): unknown[] => {
    let offset = 0
    return flat.map(([l, def]) => {
      const tree = treeUnflatten(def, leaves.slice(offset, offset + l.length))
      offset += l.length
      return tree
    })
  }
  return { leaves: flat.flatMap(([l]) => l), perArg: flat.map(([l]) => l), defs: flat.map(([, d]) => d), rebuild }
}

export type GradOptions = { readonly argnums?: number | readonly number[]; readonly hasAux?: boolean }

/**
 * `valueAndGrad(f)(...args)` returns `[value, grads]` (or `[[value, aux], grads]` with `hasAux`, where
 * f returns `[value, aux]`). `grads` mirrors the argument at `argnums` (default 0), or is an array of
 * such trees when `argnums` is a list. f must return a float32 scalar.
 */
export const valueAndGrad = <A extends unknown[]>(f: (...args: A) => unknown, options: GradOptions = {}) => (...args: A): [any, any] => {
  const op = options.hasAux ? 'valueAndGrad' : 'grad'
  const argnums = options.argnums ?? 0
  const list = typeof argnums === 'number' ? [argnums] : [...argnums]
  for (const a of list) if (!Number.isInteger(a) || a < 0 || a >= args.length) fail(op, `argnums ${a} is out of range for ${args.length} arguments`)
  const diff = flattenArgs(op, (k) => `argument ${list[k]}`, list.map((a) => args[a]))
  diff.perArg.forEach((leaves, k) =>
    leaves.forEach((x) => {
      if (!isFloat(x.dtype)) fail(op, `argument ${list[k]} has a ${describeAval(x)} leaf; gradients are defined for float32 inputs only (mark integer arguments as non-differentiated via argnums)`)
    }),
  )
  let aux: unknown
  const { outputs, backward } = vjpFlat(adOps, (inputs) => {
    const callArgs = [...args] as unknown[]
    diff.rebuild(inputs).forEach((tree, k) => (callArgs[list[k]!] = tree))
    const result = f(...(callArgs as A))
    let value = result
    if (options.hasAux) {
      if (!Array.isArray(result) || result.length !== 2) fail(op, 'with hasAux, the function must return [value, aux]')
      value = (result as unknown[])[0]
      aux = (result as unknown[])[1]
    }
    if (!isTensor(value)) return fail(op, `the function must return a scalar tensor, got ${describeValue(value)}`)
    if (value.shape.length !== 0 || value.dtype !== 'float32') {
      fail(op, `the function must return a float32 scalar, got ${describeAval(value)}; reduce it first (e.g. sum or mean)`)
    }
    return [value]
  }, diff.leaves)
  const value = outputs[0]!
  const grads = diff.rebuild(backward([full([], 1, 'float32')]))
  const gradOut = typeof argnums === 'number' ? grads[0] : grads
  return [options.hasAux ? [value, aux] : value, gradOut]
}

/** `grad(f)(...args)`: the gradient of a scalar-valued f with respect to args[argnums] (see valueAndGrad). */
export const grad = <A extends unknown[]>(f: (...args: A) => unknown, options: GradOptions = {}) => {
  const vg = valueAndGrad(f, options)
  return (...args: A): any => {
    const [value, g] = vg(...args)
    return options.hasAux ? [g, value[1]] : g
  }
}

/**
 * `vjp(f, ...primals)` → `[out, vjpFn]`; `vjpFn(ct)` returns one cotangent tree per primal. `ct` must
 * mirror `out`. vjpFn may be called several times.
 */
export const vjp = (f: (...args: any[]) => unknown, ...primals: unknown[]): [any, (ct: unknown) => any[]] => {
  const flat = flattenArgs('vjp', (i) => `primal ${i}`, primals)
  let outDef: TreeDef | undefined
  const { outputs, backward } = vjpFlat(adOps, (inputs) => {
    const [outs, def] = tensorLeaves('vjp', 'the output', f(...flat.rebuild(inputs)))
    outDef = def
    return outs
  }, flat.leaves)
  const vjpFn = (ct: unknown): any[] => {
    const [cts, ctDef] = tensorLeaves('vjp', 'the cotangent', ct)
    if (treeDefString(ctDef) !== treeDefString(outDef!)) fail('vjp', `cotangent structure ${treeDefString(ctDef)} does not match the output's ${treeDefString(outDef!)}`)
    return flat.rebuild(backward(cts))
  }
  return [treeUnflatten(outDef!, outputs), vjpFn]
}

/**
 * `jvp(f, primals, tangents)` → `[out, tangentOut]`: forward-mode derivative of f at `primals` in
 * direction `tangents` (arrays of trees, one per argument, with matching structure and shapes).
 */
export const jvp = (f: (...args: any[]) => unknown, primals: readonly unknown[], tangents: readonly unknown[]): [any, any] => {
  if (primals.length !== tangents.length) fail('jvp', `got ${primals.length} primals but ${tangents.length} tangents`)
  const flatP = flattenArgs('jvp', (i) => `primal ${i}`, primals)
  const flatT = flattenArgs('jvp', (i) => `tangent ${i}`, tangents)
  flatP.defs.forEach((pd, i) => {
    const td = flatT.defs[i]!
    if (treeDefString(pd) !== treeDefString(td)) fail('jvp', `tangent ${i} has structure ${treeDefString(td)}, primal has ${treeDefString(pd)}`)
    flatP.perArg[i]!.forEach((p, j) => {
      const t = flatT.perArg[i]![j]!
      if (t.dtype !== p.dtype || t.shape.join() !== p.shape.join()) fail('jvp', `tangent ${describeAval(t)} does not match primal ${describeAval(p)} (argument ${i}, leaf ${j})`)
    })
  })
  let outDef: TreeDef | undefined
  const [outs, touts] = jvpFlat(adOps, (inputs) => {
    const [o, def] = tensorLeaves('jvp', 'the output', f(...flatP.rebuild(inputs)))
    outDef = def
    return o
  }, flatP.leaves, flatT.leaves)
  return [treeUnflatten(outDef!, outs), treeUnflatten(outDef!, touts)]
}

/**
 * `vmap(f, inAxes?, outAxes?)`: maps f over axis `inAxes[i]` of argument i (a number for all arguments,
 * or one entry per argument; null = not mapped) and stacks results on `outAxes` (default 0).
 */
export const vmap = (f: (...args: any[]) => unknown, inAxes: BatchDim | readonly BatchDim[] = 0, outAxes: number | readonly number[] = 0) => (...args: unknown[]): any => {
  const axesPerArg = Array.isArray(inAxes) ? inAxes : args.map(() => inAxes as BatchDim)
  if (axesPerArg.length !== args.length) fail('vmap', `inAxes has ${axesPerArg.length} entries for ${args.length} arguments`)
  const flat = flattenArgs('vmap', (i) => `argument ${i}`, args)
  const leafAxes = flat.perArg.flatMap((l, i) => l.map((x) => {
    const ax = axesPerArg[i]!
    if (ax === null) return null
    if (!Number.isInteger(ax) || ax < -x.shape.length || ax >= x.shape.length) fail('vmap', `in_axis ${ax} is out of range for argument ${i} ${describeAval(x)}`)
    return ax < 0 ? ax + x.shape.length : ax
  }))
  let outDef: TreeDef | undefined
  const outs = vmapFlat(adOps, (inputs) => {
    const [o, def] = tensorLeaves('vmap', 'the output', f(...flat.rebuild(inputs)))
    outDef = def
    return o
  }, flat.leaves, leafAxes, (n) => (typeof outAxes === 'number' ? new Array(n).fill(outAxes) : outAxes))
  return treeUnflatten(outDef!, outs)
}

/**
 * A function with a custom reverse-mode rule (JAX `custom_vjp`): `fwd(...args)` returns
 * `[output, residuals]`; `bwd(residuals, ct)` returns one cotangent tree per argument (null = zero).
 * Forward mode and vmap differentiate/map `f` itself.
 */
export const customVjp = <A extends unknown[], R>(
  f: (...args: A) => R,
  fwd: (...args: A) => [R, unknown],
  bwd: (residuals: unknown, ct: R) => readonly unknown[],
) => (...args: A): R => {
  const flat = flattenArgs('customVjp', (i) => `argument ${i}`, args)
  const rebuild = (inputs: readonly Tensor[]): A => flat.rebuild(inputs) as A
  let outDef: TreeDef | undefined
  const run = customVjpFlat(
    adOps,
    (inputs) => {
      const [o, def] = tensorLeaves('customVjp', 'the output', f(...rebuild(inputs)))
      outDef = def
      return o
    },
    (inputs) => {
      const [out, res] = fwd(...rebuild(inputs))
      const [o, def] = tensorLeaves('customVjp', 'the output of fwd', out)
      outDef = def
      return [o, res]
    },
    (res, cts) => {
      const ctTrees = bwd(res, treeUnflatten(outDef!, cts))
      if (!Array.isArray(ctTrees) || ctTrees.length !== args.length) fail('customVjp', `bwd must return an array of ${args.length} cotangents, one per argument`)
      return ctTrees.flatMap((c, k) => (c === null ? new Array(flat.perArg[k]!.length).fill(null) : tensorLeaves('customVjp', `cotangent ${k} from bwd`, c)[0]))
    },
  )
  const outs = run(flat.leaves)
  return treeUnflatten(outDef!, outs)
}

export const stopGradientRule: Rule<Record<string, never>> = {
  name: 'stopGradient',
  abstractEval: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
  cpu: ([x]) => [x!.data],
  jvp: () => [null],
  vjp: () => [null],
  vmap: ([x], [d]) => [[bind1(stopGradientRule, [x!], {})], [d!]],
  webgpu: (_, [x]) => [x!],
}

/** The identity whose derivative is zero: gradients do not flow through it. */
export const stopGradient = (x: Tensor): Tensor => bind1(stopGradientRule, [x], {})
