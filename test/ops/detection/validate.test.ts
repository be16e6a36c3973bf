/**
 * Boundary checks on box data (ops/detection/validate.ts): non-finite coordinates, inverted XYXY boxes,
 * negative rotated sizes, empty boxes when disallowed, and roi batch indices are refused with the op,
 * the shape, the first bad row and its values; valid and empty inputs pass.
 */
import { test } from 'uvu'
import * as F from '../../../index.js'
import * as D from '../../../ops/detection/index.js'
import { rejectsFovea } from '../../util/check.js'

test('valid boxes pass, including zero-area and zero rows', async () => {
  await D.validateBoxes(F.tensor([[0, 0, 10, 20], [5, 5, 5, 9]]))
  await D.validateBoxes(F.zeros([0, 4]))
  await D.validateBoxes(F.tensor([[10, 10, 4, 0, 30]]), { width: 5 })
})

test('NaN and Inf coordinates are refused with the first bad row and the count', async () => {
  await rejectsFovea(D.validateBoxes(F.tensor([[0, 0, 1, 1], [0, NaN, 2, 2], [Infinity, 0, 3, 3]])), 'validateBoxes', 'f32[3,4]', 'row 1 (0, NaN, 2, 2)', 'non-finite', '2 bad rows')
  await rejectsFovea(D.validateBoxes(F.tensor([[0, 0, 1, -Infinity]]), { op: 'rpn', what: 'proposals' }), 'rpn', 'proposals f32[1,4]', 'row 0')
})

test('inverted XYXY boxes, negative rotated sizes and (optionally) empty boxes are refused', async () => {
  await rejectsFovea(D.validateBoxes(F.tensor([[0, 0, 5, 5], [4, 0, 2, 3]])), 'row 1 (4, 0, 2, 3)', 'inverted')
  await rejectsFovea(D.validateBoxes(F.tensor([[0, 0, 2, -1, 45]]), { width: 5 }), 'f32[1,5]', 'negative size')
  await rejectsFovea(D.validateBoxes(F.tensor([[1, 1, 1, 4]]), { allowEmpty: false }), 'row 0', 'empty')
})

test('wrong layouts fail before any readback', async () => {
  await rejectsFovea(D.validateBoxes(F.zeros([3, 5])), 'validateBoxes', 'f32[N, 4]', 'f32[3,5]')
  await rejectsFovea(D.validateBoxes(F.zeros([4], 'int32')), 'validateBoxes', 'i32[4]')
})

test('rois: batch indices must be integers in range, boxes valid', async () => {
  await D.validateRois(F.tensor([[0, 0, 0, 4, 4], [1, 2, 2, 3, 8]]), 2)
  await rejectsFovea(D.validateRois(F.tensor([[0, 0, 0, 4, 4], [2, 0, 0, 1, 1]]), 2), 'validateRois', 'row 1', 'batch index 2', '[0, 2)')
  await rejectsFovea(D.validateRois(F.tensor([[0.5, 0, 0, 1, 1]]), 1), 'batch index 0.5')
  await rejectsFovea(D.validateRois(F.tensor([[0, 0, NaN, 1, 1]]), 1), 'row 0 (0, 0, NaN, 1, 1)', 'non-finite')
  await rejectsFovea(D.validateRois(F.zeros([2, 4]), 1), 'rois (batch index, x1, y1, x2, y2)', 'f32[N, 5]')
})

test.run()
