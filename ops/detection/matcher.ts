/**
 * detectron2's `Matcher`: assigns each prediction (anchor, proposal) the ground truth it overlaps most and
 * a label from the interval its best quality falls in. Static shapes: a matcher is a plain function from
 * the quality matrix to two vectors of the predictions' length.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { full, tensor, zeros } from '../creation.js'
import { cast, equal, greaterEqual, where } from '../elementwise/binary.js'
import { take } from '../gather/gather-nd.js'
import { argmax } from '../reduce/arg.js'
import { max } from '../reduce/chooser.js'
import { any } from '../reduce/logical.js'
import { sum } from '../reduce/sum.js'
import { reshape } from '../shape/basic.js'

export type MatcherOptions = {
  /** Increasing interior thresholds t_1 <= ... <= t_k, t_1 > 0; they cut [-inf, inf) into k + 1 intervals. */
  readonly thresholds: readonly number[]
  /** One label per interval, each -1 (ignore), 0 (negative) or 1 (positive). */
  readonly labels: readonly number[]
  /** Also label 1 every prediction that is some ground truth's best (ties included), however low. */
  readonly allowLowQualityMatches?: boolean
}

export type MatchResult = {
  /** Index of the best ground truth for each prediction (0 when there is none). i32[N] */
  readonly matches: Tensor
  /** -1, 0 or 1 for each prediction. i32[N] */
  readonly matchLabels: Tensor
}

/**
 * Builds a matcher over a quality matrix `f32[G, N]` (G ground truths × N predictions, e.g. `boxIou(gt,
 * anchors)`), with detectron2's rules:
 * - intervals are half-open [t_i, t_{i+1}), so a quality exactly at a threshold takes the upper label;
 * - `matches` is the first ground truth (lowest index) among those tied for a prediction's best quality;
 * - with G = 0 every match is 0 and every label is `labels[0]` (no ground truth means quality 0);
 * - low-quality matching labels 1 every prediction whose quality equals some ground truth's best over all
 *   predictions, ties included, keeping its `matches` entry (as Detectron does). A ground truth that
 *   overlaps nothing has best quality 0, so then every prediction with quality 0 to it is labelled 1 —
 *   detectron2 behaves the same way.
 * Qualities must be >= 0 (detectron2 asserts it); a NaN quality falls in no interval above the first
 * and gets `labels[0]`.
 */
export const matcher = (options: MatcherOptions) => {
  const op = 'matcher'
  const { thresholds, labels, allowLowQualityMatches = false } = options
  if (!Array.isArray(thresholds) || thresholds.length === 0 || !thresholds.every((t) => typeof t === 'number' && !Number.isNaN(t))) {
    fail(op, `thresholds must be a non-empty list of numbers, got ${JSON.stringify(thresholds)}`)
  }
  if (!(thresholds[0]! > 0)) fail(op, `the first threshold must be > 0, got ${JSON.stringify(thresholds)}`)
  if (thresholds.some((t, i) => i > 0 && t < thresholds[i - 1]!)) fail(op, `thresholds must be non-decreasing, got ${JSON.stringify(thresholds)}`)
  if (!Array.isArray(labels) || labels.length !== thresholds.length + 1 || !labels.every((l) => l === -1 || l === 0 || l === 1)) {
    fail(op, `labels must be ${thresholds.length + 1} values in {-1, 0, 1} (one per interval of ${JSON.stringify(thresholds)}), got ${JSON.stringify(labels)}`)
  }
  return (quality: Tensor): MatchResult => {
    if (quality.shape.length !== 2 || quality.dtype !== 'float32') fail(op, `quality matrix must be f32[G, N] (ground truths × predictions), got ${describeAval(quality)}`)
    const [g, n] = quality.shape as [number, number]
    if (g === 0) return { matches: zeros([n], 'int32'), matchLabels: full([n], labels[0]!, 'int32') }
    if (n === 0) return { matches: zeros([0], 'int32'), matchLabels: zeros([0], 'int32') }
    const best = max(quality, 0)
    const matches = argmax(quality, 0)
    // The interval index is the number of thresholds at or below the best quality.
    const cuts = tensor(Float32Array.from(thresholds), { shape: [thresholds.length, 1] })
    const interval = sum(cast(greaterEqual(reshape(best, [1, n]), cuts), 'int32'), 0)
    let matchLabels = take(tensor(Int32Array.from(labels), { dtype: 'int32' }), interval)
    if (allowLowQualityMatches) {
      const bestPerGt = max(quality, 1, true)
      const isSomeBest = any(equal(quality, bestPerGt), 0)
      matchLabels = where(isSomeBest, 1, matchLabels)
    }
    return { matches, matchLabels }
  }
}
