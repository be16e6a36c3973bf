/**
 * Loss reductions shared by every detection loss: fvcore/detectron2's `reduction` argument, a
 * `lossWeight` factor (mmdetection's `loss_weight`), and mmdetection's `weight_reduce_loss` /
 * `weighted_loss` semantics (elementwise weights and an `avgFactor` replacing the element count).
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval, isTensor } from '../../core/tensor.js'
import { add, div, mul } from '../elementwise/binary.js'
import { sum } from '../reduce/sum.js'
import { size } from '../../core/shape.js'

export type Reduction = 'none' | 'mean' | 'sum'

export type LossOptions = {
  /** 'none' keeps the elementwise loss; 'mean' and 'sum' reduce over every element. */
  readonly reduction?: Reduction
  /** Multiplies the (reduced) loss; default 1. */
  readonly lossWeight?: number
}

const REDUCTIONS: readonly string[] = ['none', 'mean', 'sum']

export const checkReduction = (op: string, reduction: unknown): Reduction => {
  if (typeof reduction !== 'string' || !REDUCTIONS.includes(reduction)) {
    fail(op, `reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`)
  }
  return reduction as Reduction
}

/**
 * Applies `reduction`. The mean of an empty loss is 0 with a zero gradient (detectron2's
 * `loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()`), not NaN. loss: f32[...] → f32[...] or f32[]
 */
export const reduceLoss = (op: string, loss: Tensor, reduction: Reduction): Tensor => {
  switch (checkReduction(op, reduction)) {
    case 'none': return loss
    case 'sum': return sum(loss)
    case 'mean': return size(loss.shape) === 0 ? mul(sum(loss), 0) : div(sum(loss), size(loss.shape))
  }
}

/** `reduceLoss` then `lossWeight` (skipped when 1, so IR stays minimal). */
export const finishLoss = (op: string, loss: Tensor, options: LossOptions, defaultReduction: Reduction): Tensor => {
  const reduced = reduceLoss(op, loss, options.reduction ?? defaultReduction)
  const w = options.lossWeight ?? 1
  if (typeof w !== 'number' || !Number.isFinite(w)) fail(op, `lossWeight must be a finite number, got ${JSON.stringify(w)}`)
  return w === 1 ? reduced : mul(reduced, w)
}

export type WeightedLossOptions = {
  /** Elementwise weights, broadcast against the loss. */
  readonly weight?: Tensor
  /** Default 'mean', as in mmdetection. */
  readonly reduction?: Reduction
  /** With 'mean': divide the sum by `avgFactor + ε` (ε = float32 epsilon) instead of the element count. */
  readonly avgFactor?: number | Tensor
  readonly lossWeight?: number
}

const FLOAT32_EPS = 2 ** -23

/**
 * mmdetection `weight_reduce_loss`: multiplies by `weight`, then reduces; with `avgFactor` a 'mean' is
 * `sum / (avgFactor + ε)` (ε keeps an all-ignored batch finite), 'none' ignores it, and 'sum' is refused.
 * loss: f32[...] → f32[...] or f32[]
 */
export const weightReduceLoss = (loss: Tensor, options: WeightedLossOptions = {}): Tensor => {
  const op = 'weightReduceLoss'
  const { weight, reduction = 'mean', avgFactor, lossWeight = 1 } = options
  checkReduction(op, reduction)
  if (weight !== undefined && weight.dtype !== 'float32') fail(op, `weight must be float32, got ${describeAval(weight)} for loss ${describeAval(loss)}`)
  const weighted = weight === undefined ? loss : mul(loss, weight)
  let out: Tensor
  if (avgFactor === undefined) out = reduceLoss(op, weighted, reduction)
  else if (reduction === 'mean') out = div(sum(weighted), isTensor(avgFactor) ? add(avgFactor, FLOAT32_EPS) : avgFactor + FLOAT32_EPS)
  else if (reduction === 'none') out = weighted
  else return fail(op, `avgFactor cannot be used with reduction 'sum' (loss ${describeAval(loss)})`)
  return lossWeight === 1 ? out : mul(out, lossWeight)
}

/**
 * mmdetection's `@weighted_loss` decorator as a combinator: from an elementwise loss `(pred, target) →
 * f32[...]` make `(pred, target, {weight, reduction, avgFactor, lossWeight}) → loss`. Extra arguments of
 * the base loss (a beta, a gamma) are closed over: `weightedLoss((p, t) => smoothL1Loss(p, t, {beta: 1,
 * reduction: 'none'}))`.
 */
export const weightedLoss = (elementwise: (pred: Tensor, target: Tensor) => Tensor) =>
  (pred: Tensor, target: Tensor, options: WeightedLossOptions = {}): Tensor =>
    weightReduceLoss(elementwise(pred, target), options)
