/**
 * `sgd` and `adamw`: chains of the transforms in transforms.ts that reproduce `torch.optim.SGD` and
 * `torch.optim.AdamW` step for step (checked against a NumPy transcription of PyTorch's documented update
 * rules in test/fixtures/optim_numpy.py). Per-parameter weight decay and learning-rate factors take the
 * `PerParam` forms, e.g. the functions from `defaultParamGroups` (detectron2's parameter groups).
 */
import { fail } from '../core/errors.js'
import type { Schedule } from './schedules.js'
import { type GradientTransformation, type PerParam, chain } from './transform.js'
import { addDecayedWeights, clipByGlobalNorm, freeze, scale, scaleByAdam, scaleByLearningRate, traceMomentum } from './transforms.js'

type Common = {
  /** The learning rate: a number or a schedule of the step count (detectron2 `SOLVER.BASE_LR` × schedule). */
  readonly lr: number | Schedule
  /** Per-parameter weight decay (`SOLVER.WEIGHT_DECAY`, or `defaultParamGroups(...).weightDecay`). */
  readonly weightDecay?: PerParam<number>
  /** Per-parameter multiplier of the learning rate (`defaultParamGroups(...).lrFactor`); scales decay too, as a PyTorch group lr does. */
  readonly lrFactor?: PerParam<number>
  /** Clip the raw gradients to this global L2 norm first (PyTorch `clip_grad_norm_`). */
  readonly maxGradNorm?: number
  /** Parameters that must not move (PyTorch `requires_grad=False`): their updates are zero, so weight decay cannot creep in. */
  readonly frozen?: PerParam<boolean>
}

const wrap = (core: readonly GradientTransformation<any>[], { lrFactor = 1, maxGradNorm, frozen, lr }: Common): GradientTransformation<readonly unknown[]> =>
  chain(
    ...(maxGradNorm === undefined ? [] : [clipByGlobalNorm(maxGradNorm)]),
    ...core,
    ...(lrFactor === 1 ? [] : [scale(lrFactor)]),
    scaleByLearningRate(lr),
    ...(frozen === undefined ? [] : [freeze(frozen)]),
  )

export type SgdOptions = Common & { readonly momentum?: number; readonly nesterov?: boolean }

/**
 * `torch.optim.SGD` with dampening 0: the decay `wd·p` is added to the gradient *before* the momentum
 * buffer (L2 regularisation, which is what detectron2 trains with), then `p ← p − lr·buf` (or
 * `g + m·buf` with `nesterov`). State: the chain's array, momentum buffers under `…trace.<param name>`.
 */
export const sgd = (options: SgdOptions): GradientTransformation<readonly unknown[]> => {
  const { momentum = 0, nesterov = false, weightDecay = 0 } = options
  if (!(momentum >= 0)) fail('sgd', `momentum must be non-negative, got ${momentum}`)
  if (nesterov && momentum === 0) fail('sgd', 'nesterov momentum needs a positive momentum (as in torch.optim.SGD)')
  return wrap([addDecayedWeights(weightDecay), ...(momentum === 0 ? [] : [traceMomentum({ momentum, nesterov })])], options)
}

export type AdamwOptions = Common & { readonly b1?: number; readonly b2?: number; readonly eps?: number }

/**
 * `torch.optim.AdamW`: Adam's scaled step plus *decoupled* decay, `p ← p − lr·(m̂/(√v̂+eps) + wd·p)`
 * (equal to PyTorch's `p ← p·(1 − lr·wd)` followed by the Adam step). Defaults are PyTorch's: b1 0.9,
 * b2 0.999, eps 1e-8, weightDecay 0.01.
 */
export const adamw = (options: AdamwOptions): GradientTransformation<readonly unknown[]> => {
  const { b1, b2, eps, weightDecay = 0.01 } = options
  return wrap([scaleByAdam({ b1, b2, eps }), addDecayedWeights(weightDecay)], options)
}
