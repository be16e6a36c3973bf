/**
 * The building blocks optimizers are chained from. Each is a `GradientTransformation`; each state is a
 * record of tensors (a step `count` is an `i32[]`), so states jit and checkpoint like params.
 */
import { fail } from '../core/errors.js'
import { type Tensor, describeAval, isTensor } from '../core/tensor.js'
import { treeFlatten, treeFlattenNamed } from '../core/tree.js'
import { add, cast, div, expm1, minimum, mul, neg, sqrt, square, sum, zeros } from '../ops/index.js'
import type { Schedule } from './schedules.js'
import { type GradientTransformation, type PerParam, expectTensorTree, mapLeaves, resolvePerParam } from './transform.js'

type Empty = Record<string, never>
type Counted = { readonly count: Tensor }

const zerosLike = (tree: unknown): unknown => mapLeaves(tree, (p) => zeros(p.shape, p.dtype))
const leavesOf = (tree: unknown): Tensor[] => treeFlatten(tree)[0] as Tensor[]

const expectNonNegative = (op: string, name: string, v: number): void => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(op, `${name} must be a non-negative number, got ${v}`)
}

const expectCount = (op: string, state: unknown): Tensor => {
  const c = (state as Partial<Counted> | undefined)?.count
  if (!isTensor(c) || c.shape.length !== 0) fail(op, `the state has no scalar step count (got ${c === undefined ? 'nothing' : isTensor(c) ? describeAval(c) : typeof c}); build it with init(params)`)
  return c as Tensor
}

/**
 * Multiplies each update by a per-parameter factor (1 leaves a leaf untouched). This is how per-group
 * learning-rate multipliers (detectron2's `BIAS_LR_FACTOR`) enter a chain: put it next to
 * `scaleByLearningRate` so it scales everything the rate scales. `updates`: any tree of float tensors.
 */
export const scale = (factor: PerParam<number>): GradientTransformation<Empty> => ({
  init: () => ({}),
  update: (updates, state) => {
    const factors = resolvePerParam<number>('scale', factor, updates)
    return [mapLeaves(updates, (u, i) => (factors[i] === 1 ? u : mul(u, factors[i]!))), state] as const
  },
})

/**
 * Multiplies updates by −lr (the sign turns a gradient into a descent step). A number is a constant rate
 * and keeps no state; a `Schedule` is evaluated at the step count kept in the state (`count: i32[]`, the
 * number of updates made so far), so the k-th update (0-based) uses `schedule(k)`.
 */
export const scaleByLearningRate = (lr: number | Schedule): GradientTransformation<Counted | Empty> => {
  const op = 'scaleByLearningRate'
  if (typeof lr === 'number') {
    expectNonNegative(op, 'lr', lr)
    return { init: () => ({}), update: (updates, state) => [mapLeaves(updates, (u) => mul(u, -lr)), state] as const }
  }
  if (typeof lr !== 'function') fail(op, `lr must be a number or a schedule function, got ${typeof lr}`)
  return {
    init: () => ({ count: zeros([], 'int32') }),
    update: (updates, state) => {
      const count = expectCount(op, state)
      const rate: unknown = lr(count)
      if (!isTensor(rate) || rate.shape.length !== 0) {
        fail(op, `the schedule returned ${isTensor(rate) ? describeAval(rate) : typeof rate} for a tensor step; a schedule must map an i32[]/f32[] step to an f32[] rate (build it from F ops, or with the schedules in train/)`)
      }
      const negRate = neg(rate as Tensor)
      return [mapLeaves(updates, (u) => mul(u, negRate)), { count: add(count, 1) }] as const
    },
  }
}

export type MomentumOptions = { readonly momentum: number; readonly nesterov?: boolean }

/**
 * PyTorch SGD momentum (dampening 0): `buf ← m·buf + g`, then the update is `buf`, or `g + m·buf` with
 * Nesterov. The buffer starts at zero, which equals PyTorch's `buf = g` on the first step. This is the
 * "heavy ball" form in gradient units, so a learning-rate change later in the chain does not rescale the
 * momentum already accumulated — exactly as `torch.optim.SGD` behaves under a scheduler.
 */
export const traceMomentum = ({ momentum, nesterov = false }: MomentumOptions): GradientTransformation<{ readonly trace: unknown }> => {
  expectNonNegative('traceMomentum', 'momentum', momentum)
  return {
    init: (params) => ({ trace: zerosLike(params) }),
    update: (updates, state) => {
      const previous = leavesOf(state?.trace)
      const grads = leavesOf(updates)
      if (previous.length !== grads.length) fail('traceMomentum', `the state traces ${previous.length} tensors but the updates have ${grads.length}; build the state with init(params) for these params`)
      const trace = mapLeaves(updates, (g, i) => add(mul(previous[i]!, momentum), g))
      const buffers = leavesOf(trace)
      const out = nesterov ? mapLeaves(updates, (g, i) => add(g, mul(buffers[i]!, momentum))) : (trace as typeof updates)
      return [out, { trace }] as const
    },
  }
}

/**
 * Adds `wd · param` to each update, where `wd` may differ per parameter (a number, a function of the
 * dotted name, or a tree) and `mask` (same forms, booleans) switches decay off for some parameters.
 * Before the momentum in a chain this is PyTorch SGD's L2 weight decay; after Adam's scaling it is AdamW's
 * decoupled decay. Needs `params` in `update`.
 */
