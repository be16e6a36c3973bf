/**
 * Combinators build layers from layers (stax's `serial`, `parallel`, `FanOut`, `FanInSum`, …, plus
 * `named` and `repeat` for PyTorch-style parameter names). Each splits its init key once into one key
 * per child and, in training with `ctx.key`, folds the child's index into the key it passes down, so
 * every dropout draws its own mask. Children's errors are rethrown with the child's name prepended to
 * the dotted layer path (`res2.0.conv1`).
 */
import { fail } from '../../core/errors.js'
import { type Tensor, isTensor } from '../../core/tensor.js'
import * as F from '../../ops/index.js'
import * as random from '../../ops/random/index.js'
import { type ApplyContext, type Layer, type LayerInit, type Params, type ShapeTree, type State, atPath, evalContext, isShape, showShape } from './layer.js'
import { type Activation, inferShape, probeShape, shapeOf, traceShape } from './shapes.js'
import { stateless } from './stateless.js'

/** The context a child sees: the parent's, with the child's index folded into the key when there is one. */
export const childContext = (ctx: ApplyContext, index: number): ApplyContext =>
  ctx.key === undefined ? ctx : { train: ctx.train, key: random.foldIn(ctx.key, index) }

const splitKey = (key: Tensor, n: number): Tensor[] => (n === 0 ? [] : random.splitKeys(key, n))

/**
 * Applies `layers` one after another. params and state are arrays indexed like `nn.Sequential`
 * (`0.weight`, `2.weight`; a parameterless layer keeps its index with `{}`).
 * x → layers[n−1](…layers[0](x))
 */
export const serial = (...layers: readonly Layer[]): Layer => ({
  name: 'serial',
  init: (key, inShape) => {
    const keys = splitKey(key, layers.length)
    let shape = inShape
    const inits = layers.map((layer, i) => {
      const r = atPath(String(i), () => layer.init(keys[i]!, shape))
      shape = r.outShape
      return r
    })
    return { outShape: shape, params: inits.map((r) => r.params), state: inits.map((r) => r.state) }
  },
  apply: (params, state, x, ctx) => {
    const newState: State[] = []
    let y = x
    layers.forEach((layer, i) => {
      const [z, s] = atPath(String(i), () => layer.apply(params[i], state[i], y, childContext(ctx, i)))
      y = z
      newState.push(s)
    })
    return [y, newState]
  },
})

/** `serial(make(0), …, make(n−1))`: n children named `0 … n−1` (a detectron2 stage `res2.0`, `res2.1`, …). */
export const repeat = (n: number, make: (index: number) => Layer): Layer => {
  if (!Number.isInteger(n) || n < 0) fail('repeat', `needs a non-negative integer count, got ${n}`)
  return serial(...Array.from({ length: n }, (_, i) => make(i)))
}

/** Applies `layers[i]` to input i. [x0, …, xn−1] → [y0, …, yn−1]; params and state are arrays. */
export const parallel = (...layers: readonly Layer[]): Layer => ({
  name: 'parallel',
  init: (key, inShape) => {
    if (isShape(inShape) || !Array.isArray(inShape) || inShape.length !== layers.length) {
      fail('parallel', `expected a list of ${layers.length} input shapes, got ${showShape(inShape)}`)
    }
    const keys = splitKey(key, layers.length)
    const inits = layers.map((layer, i) => atPath(String(i), () => layer.init(keys[i]!, (inShape as readonly ShapeTree[])[i]!)))
    return { outShape: inits.map((r) => r.outShape), params: inits.map((r) => r.params), state: inits.map((r) => r.state) }
  },
  apply: (params, state, xs: readonly Activation[], ctx) => {
    if (!Array.isArray(xs) || xs.length !== layers.length) fail('parallel', `expected a list of ${layers.length} inputs, got ${showShape(shapeOf(xs))}`)
    const outs = layers.map((layer, i) => atPath(String(i), () => layer.apply(params[i], state[i], xs[i], childContext(ctx, i))))
    return [outs.map((o) => o[0]), outs.map((o) => o[1])]
  },
})

/** x → [x, …, x] (n copies), to feed `parallel`. */
export const fanOut = (n: number): Layer => ({
  name: 'fanOut',
  init: (_key, inShape) => ({ outShape: Array.from({ length: n }, () => inShape), params: {}, state: {} }),
  apply: (_params, state, x) => [Array.from({ length: n }, () => x), state],
})

/** [x0, …, xn−1] → x0 + … + xn−1 (broadcasting as `F.add`). */
export const fanInSum: Layer<readonly Tensor[], Tensor> = stateless('fanInSum', (xs: readonly Tensor[]) => {
  if (!Array.isArray(xs) || xs.length === 0) fail('fanInSum', 'needs a non-empty list of inputs')
  return xs.reduce((a, b) => F.add(a, b))
})

/** [x0, …, xn−1] → concat along `axis` (default 1, channels). */
export const fanInConcat = (axis = 1): Layer<readonly Tensor[], Tensor> =>
  stateless('fanInConcat', (xs: readonly Tensor[]) => F.concat(xs, axis))

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !isTensor(x)

const sameShapes = (a: ShapeTree, b: ShapeTree): boolean => showShape(a) === showShape(b)

/**
 * y = body(x) + shortcut(x), with the identity as the default shortcut. The shortcut's params and state
 * sit beside the body's under `shortcut` (detectron2's blocks: `conv1`, `conv2`, `shortcut`), so the
 * body must keep its params in a record when a shortcut is given.
 */
