/**
 * The layer contract every model in fovea is built from (STYLE 1-2: stax's (init, apply) pair, Haiku's
 * separate state). A layer is a plain record of two pure functions:
 *
 * - `init(key, inShape) → { outShape, params, state }` works out the output shape from the input shape
 *   without touching data, and draws the initial parameters from `key` (never from global state).
 * - `apply(params, state, x, ctx) → [y, newState]` runs the layer; `ctx.train` selects training behaviour
 *   (batch statistics, dropout) and `ctx.key` feeds the layers that need randomness in training.
 *
 * `params` is a pytree of trained tensors whose dotted names are PyTorch/detectron2 state-dict keys
 * (`res2.0.conv1.weight`); `state` is a pytree of buffers that are not trained (`running_mean`,
 * `running_var`, `num_batches_tracked`) under the same naming, so a checkpoint's key space is the union of
 * both. Stateless layers have `state = {}` and return it unchanged.
 *
 * Shapes include the batch axis (`[N,C,H,W]`); `-1` marks a size that is not known at build time (usually
 * N) and propagates through shape rules.
 */
import { fail, foveaError, isFoveaError } from '../../core/errors.js'
import type { Shape } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'

export type { Shape }

/** One shape, or a list/record of shapes for layers that take or give several tensors (fanOut, parallel). */
export type ShapeTree = Shape | readonly ShapeTree[] | { readonly [name: string]: ShapeTree }

/**
 * A pytree of tensors (nested records/arrays). Typed loosely on purpose: a layer reads its own fields
 * (`params.conv1.weight`) without casts, and the tree's dotted names are the real contract, checked by
 * the golden param-shape files (STYLE 10).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Params = any
/** A pytree of non-trained buffers, named like `Params`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type State = any

/** What `apply` needs besides params, state and input: training mode and, for dropout, a PRNG key. */
export type ApplyContext = { readonly train: boolean; readonly key?: Tensor }

/** The result of `init`. */
export type LayerInit = { readonly outShape: ShapeTree; readonly params: Params; readonly state: State }

/**
 * A layer: `init` and `apply` as described above. `X`/`Y` type the input and output activations (a tensor
 * by default; a list or record of tensors for multi-input/output layers). The two functions are declared
 * with method syntax so a layer may narrow its parameter types (`inShape: Shape`, `x: Tensor`) and still
 * be a `Layer`. `name` (optional) is used in error messages only.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Layer<X = any, Y = any> = {
  readonly name?: string
  init(key: Tensor, inShape: ShapeTree): LayerInit
  apply(params: Params, state: State, x: X, ctx: ApplyContext): readonly [Y, State]
}

/**
 * detectron2's `ShapeSpec`: what a backbone/neck/head states about each output feature map so a
 * mis-wired config fails at build time (STYLE 7). `stride` is the total downsampling from the image.
 */
export type ShapeSpec = {
  readonly channels: number
  readonly height?: number
  readonly width?: number
  readonly stride?: number
}

/** Training and inference contexts, for convenience. */
export const trainContext = (key?: Tensor): ApplyContext => (key === undefined ? { train: true } : { train: true, key })
export const evalContext: ApplyContext = { train: false }

/** `[N,C,H,W]` → ShapeSpec (unknown sizes, `-1`, are left out). */
export const shapeSpecOf = (shape: Shape, stride?: number): ShapeSpec => {
  if (shape.length !== 4) fail('shapeSpecOf', `expected an NCHW shape [N,C,H,W], got [${shape.join(',')}]`)
  const [, c, h, w] = shape as [number, number, number, number]
  return {
    channels: c,
    ...(h >= 0 ? { height: h } : {}),
    ...(w >= 0 ? { width: w } : {}),
    ...(stride !== undefined ? { stride } : {}),
  }
}

/** ShapeSpec → `[N,C,H,W]` with `-1` for whatever the spec leaves out. */
export const shapeOfSpec = (spec: ShapeSpec, batch = -1): Shape => [batch, spec.channels, spec.height ?? -1, spec.width ?? -1]