export const addDecayedWeights = (weightDecay: PerParam<number>, mask?: PerParam<boolean>): GradientTransformation<Empty> => ({
  init: () => ({}),
  update: (updates, state, params) => {
    const op = 'addDecayedWeights'
    if (params === undefined) fail(op, 'needs the params: call update(updates, state, params)')
    const decay = resolvePerParam<number>(op, weightDecay, params)
    const keep = mask === undefined ? decay.map(() => true) : resolvePerParam<boolean>(op, mask, params)
    decay.forEach((wd, i) => {
      if (!(typeof wd === 'number' && wd >= 0 && Number.isFinite(wd))) expectNonNegative(op, `the weight decay of ${treeFlattenNamed(params)[i]?.[0] ?? i}`, wd)
    })
    const ps = leavesOf(params)
    return [mapLeaves(updates, (u, i) => (keep[i] && decay[i]! !== 0 ? add(u, mul(ps[i]!, decay[i]!)) : u)), state] as const
  },
})

export type AdamOptions = { readonly b1?: number; readonly b2?: number; readonly eps?: number }

/** 1 − bᵗ as −expm1(t·ln b): accurate in float32 even when b is close to 1 and t is small. */
const biasCorrection = (b: number, t: Tensor): Tensor => neg(expm1(mul(t, Math.log(b))))

/**
 * Adam's scaling (Kingma & Ba; PyTorch `Adam`/`AdamW`): `m ← b1·m + (1−b1)·g`, `v ← b2·v + (1−b2)·g²`,
 * update `m̂ / (√v̂ + eps)` with the bias corrections `m̂ = m/(1−b1ᵗ)`, `v̂ = v/(1−b2ᵗ)` — eps is added
 * after the square root, as PyTorch does. State: `{ count: i32[], mu, nu }` (mu/nu shaped like params).
 */
export const scaleByAdam = ({ b1 = 0.9, b2 = 0.999, eps = 1e-8 }: AdamOptions = {}): GradientTransformation<Counted & { readonly mu: unknown; readonly nu: unknown }> => {
  const op = 'scaleByAdam'
  for (const [name, b] of [['b1', b1], ['b2', b2]] as const) {
    if (!(b >= 0 && b < 1)) fail(op, `${name} must be in [0, 1), got ${b}`)
  }
  expectNonNegative(op, 'eps', eps)
  return {
    init: (params) => ({ count: zeros([], 'int32'), mu: zerosLike(params), nu: zerosLike(params) }),
    update: (updates, state) => {
      const count = expectCount(op, state)
      const [mus, nus] = [leavesOf(state.mu), leavesOf(state.nu)]
      if (mus.length !== leavesOf(updates).length) fail(op, `the state has moments for ${mus.length} tensors but the updates have ${leavesOf(updates).length}; build the state with init(params) for these params`)
      const mu = mapLeaves(updates, (g, i) => add(mul(mus[i]!, b1), mul(g, 1 - b1)))
      const nu = mapLeaves(updates, (g, i) => add(mul(nus[i]!, b2), mul(square(g), 1 - b2)))
      const next = add(count, 1)
      const t = cast(next, 'float32')
      // b = 0 would make ln b = −inf; its correction is 1 at every t ≥ 1.
      const [c1, c2] = [b1 === 0 ? 1 : biasCorrection(b1, t), b2 === 0 ? 1 : biasCorrection(b2, t)]
      const [muLeaves, nuLeaves] = [leavesOf(mu), leavesOf(nu)]
      const out = mapLeaves(updates, (_, i) => div(div(muLeaves[i]!, c1), add(sqrt(div(nuLeaves[i]!, c2)), eps)))
      return [out, { count: next, mu, nu }] as const
    },
  }
}

/**
 * Scales all updates together so their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`:
 * factor `min(1, maxNorm / (norm + 1e-6))`). Note detectron2's `CLIP_TYPE: norm` clips each parameter on
 * its own; this is the global form.
 */
export const clipByGlobalNorm = (maxNorm: number): GradientTransformation<Empty> => {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) fail('clipByGlobalNorm', `maxNorm must be a positive number, got ${maxNorm}`)
  return {
    init: () => ({}),
    update: (updates, state) => {
      expectTensorTree('clipByGlobalNorm', updates, 'update')
      const leaves = leavesOf(updates)
      if (leaves.length === 0) return [updates, state] as const
      const norm = sqrt(leaves.map((u) => sum(square(cast(u, 'float32')))).reduce((a, b) => add(a, b)))
      const factor = minimum(div(maxNorm, add(norm, 1e-6)), 1)
      return [mapLeaves(updates, (u) => mul(u, factor)), state] as const
    },
  }
}

/**
 * Zeroes the updates of frozen parameters (`frozen` true), the functional form of PyTorch's
 * `requires_grad=False`: put it last so neither decay nor momentum can move them.
 */
export const freeze = (frozen: PerParam<boolean>): GradientTransformation<Empty> => ({
  init: () => ({}),
  update: (updates, state) => {
    const mask = resolvePerParam<boolean>('freeze', frozen, updates)
    return [mapLeaves(updates, (u, i) => (mask[i] ? zeros(u.shape, u.dtype) : u)), state] as const
  },
})
