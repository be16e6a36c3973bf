/**
 * Output shapes without data. A leaf layer's `init` asks the ops themselves what its `apply` returns by
 * tracing it on abstract inputs (the jit tracer records equations and never computes), so a layer's
 * shape rule can never drift from the op it calls. Unknown sizes (`-1`) are traced twice with different
 * stand-in sizes; an output size that changes between the two traces depends on an unknown input size and
 * is reported as `-1` again.
 */
import { fail, isFoveaError } from '../../core/errors.js'
import { OuterTracer, traceProgram } from '../../core/interpreters/jit.js'
import type { Aval, Tensor } from '../../core/tensor.js'
import { isTensor } from '../../core/tensor.js'
import { treeFlatten, treeUnflatten } from '../../core/tree.js'
import { type Shape, type ShapeTree, isShape, showShape } from './layer.js'

/** A tensor, or a list/record of them: what flows between layers. */
export type Activation = Tensor | readonly Activation[] | { readonly [name: string]: Activation }

/** Maps every shape in a shape tree. */
export const mapShapes = (s: ShapeTree, fn: (shape: Shape) => Shape): ShapeTree => {
  if (isShape(s)) return fn(s)
  if (Array.isArray(s)) return s.map((c) => mapShapes(c, fn))
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, mapShapes(v, fn)]))
}

/** The shapes in a shape tree, depth first (records in key order as written). */
export const shapeLeaves = (s: ShapeTree): Shape[] => {
  const out: Shape[] = []
  mapShapes(s, (shape) => (out.push(shape), shape))
  return out
}

/** The shape tree of an activation (a tensor's shape, or the shapes of a list/record of tensors). */
export const shapeOf = (x: Activation): ShapeTree => {
  if (isTensor(x)) return x.shape
  if (Array.isArray(x)) return x.map(shapeOf)
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, shapeOf(v)]))
}

// Stand-in sizes for unknown dimensions: multiples of 64 so strided convs and FPN-style pyramids divide
// evenly, different so the second trace reveals which outputs depend on them.
const PROBES = [
  { batch: 1, spatial: 128 },
  { batch: 2, spatial: 192 },
] as const

const hasUnknown = (s: ShapeTree): boolean => shapeLeaves(s).some((shape) => shape.some((d) => d < 0))

const substitute = (s: ShapeTree, probe: (typeof PROBES)[number]): ShapeTree =>
  mapShapes(s, (shape) => shape.map((d, i) => (d >= 0 ? d : i === 0 ? probe.batch : probe.spatial)))

/** `s` with its unknown sizes replaced by the first stand-in sizes (what a tracing init builds children for). */
export const probeShape = (s: ShapeTree): ShapeTree => (hasUnknown(s) ? substitute(s, PROBES[0]) : s)

/** Abstract float32 activations of shape tree `s`, built from `tensors` consumed in order. */
const rebuild = (s: ShapeTree, tensors: Tensor[]): Activation => {
  let i = 0
  const walk = (t: ShapeTree): Activation => {
    if (isShape(t)) return tensors[i++]!
    if (Array.isArray(t)) return t.map(walk)
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, walk(v)]))
  }
  return walk(s)
}

/**
 * Runs `f(x, params, state)` on abstract values and returns the shape tree of its result. `params` and
 * `state` are traced abstractly too, so this works when they are themselves traced (e.g. `vmap` over
 * init). Used once per probe; see `inferShape`.
 */
export const traceShape = (f: (x: Activation, params: unknown, state: unknown) => Activation, inShape: ShapeTree, params: unknown, state: unknown): ShapeTree => {
  const xShapes = shapeLeaves(inShape)
  const [leaves, def] = treeFlatten([params, state])
  const tensorLeaves = leaves.filter(isTensor) as Tensor[]
  const avals: Aval[] = [...xShapes.map((shape) => ({ shape, dtype: 'float32' as const })), ...tensorLeaves.map((t) => ({ shape: t.shape, dtype: t.dtype }))]
  let out: ShapeTree | undefined
  const program = traceProgram((inputs) => {
    const x = rebuild(inShape, inputs.slice(0, xShapes.length))
    let k = xShapes.length
    const [p, s] = treeUnflatten<[unknown, unknown]>(def, leaves.map((l) => (isTensor(l) ? inputs[k++]! : l)))
    out = shapeOf(f(x, p, s))
    return []
  }, avals)
  if (program === OuterTracer || out === undefined) return fail('nn', `could not trace the output shape for input ${showShape(inShape)} (a value from an enclosing transformation reached the layer)`)
  return out
}

/**
 * The output shape tree of `f` for input shape tree `inShape` (sizes `-1` allowed), found by tracing
 * without data. A FoveaError from the traced ops is rethrown naming `layer` and the input shape as the
 * user wrote it (the op's own message shows stand-in sizes for the unknown ones).
 */
export const inferShape = (
  layer: string,
  f: (x: Activation, params: unknown, state: unknown) => Activation,
  inShape: ShapeTree,
  params: unknown = {},
  state: unknown = {},
): ShapeTree => {
  const run = (s: ShapeTree): ShapeTree => {
    try {
      return traceShape(f, s, params, state)
    } catch (e) {
      if (!isFoveaError(e) || (e as { layerPath?: unknown }).layerPath !== undefined) throw e
      return fail(layer, `input ${showShape(inShape)} does not fit: ${e.message}`)
    }
  }
  if (!hasUnknown(inShape)) return run(inShape)
  const first = run(substitute(inShape, PROBES[0]))
  const second = shapeLeaves(run(substitute(inShape, PROBES[1])))
  let i = 0
  return mapShapes(first, (shape) => {
    const other = second[i++]!
    return shape.map((d, j) => (other[j] === d ? d : -1))
  })
}