/** A ShapeSpec for each NCHW shape of a shape tree (records and lists keep their structure). */
export type ShapeSpecTree = ShapeSpec | readonly ShapeSpecTree[] | { readonly [name: string]: ShapeSpecTree }

/**
 * The ShapeSpecs of a layer's outputs (detectron2's `backbone.output_shape()`), from the input shape and
 * the `outShape` that `init` worked out: channels, known sizes and, where the heights divide, the stride
 * from the image, `inStride × inH / outH` (`inStride` is the stride of the input itself, 1 for an
 * image). A record of feature maps (`{res2, res3, ...}`) gives a record of specs, so a neck or head can
 * check what it is given before any data flows. Fails unless every leaf of `outShape` is NCHW.
 */
export const outputSpecs = (inShape: Shape, outShape: ShapeTree, inStride = 1): ShapeSpecTree => {
  if (inShape.length !== 4) fail('outputSpecs', `expected an NCHW input shape [N,C,H,W], got ${showShape(inShape)}`)
  const inH = inShape[2]!
  const spec = (s: ShapeTree): ShapeSpecTree => {
    if (isShape(s)) {
      if (s.length !== 4) fail('outputSpecs', `expected NCHW output shapes [N,C,H,W], got ${showShape(s)}`)
      const outH = s[2]!
      const known = inH > 0 && outH > 0 && inH % outH === 0
      return shapeSpecOf(s, known ? inStride * (inH / outH) : undefined)
    }
    if (Array.isArray(s)) return s.map(spec)
    return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, spec(v)]))
  }
  return spec(outShape)
}

/** `true` when `s` is a single shape (a list of numbers) rather than a list or record of shapes. */
export const isShape = (s: unknown): s is Shape => Array.isArray(s) && s.every((d) => typeof d === 'number')

/** `[2,-1,8]` → `[2,?,8]`: how shapes appear in layer error messages. */
export const showShape = (s: ShapeTree): string => {
  if (isShape(s)) return `[${s.map((d) => (d < 0 ? '?' : String(d))).join(',')}]`
  if (Array.isArray(s)) return `(${s.map(showShape).join(', ')})`
  return `{${Object.entries(s).map(([k, v]) => `${k}: ${showShape(v)}`).join(', ')}}`
}

type PathError = Error & { readonly name: 'FoveaError'; readonly op: string; readonly layerPath: readonly string[]; readonly layerMessage: string }

/**
 * Runs `fn` (a child's init or apply) and, if it throws a FoveaError, rethrows it with `segment`
 * prepended to the error's layer path, so the message a user sees names the failing layer by its dotted
 * parameter path: `conv2d: expected input channels 64, got [2,3,8,8] (at res2.0.conv1)`. Combinators
 * wrap every child call with this; `err.layerPath` holds the path as a list.
 */
export const atPath = <T>(segment: string, fn: () => T): T => {
  try {
    return fn()
  } catch (e) {
    if (!isFoveaError(e)) throw e
    const prior = e as Partial<PathError>
    const path = [segment, ...(prior.layerPath ?? [])]
    const bare = prior.layerMessage ?? e.message.slice(e.op.length + 2)
    throw Object.assign(foveaError(e.op, `${bare} (at ${path.join('.')})`), { layerPath: path, layerMessage: bare })
  }
}

/** Throws a layer error naming the layer, what it expected and the shape it got. */
export const shapeMismatch = (layer: string, expected: string, got: ShapeTree): never =>
  fail(layer, `expected input ${expected}, got ${showShape(got)}`)

/** Checks that `inShape` is one shape of rank `rank` (e.g. NCHW) and returns it. */
export const expectRank = (layer: string, inShape: ShapeTree, rank: number, pattern: string): Shape => {
  if (!isShape(inShape) || inShape.length !== rank) shapeMismatch(layer, pattern, inShape)
  return inShape as Shape
}
