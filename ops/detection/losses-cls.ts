/**
 * Classification losses: fvcore's sigmoid focal loss (RetinaNet, Lin et al. 2017), softmax cross-entropy
 * over integer labels (PyTorch `F.cross_entropy`) and sigmoid cross-entropy on logits (PyTorch
 * `F.binary_cross_entropy_with_logits`). All take logits, never probabilities, so that log(sigmoid) is
 * computed stably.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { add, cast, div, maximum, mul, notEqual, pow, sub, where } from '../elementwise/binary.js'
import { abs, exp, log1p, neg, relu, sigmoid } from '../elementwise/unary.js'
import { takeAlongAxis } from '../gather/along-axis.js'
import { logSoftmax } from '../nn/softmax.js'
import { sum } from '../reduce/sum.js'
import { reshape } from '../shape/basic.js'
import { size } from '../../core/shape.js'
import { expectFloat, expectSameShape } from './checks.js'
import { type LossOptions, checkReduction, finishLoss } from './loss-reduce.js'

/** max(x, 0) − x·t + log(1 + exp(−|x|)): BCE on logits without overflow for any x. */
const bceWithLogits = (logits: Tensor, targets: Tensor): Tensor =>
  add(sub(relu(logits), mul(logits, targets)), log1p(exp(neg(abs(logits)))))

/**
 * PyTorch `binary_cross_entropy_with_logits`: −t·log σ(x) − (1 − t)·log(1 − σ(x)), elementwise; targets
 * may be soft (in [0, 1]). Default reduction 'mean'. logits, targets: f32[...] → f32[...] or f32[]
 */
export const sigmoidCrossEntropy = (logits: Tensor, targets: Tensor, options: LossOptions = {}): Tensor => {
  const op = 'sigmoidCrossEntropy'
  expectFloat(op, logits, 'logits')
  expectFloat(op, targets, 'targets')
  expectSameShape(op, logits, targets, 'logits and targets')
  return finishLoss(op, bceWithLogits(logits, targets), options, 'mean')
}

export type FocalLossOptions = LossOptions & {
  /** Weight of positives (negatives get 1 − alpha); a negative alpha means no weighting. fvcore default -1. */
  readonly alpha?: number
  /** Focusing exponent on (1 − p_t); fvcore default 2. */
  readonly gamma?: number
}

/**
 * fvcore `sigmoid_focal_loss`: BCE(x, t)·(1 − p_t)^gamma, p_t = p·t + (1 − p)·(1 − t), p = σ(x), times
 * α_t = α·t + (1 − α)·(1 − t) when alpha >= 0. gamma = 0 and alpha < 0 give plain BCE. Default
 * reduction 'none'. logits, targets: f32[...] → f32[...] or f32[]
 */
export const sigmoidFocalLoss = (logits: Tensor, targets: Tensor, options: FocalLossOptions = {}): Tensor => {
  const op = 'sigmoidFocalLoss'
  expectFloat(op, logits, 'logits')
  expectFloat(op, targets, 'targets')
  expectSameShape(op, logits, targets, 'logits and targets')
  const { alpha = -1, gamma = 2 } = options
  if (!(typeof gamma === 'number' && gamma >= 0)) fail(op, `gamma must be a number >= 0, got ${gamma}`)
  const p = sigmoid(logits)
  const ce = bceWithLogits(logits, targets)
  const pT = add(mul(p, targets), mul(sub(1, p), sub(1, targets)))
  const q = sub(1, pT)
  // Integer gammas by multiplication: pow's derivative γ·q^(γ−1) is 0·∞ = NaN at q = 0 for γ = 0.
  const modulator = gamma === 0 ? undefined : Number.isInteger(gamma) && gamma <= 4
    ? Array.from({ length: gamma - 1 }, () => q).reduce((acc, x) => mul(acc, x), q)
    : pow(q, gamma)
  let loss = modulator === undefined ? ce : mul(ce, modulator)
  if (alpha >= 0) loss = mul(add(mul(targets, alpha), mul(sub(1, targets), 1 - alpha)), loss)
  return finishLoss(op, loss, options, 'none')
}

export type SoftmaxCrossEntropyOptions = LossOptions & {
  /** Labels equal to this contribute 0 and are left out of the mean; PyTorch's default -100. */
  readonly ignoreIndex?: number
}

/**
 * PyTorch `F.cross_entropy` for logits `f32[..., C]` (classes on the last axis) and labels `i32[...]`:
 * −log softmax(x)[label]. 'mean' (the default) divides by the number of non-ignored labels, as PyTorch
 * does; when every label is ignored it gives 0 (PyTorch gives NaN). 'none' gives 0 at ignored labels.
 * A label outside [0, C) that is not `ignoreIndex` is an error on the CPU (it indexes out of range).
 * logits: f32[..., C], labels: i32[...] → f32[...] or f32[]
 */
export const softmaxCrossEntropy = (logits: Tensor, labels: Tensor, options: SoftmaxCrossEntropyOptions = {}): Tensor => {
  const op = 'softmaxCrossEntropy'
  expectFloat(op, logits, 'logits')
  const lead = logits.shape.slice(0, -1)
  if (logits.shape.length < 1 || labels.dtype !== 'int32' || labels.shape.length !== lead.length || lead.some((d, i) => d !== labels.shape[i])) {
    fail(op, `expected logits f32[..., C] and int32 labels of the logits' leading shape, got ${describeAval(logits)} and ${describeAval(labels)}`)
  }
  const { ignoreIndex = -100 } = options
  const reduction = checkReduction(op, options.reduction ?? 'mean')
  const kept = notEqual(labels, ignoreIndex)
  const safeLabels = where(kept, labels, 0)
  const picked = reshape(takeAlongAxis(logSoftmax(logits, -1), reshape(safeLabels, [...lead, 1]), -1), lead)
  const loss = where(kept, neg(picked), 0)
  if (reduction !== 'mean') return finishLoss(op, loss, { ...options, reduction }, 'mean')
  if (size(loss.shape) === 0) return finishLoss(op, loss, { ...options, reduction }, 'mean')
  const count = sum(cast(kept, 'float32'))
  const mean = div(sum(loss), maximum(count, 1))
  return finishLoss(op, mean, { ...options, reduction: 'none' }, 'none')
}
