/**
 * detectron2 `subsample_labels` with static shapes: sample up to `numSamples·positiveFraction` positives
 * uniformly without replacement, then fill the rest of `numSamples` with negatives. The data-dependent
 * counts become fixed-capacity index lists padded with -1, counts, and masks.
 */
import { fail } from '../../core/errors.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { arange, zeros } from '../creation.js'
import { cast, equal, greater, less, logicalAnd, maximum, minimum, notEqual, sub, where } from '../elementwise/binary.js'
import { scatterAdd } from '../gather/along-axis.js'
import { permutation } from '../random/sample.js'
import { argsort, topk } from '../sort/sort.js'
import { sum } from '../reduce/sum.js'

export type SampledLabels = {
  /** Sampled positive indices in random order, then -1. i32[min(N, floor(numSamples·positiveFraction))] */
  readonly positiveIndices: Tensor
  /** Sampled negative indices in random order, then -1. i32[min(N, numSamples)] */
  readonly negativeIndices: Tensor
  /** How many entries of each list are real. i32[] */
  readonly numPositive: Tensor
  readonly numNegative: Tensor
  /** The same samples as masks over the labels. bool[N] */
  readonly positiveMask: Tensor
  readonly negativeMask: Tensor
}

/** The first `count` entries of the score-ordered candidates (score > 0 marks a candidate), others -1. */
const pick = (score: Tensor, capacity: number, count: Tensor): Tensor => {
  if (capacity === 0) return zeros([0], 'int32')
  const { indices } = topk(score, capacity)
  return where(less(arange(capacity), count), indices, -1)
}

/** A bool[N] mask with true at the listed indices (-1 entries ignored). */
const maskOf = (indices: Tensor, n: number): Tensor => {
  if (indices.shape[0] === 0) return cast(zeros([n], 'int32'), 'bool')
  const valid = greater(indices, -1)
  const hits = scatterAdd(zeros([n], 'int32'), maximum(indices, 0), cast(valid, 'int32'), 0)
  return greater(hits, 0)
}

/**
 * Samples from `labels: i32[N]` (-1 = ignore, `bgLabel` = negative, anything else = positive): positives
 * up to `floor(numSamples·positiveFraction)` (fewer if there are fewer), then negatives up to the
 * remaining `numSamples − numPositive` (fewer if there are fewer). Each selection is a uniformly random
 * subset in uniformly random order, as detectron2's `randperm` prefix: every label gets a distinct random
 * rank from one permutation drawn with `key`, and each list takes its class's lowest ranks.
 * key: i32[2] → SampledLabels
 */
export const subsampleLabels = (key: Tensor, labels: Tensor, numSamples: number, positiveFraction: number, bgLabel: number): SampledLabels => {
  const op = 'subsampleLabels'
  if (labels.shape.length !== 1 || labels.dtype !== 'int32') fail(op, `labels must be i32[N], got ${describeAval(labels)}`)
  if (!Number.isInteger(numSamples) || numSamples < 0) fail(op, `numSamples must be a non-negative integer, got ${numSamples} for labels ${describeAval(labels)}`)
  if (!(positiveFraction >= 0 && positiveFraction <= 1)) fail(op, `positiveFraction must be in [0, 1], got ${positiveFraction}`)
  if (!Number.isInteger(bgLabel)) fail(op, `bgLabel must be an integer, got ${bgLabel}`)
  const n = labels.shape[0]!
  const positiveCap = Math.min(n, Math.floor(numSamples * positiveFraction))
  const negativeCap = Math.min(n, numSamples)
  const isPositive = logicalAnd(notEqual(labels, -1), notEqual(labels, bgLabel))
  const isNegative = equal(labels, bgLabel)
  // rank[i] = position of i in a random permutation: distinct, uniformly random, no ties.
  const rank = n === 0 ? zeros([0], 'int32') : argsort(permutation(key, n))
  const score = (member: Tensor) => where(member, sub(n, rank), 0)
  const numPositive = minimum(sum(cast(isPositive, 'int32')), positiveCap)
  const numNegative = minimum(sum(cast(isNegative, 'int32')), sub(numSamples, numPositive))
  const positiveIndices = pick(score(isPositive), positiveCap, numPositive)
  const negativeIndices = pick(score(isNegative), negativeCap, numNegative)
  return {
    positiveIndices,
    negativeIndices,
    numPositive,
    numNegative,
    positiveMask: maskOf(positiveIndices, n),
    negativeMask: maskOf(negativeIndices, n),
  }
}
