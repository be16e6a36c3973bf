/**
 * Learning-rate schedules: pure functions of the iteration. Each works on a plain number (for logging, tests
 * and reasoning: `warmupMultiStep(...)(999)`) and on a scalar tensor (so an optimizer update that reads the
 * step count from its state stays traceable under `jit` without a host round trip); the two agree.
 * Iterations are detectron2's: 0-based, and the update made at iteration `i` uses `schedule(i)`. With
 * `base` left at 1 a schedule is a multiplier of the base learning rate (PyTorch's `LambdaLR` view).
 */
import { fail } from '../core/errors.js'
import { type Tensor, isTensor } from '../core/tensor.js'
import { add, cast, cos, div, full, greaterEqual, minimum, mul, pow, where } from '../ops/index.js'

/** A schedule maps an iteration to a learning rate (or a multiplier): numbers to numbers, `f32[]` to `f32[]`. */
export type Schedule = {
  (step: number): number
  (step: Tensor): Tensor
}

type Scalar = number | Tensor
type Condition = boolean | Tensor

const isNumber = (x: Scalar): x is number => typeof x === 'number'
const plus = (a: Scalar, b: Scalar): Scalar => (isNumber(a) && isNumber(b) ? a + b : add(a, b))
const times = (a: Scalar, b: Scalar): Scalar => (isNumber(a) && isNumber(b) ? a * b : mul(a, b))
const over = (a: Scalar, b: number): Scalar => (isNumber(a) ? a / b : div(a, b))
const atLeast = (a: Scalar, b: number): Condition => (isNumber(a) ? a >= b : greaterEqual(a, b))
const select = (c: Condition, a: Scalar, b: Scalar): Scalar => (typeof c === 'boolean' ? (c ? a : b) : where(c, a, b))
const count = (c: Condition): Scalar => (typeof c === 'boolean' ? Number(c) : cast(c, 'float32'))
const smaller = (a: Scalar, b: number): Scalar => (isNumber(a) ? Math.min(a, b) : minimum(a, b))
const cosine = (a: Scalar): Scalar => (isNumber(a) ? Math.cos(a) : cos(a))
const power = (base: number, e: Scalar): Scalar => (isNumber(e) ? base ** e : pow(base, e))
/** `v` in the step's kind: a number, or an f32[] constant when tracing a tensor step. */
const constantLike = (step: Scalar, v: number): Scalar => (isNumber(step) ? v : full([], v))

/** Wraps a body written with the helpers above; a tensor step is used as float32. */
const schedule = (op: string, body: (step: Scalar) => Scalar): Schedule =>
  ((step: Scalar) => {
    if (isNumber(step)) {
      if (!Number.isFinite(step)) fail(op, `the iteration must be a finite number, got ${step}`)
      return body(step)
    }
    if (!isTensor(step) || step.shape.length !== 0) fail(op, `expected a number or a scalar tensor as the iteration, got ${isTensor(step) ? `a tensor of shape [${step.shape.join(',')}]` : typeof step}`)
    return body(cast(step, 'float32'))
  }) as unknown as Schedule

const expectPositive = (op: string, name: string, v: number, allowZero = false): void => {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) fail(op, `${name} must be ${allowZero ? 'non-negative' : 'positive'}, got ${v}`)
}

/** The same value at every iteration. */
export const constantSchedule = (value: number): Schedule => schedule('constantSchedule', (step) => constantLike(step, value))

export type MultiStepOptions = { readonly base?: number; readonly steps: readonly number[]; readonly gamma?: number }

/**
 * `base · gamma^k` where k counts the milestones `steps` that are ≤ the iteration (PyTorch `MultiStepLR`,
 * Python's `bisect_right`): with steps [100] the rate drops at iteration 100 itself.
 */
