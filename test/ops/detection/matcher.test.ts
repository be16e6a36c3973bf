/**
 * The matcher. The first vector is detectron2 tests/modeling/test_matcher.py (RPN defaults: thresholds
 * [0.3, 0.7], labels [0, -1, 1], low-quality matches on); the others pin the boundary, tie and
 * empty-ground-truth rules of detectron2/modeling/matcher.py.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { expectTensor, throwsFovea } from '../../util/check.js'

const rpn = { thresholds: [0.3, 0.7], labels: [0, -1, 1] }
const d2Quality = () => F.tensor([[0.15, 0.45, 0.2, 0.6], [0.3, 0.65, 0.05, 0.1], [0.05, 0.4, 0.25, 0.4]])

test('d2 test_matcher: RPN thresholds with low-quality matches', async () => {
  const { matches, matchLabels } = D.matcher({ ...rpn, allowLowQualityMatches: true })(d2Quality())
  assert.is(matches.dtype, 'int32')
  assert.is(matchLabels.dtype, 'int32')
  await expectTensor(matches, [1, 1, 2, 0])
  await expectTensor(matchLabels, [-1, 1, 0, 1])
})

test('without low-quality matches the labels come from the intervals alone; 0.3 sits in [0.3, 0.7)', async () => {
  const { matchLabels } = D.matcher(rpn)(d2Quality())
  await expectTensor(matchLabels, [-1, -1, 0, -1])
})

test('a quality exactly at a threshold takes the upper interval', async () => {
  const m = D.matcher({ thresholds: [0.4, 0.5, 0.7], labels: [0, -1, -1, 1] })
  const q = F.tensor([[0.4, Math.fround(0.4) - 2 ** -25, 0.5, 0.7, Math.fround(0.7) - 2 ** -24, 1, 0]])
  const { matchLabels } = m(q)
  await expectTensor(matchLabels, [-1, 0, -1, 1, -1, 1, 0])
  // Equal consecutive thresholds make an empty interval: its label is never used.
  const { matchLabels: skip } = D.matcher({ thresholds: [0.5, 0.5], labels: [0, -1, 1] })(F.tensor([[0.49, 0.5, 0.6]]))
  await expectTensor(skip, [0, 1, 1])
})

test('ties: the lowest ground-truth index wins; low-quality ties all become positive', async () => {
  const q = F.tensor([[0.2, 0.4, 0.4, 0.1], [0.2, 0.3, 0.1, 0.1]])
  const { matches, matchLabels } = D.matcher({ ...rpn, allowLowQualityMatches: true })(q)
  await expectTensor(matches, [0, 0, 0, 0])
  // GT 0's best 0.4 at predictions 1 and 2 (a tie: both); GT 1's best 0.3 at prediction 1.
  await expectTensor(matchLabels, [0, 1, 1, 0])
})

test('a ground truth overlapping nothing makes every zero-quality prediction positive (as detectron2)', async () => {
  const q = F.tensor([[0.8, 0.0, 0.0], [0, 0, 0]])
  const { matchLabels } = D.matcher({ ...rpn, allowLowQualityMatches: true })(q)
  await expectTensor(matchLabels, [1, 1, 1])
})

test('no ground truth: matches 0 and labels[0]; no predictions: empty vectors', async () => {
  const { matches, matchLabels } = D.matcher(rpn)(F.zeros([0, 5]))
  await expectTensor(matches, [0, 0, 0, 0, 0], {}, [5])
  await expectTensor(matchLabels, [0, 0, 0, 0, 0], {}, [5])
  const ignoring = D.matcher({ thresholds: [0.1, 0.3, 0.5], labels: [-1, 0, -1, 1] })(F.zeros([0, 2]))
  await expectTensor(ignoring.matchLabels, [-1, -1])
  const none = D.matcher({ ...rpn, allowLowQualityMatches: true })(F.zeros([3, 0]))
  assert.equal([...none.matches.shape], [0])
  assert.equal([...none.matchLabels.shape], [0])
})

test('matcher runs under vmap over a batch of quality matrices and under jit', async () => {
  const m = D.matcher({ ...rpn, allowLowQualityMatches: true })
  const batch = F.stack([d2Quality(), F.tensor([[0.8, 0.1, 0.35, 0.0], [0.0, 0.0, 0.0, 0.9], [0.1, 0.2, 0.3, 0.4]])])
  const out = F.vmap((q: F.Tensor) => m(q))(batch)
  await expectTensor(out.matches, [[1, 1, 2, 0], [0, 2, 0, 1]])
  await expectTensor(out.matchLabels, [[-1, 1, 0, 1], [1, 0, -1, 1]])
  const jitted = F.jit((q: F.Tensor) => m(q))(d2Quality())
  await expectTensor(jitted.matchLabels, [-1, 1, 0, 1])
})

test('matcher options and inputs are checked', () => {
  throwsFovea(() => D.matcher({ thresholds: [0, 0.5], labels: [0, -1, 1] }), 'matcher', 'first threshold must be > 0')
  throwsFovea(() => D.matcher({ thresholds: [0.7, 0.3], labels: [0, -1, 1] }), 'matcher', 'non-decreasing')
  throwsFovea(() => D.matcher({ thresholds: [0.3, 0.7], labels: [0, 1] }), 'matcher', '3 values')
  throwsFovea(() => D.matcher({ thresholds: [0.5], labels: [0, 2] }), 'matcher', '{-1, 0, 1}')
  throwsFovea(() => D.matcher(rpn)(F.zeros([4])), 'matcher', 'f32[G, N]', 'f32[4]')
  throwsFovea(() => D.matcher(rpn)(F.zeros([2, 3], 'int32')), 'matcher', 'i32[2,3]')
})

test.run()