export const residual = (body: Layer, shortcut?: Layer): Layer => ({
  name: 'residual',
  init: (key, inShape) => {
    const [kb, ks] = splitKey(key, 2) as [Tensor, Tensor]
    const b = body.init(kb, inShape)
    const s = shortcut === undefined ? { outShape: inShape, params: {}, state: {} } : atPath('shortcut', () => shortcut.init(ks, inShape))
    if (!sameShapes(b.outShape, s.outShape)) fail('residual', `the body gives ${showShape(b.outShape)} but the shortcut gives ${showShape(s.outShape)} for input ${showShape(inShape)}`)
    if (shortcut === undefined) return b
    if (!isRecord(b.params) || !isRecord(b.state) || 'shortcut' in b.params || 'shortcut' in b.state) {
      fail('residual', "the body's params and state must be records without a 'shortcut' entry to hold the shortcut's beside them")
    }
    return { outShape: b.outShape, params: { ...b.params, shortcut: s.params }, state: { ...b.state, shortcut: s.state } }
  },
  apply: (params, state, x, ctx) => {
    if (shortcut === undefined) {
      const [y, s] = body.apply(params, state, x, childContext(ctx, 0))
      return [F.add(y, x), s]
    }
    const { shortcut: sp, ...bp } = params
    const { shortcut: ss, ...bs } = state
    const [y, newBody] = body.apply(bp, bs, x, childContext(ctx, 0))
    const [r, newShortcut] = atPath('shortcut', () => shortcut.apply(sp, ss, x, childContext(ctx, 1)))
    return [F.add(y, r), { ...newBody, shortcut: newShortcut }]
  },
})

/**
 * Runs child `name` on `x` inside a `named` forward function. The result is typed loosely (`any`) so a
 * forward function reads like PyTorch's (`F.add(call('conv3', y), x)`) without a cast per call.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CallChild = (name: string, x: Activation) => any

/**
 * A record of children whose params and state sit under their names (`{ conv1, conv2, shortcut }` →
 * `conv1.weight`, …). Without `forward` the children run in the record's order (as `nn.Sequential` with
 * an OrderedDict; use non-numeric names, since JavaScript lists integer keys first). With
 * `forward(call, x, ctx)` the data flow is yours: `call('conv1', x)` runs that child, threading its
 * state; init traces `forward` without data to give each child its input shape (a child that forward
 * never calls is an error) and to find the output shape.
 */
export const named = (children: Readonly<Record<string, Layer>>, forward?: (call: CallChild, x: any, ctx: ApplyContext) => Activation): Layer => {
  const names = Object.keys(children)
  const indexOf = new Map(names.map((n, i) => [n, i]))
  const child = (name: string): Layer => {
    const layer = children[name]
    if (layer === undefined) fail('named', `forward calls unknown child '${name}'; children: ${names.join(', ')}`)
    return layer!
  }
  const collect = (inits: Record<string, LayerInit>, outShape: ShapeTree): LayerInit => ({
    outShape,
    params: Object.fromEntries(names.map((n) => [n, inits[n]!.params])),
    state: Object.fromEntries(names.map((n) => [n, inits[n]!.state])),
  })
  const apply = (params: Params, state: State, x: Activation, ctx: ApplyContext): readonly [Activation, State] => {
    const newState: Record<string, State> = { ...state }
    if (forward === undefined) {
      let y = x
      names.forEach((n, i) => {
        const [z, s] = atPath(n, () => children[n]!.apply(params[n], state[n], y, childContext(ctx, i)))
        y = z
        newState[n] = s
      })
      return [y, newState]
    }
    let calls = 0
    const call: CallChild = (n, input) => {
      const layer = child(n)
      const [z, s] = atPath(n, () => layer.apply(params[n], newState[n], input, childContext(ctx, calls++)))
      newState[n] = s
      return z
    }
    return [forward(call, x, ctx), newState]
  }
  return {
    name: 'named',
    init: (key, inShape) => {
      const keys = splitKey(key, names.length)
      const inits: Record<string, LayerInit> = {}
      if (forward === undefined) {
        let shape = inShape
        names.forEach((n, i) => {
          inits[n] = atPath(n, () => children[n]!.init(keys[i]!, shape))
          shape = inits[n]!.outShape
        })
        return collect(inits, shape)
      }
      const call: CallChild = (n, input) => {
        const layer = child(n)
        const r = (inits[n] ??= atPath(n, () => layer.init(keys[indexOf.get(n)!]!, shapeOf(input))))
        return atPath(n, () => layer.apply(r.params, r.state, input, evalContext)[0])
      }
      traceShape((x) => forward(call, x, evalContext), probeShape(inShape), {}, {})
      const unused = names.filter((n) => inits[n] === undefined)
      if (unused.length > 0) fail('named', `forward never calls ${unused.map((n) => `'${n}'`).join(', ')}, so their input shapes are unknown`)
      const params = collect(inits, inShape)
      return { ...params, outShape: inferShape('named', (x, p, s) => apply(p, s, x, evalContext)[0], inShape, params.params, params.state) }
    },
    apply,
  }
}

/**
 * stax's `shape_dependent`: a layer built from its input shape, `make(inShape)` at init and
 * `make(shape of x)` at apply (so `make` must give the same params structure for both, e.g. when it
 * only reads the channel count).
 */
export const shapeDependent = (make: (inShape: ShapeTree) => Layer): Layer => ({
  name: 'shapeDependent',
  init: (key, inShape) => make(inShape).init(key, inShape),
  apply: (params, state, x, ctx) => make(shapeOf(x)).apply(params, state, x, ctx),
})