export const multiStep = ({ base = 1, steps, gamma = 0.1 }: MultiStepOptions): Schedule => {
  steps.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0) fail('multiStep', `steps must be non-negative integers, got ${s} at position ${i}`)
    if (i > 0 && s < steps[i - 1]!) fail('multiStep', `steps must be increasing, got [${steps.join(', ')}]`)
  })
  return schedule('multiStep', (step) => {
    const k = steps.reduce<Scalar>((n, s) => plus(n, count(atLeast(step, s))), 0)
    return times(base, power(gamma, k))
  })
}

export type CosineOptions = { readonly base?: number; readonly final?: number; readonly maxIter: number }

/**
 * Half a cosine from `base` at iteration 0 to `final` at `maxIter`, constant after (detectron2
 * `WarmupCosineLR` without the warmup; `final` is `SOLVER.BASE_LR_END`).
 */
export const cosineSchedule = ({ base = 1, final = 0, maxIter }: CosineOptions): Schedule => {
  expectPositive('cosineSchedule', 'maxIter', maxIter)
  return schedule('cosineSchedule', (step) => {
    const t = over(smaller(step, maxIter), maxIter)
    return plus(final, times(base - final, times(0.5, plus(1, cosine(times(Math.PI, t))))))
  })
}

export type WarmupOptions = {
  /** The multiplier at iteration 0 (detectron2 `SOLVER.WARMUP_FACTOR`, default 0.001). */
  readonly warmupFactor?: number
  /** Iterations of warmup; from this iteration on the factor is 1 (`SOLVER.WARMUP_ITERS`, default 1000). */
  readonly warmupIters?: number
  /** `linear` ramps from warmupFactor to 1; `constant` holds warmupFactor (`SOLVER.WARMUP_METHOD`). */
  readonly warmupMethod?: 'linear' | 'constant'
}

/**
 * detectron2's `_get_warmup_factor_at_iter` as a schedule: 1 from `warmupIters` on; before that
 * `warmupFactor` (constant) or `warmupFactor·(1 − α) + α` with α = iter / warmupIters (linear).
 */
export const warmupFactorSchedule = ({ warmupFactor = 0.001, warmupIters = 1000, warmupMethod = 'linear' }: WarmupOptions = {}): Schedule => {
  const op = 'warmupFactorSchedule'
  expectPositive(op, 'warmupIters', warmupIters, true)
  expectPositive(op, 'warmupFactor', warmupFactor, true)
  if (warmupMethod !== 'linear' && warmupMethod !== 'constant') fail(op, `unknown warmupMethod ${JSON.stringify(warmupMethod)}; expected "linear" or "constant"`)
  return schedule(op, (step) => {
    if (warmupIters === 0) return constantLike(step, 1)
    const during = warmupMethod === 'constant' ? warmupFactor : (() => {
      const alpha = over(step, warmupIters)
      return plus(times(warmupFactor, plus(1, times(alpha, -1))), alpha)
    })()
    return select(atLeast(step, warmupIters), 1, during)
  })
}

/** `schedule(iter) · warmupFactor(iter)`: the product form detectron2's `WarmupMultiStepLR` and `WarmupCosineLR` use. */
export const withWarmup = (inner: Schedule, warmup: WarmupOptions = {}): Schedule => {
  const factor = warmupFactorSchedule(warmup)
  return schedule('withWarmup', (step) => times(factor(step as number), inner(step as number)))
}

/**
 * detectron2 `WarmupMultiStepLR` (the `SOLVER.LR_SCHEDULER_NAME` default): `base · warmup(iter) ·
 * gamma^bisect_right(steps, iter)`. Defaults follow detectron2's config: gamma 0.1, warmupFactor 0.001,
 * warmupIters 1000, linear.
 */
export const warmupMultiStep = (options: MultiStepOptions & WarmupOptions): Schedule => withWarmup(multiStep(options), options)

/**
 * detectron2 `WarmupCosineLR`: `base · warmup(iter) · ½(1 + cos(π · iter / maxIter))` (the warmup multiplies
 * the cosine, as in detectron2's original scheduler), reaching `final` at `maxIter`.
 */
export const warmupCosine = (options: CosineOptions & WarmupOptions): Schedule => withWarmup(cosineSchedule(options), options)
