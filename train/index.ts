/**
 * Training: optimizers as pure `GradientTransformation` pairs (optax), learning-rate schedules
 * (detectron2's warmup + multi-step and cosine), detectron2's parameter groups as per-parameter settings,
 * event storage with smoothed medians, and the `train` loop. Exported from the root as `F.train`.
 */
export { type GradientTransformation, type PerParam, applyUpdates, chain, identity } from './transform.js'
export { type AdamOptions, type MomentumOptions, addDecayedWeights, clipByGlobalNorm, freeze, scale, scaleByAdam, scaleByLearningRate, traceMomentum } from './transforms.js'
export { type AdamwOptions, type SgdOptions, adamw, sgd } from './optimizers.js'
export { type ParamGroup, type ParamGroupOptions, type ParamGroups, type ParamOverride, defaultParamGroups, describeParamGroups, isNormParam } from './param-groups.js'
export {
  type CosineOptions, type MultiStepOptions, type Schedule, type WarmupOptions,
  constantSchedule, cosineSchedule, multiStep, warmupCosine, warmupFactorSchedule, warmupMultiStep, withWarmup,
} from './schedules.js'
export { type EventStorage, type History, atIter, average, emptyStorage, globalAverage, latestWithSmoothing, median, putScalar, putScalars } from './events.js'
export { formatDuration, metricsLine, progressLine } from './progress.js'
export { type Hook, type HookContext, type MetricsRecord, type Output, type StepOutput, type TrainOptions, type TrainResult, every, train } from './loop.js'
