/**
 * detectron2's `get_default_optimizer_params` as per-parameter settings over a param tree's dotted names.
 * PyTorch builds one optimizer group per parameter; here the same hyperparameters come out as two
 * functions of the name (`weightDecay`, `lrFactor`) that `sgd`/`adamw`/`addDecayedWeights`/`scale` accept.
 * Rules, in detectron2's order: every parameter starts at `weightDecay` and factor 1; parameters of a
 * normalization module get `weightDecayNorm`; `lrFactorOf(name)` multiplies the factor; finally overrides
 * keyed by the parameter's own name (the last dotted component) apply — `bias` gets `biasLrFactor` and
 * `weightDecayBias`, so a norm layer's bias takes the bias setting, as in detectron2.
 */
import { fail } from '../core/errors.js'
import type { Tensor } from '../core/tensor.js'
import { treeFlattenNamed } from '../core/tree.js'

/**
 * Whether a dotted name belongs to a normalization module, judged by the module's last name component:
 * detectron2 `…conv1.norm.weight`, torchvision `bn1`, mmdet `gn`/`norm1`, transformers `LayerNorm`/`ln_1`.
 * Modules are not types here, so this is the name convention; pass `isNorm` when a model names them otherwise.
 */
export const isNormParam = (name: string): boolean => {
  const parts = name.split('.')
  const module = parts.length >= 2 ? parts[parts.length - 2]! : ''
  return /^(?:norm|bn|gn|ln|batch_?norm|group_?norm|layer_?norm|instance_?norm)_?\d*$/i.test(module) || /_(?:norm|bn|gn|ln)\d*$/i.test(module)
}

export type ParamOverride = { readonly lrFactor?: number; readonly weightDecay?: number }

export type ParamGroupOptions = {
  /** `SOLVER.WEIGHT_DECAY`. */
  readonly weightDecay: number
  /** `SOLVER.WEIGHT_DECAY_NORM` (detectron2's config default 0); `null` keeps `weightDecay` for norms. */
  readonly weightDecayNorm?: number | null
  /** `SOLVER.WEIGHT_DECAY_BIAS` (detectron2's default None: biases decay like weights). */
  readonly weightDecayBias?: number
  /** `SOLVER.BIAS_LR_FACTOR` (default 1). */
  readonly biasLrFactor?: number
  /** detectron2's `lr_factor_func(full_name)`, e.g. layer-wise decay for ViT backbones. */
  readonly lrFactorOf?: (name: string) => number
  /** By the parameter's own name (`bias`, `pos_embed`, …). detectron2 gives an absolute lr; a factor of the base rate here, since the base is a schedule. */
  readonly overrides?: Readonly<Record<string, ParamOverride>>
  /** Which parameters are normalization parameters (default `isNormParam`). */
  readonly isNorm?: (name: string) => boolean
}

export type ParamGroup = { readonly weightDecay: number; readonly lrFactor: number }

export type ParamGroups = {
  /** The settings of the parameter with this dotted name. */
  readonly groupOf: (name: string) => ParamGroup
  /** `PerParam<number>` forms for `sgd`/`adamw` (and `addDecayedWeights`/`scale`). */
  readonly weightDecay: (name: string, leaf?: Tensor) => number
  readonly lrFactor: (name: string, leaf?: Tensor) => number
}

/**
 * The per-parameter settings of detectron2's default optimizer params (see the file comment). Usage:
 * `const g = defaultParamGroups({ weightDecay: 1e-4 }); sgd({ lr, momentum: 0.9, weightDecay: g.weightDecay, lrFactor: g.lrFactor })`.
 */
export const defaultParamGroups = (options: ParamGroupOptions): ParamGroups => {
  const { weightDecay, weightDecayNorm = 0, weightDecayBias, biasLrFactor = 1, lrFactorOf, isNorm = isNormParam } = options
  const overrides: Record<string, ParamOverride> = { ...(options.overrides ?? {}) }
  const bias: ParamOverride = { ...(biasLrFactor !== 1 ? { lrFactor: biasLrFactor } : {}), ...(weightDecayBias !== undefined ? { weightDecay: weightDecayBias } : {}) }
  if (Object.keys(bias).length > 0) {
    if (overrides.bias !== undefined) fail('defaultParamGroups', "conflicting overrides for 'bias': give biasLrFactor/weightDecayBias or overrides.bias, not both")
    overrides.bias = bias
  }
  const groupOf = (name: string): ParamGroup => {
    const own = name.slice(name.lastIndexOf('.') + 1)
    const wd = weightDecayNorm !== null && isNorm(name) ? weightDecayNorm : weightDecay
    const factor = lrFactorOf === undefined ? 1 : lrFactorOf(name)
    const o = overrides[own] ?? {}
    return { weightDecay: o.weightDecay ?? wd, lrFactor: o.lrFactor ?? factor }
  }
  return { groupOf, weightDecay: (name) => groupOf(name).weightDecay, lrFactor: (name) => groupOf(name).lrFactor }
}

/** Every parameter's dotted name with its settings, in flatten order (to print or to check a config). */
export const describeParamGroups = (params: unknown, groups: ParamGroups): { readonly name: string; readonly weightDecay: number; readonly lrFactor: number }[] =>
  treeFlattenNamed(params).map(([name]) => ({ name, ...groups.groupOf(name) }))
