/**
 * Anchor generators. "d2" vectors are detectron2 tests/modeling/test_anchor_generator.py.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as D from '../../../ops/detection/index.js'
import { expectTensor, throwsFovea } from '../../util/check.js'

test('d2 test_default_anchor_generator (offset 0): cell order size-major, then location by location', async () => {
  const gen = D.defaultAnchorGenerator({ sizes: [[32, 64]], aspectRatios: [[0.25, 1, 4]], strides: [4], offset: 0 })
  assert.equal(gen.numAnchors, [6])
  const [anchors] = gen.anchors([[1, 2]])
  await expectTensor(anchors!, [
    [-32, -8, 32, 8], [-16, -16, 16, 16], [-8, -32, 8, 32], [-64, -16, 64, 16], [-32, -32, 32, 32], [-16, -64, 16, 64],
    [-28, -8, 36, 8], [-12, -16, 20, 16], [-4, -32, 12, 32], [-60, -16, 68, 16], [-28, -32, 36, 32], [-12, -64, 20, 64],
  ], {}, [12, 4])
})

test('d2 test_default_anchor_generator_centered (default offset 0.5, flat lists)', async () => {
  const gen = D.defaultAnchorGenerator({ sizes: [32, 64], aspectRatios: [0.25, 1, 4], strides: [4] })
  await expectTensor(gen.anchors([[1, 2]])[0]!, [
    [-30, -6, 34, 10], [-14, -14, 18, 18], [-6, -30, 10, 34], [-62, -14, 66, 18], [-30, -30, 34, 34], [-14, -62, 18, 66],
    [-26, -6, 38, 10], [-10, -14, 22, 18], [-2, -30, 14, 34], [-58, -14, 70, 18], [-26, -30, 38, 34], [-10, -62, 22, 66],
  ])
})

test('d2 test_rrpn_anchor_generator: angles innermost; shifts only move the centre', async () => {
  const gen = D.rotatedAnchorGenerator({ sizes: [[32, 64]], aspectRatios: [[0.25, 1, 4]], angles: [0, 45], strides: [4], offset: 0 })
  assert.is(gen.boxDim, 5)
  const cell = [[64, 16], [32, 32], [16, 64], [128, 32], [64, 64], [32, 128]].flatMap(([w, h]) => [[w!, h!, 0], [w!, h!, 45]])
  const expected = [0, 4].flatMap((x) => cell.map(([w, h, a]) => [x, 0, w, h, a]))
  await expectTensor(gen.anchors([[1, 2]])[0]!, expected, {}, [24, 5])
})

test('rows are locations in row-major order (y outer, x inner) on several levels with per-level params', async () => {
  const gen = D.defaultAnchorGenerator({ sizes: [[8], [16]], aspectRatios: [1], strides: [8, 16] })
  assert.equal(gen.numAnchors, [1, 1])
  const [p3, p4] = gen.anchors([[2, 3], [1, 1]])
  // Level 0: centres (4 + 8j, 4 + 8i) for i < 2, j < 3, each an 8×8 box.
  const centres = [0, 1].flatMap((i) => [0, 1, 2].map((j) => [4 + 8 * j, 4 + 8 * i]))
  await expectTensor(p3!, centres.map(([x, y]) => [x! - 4, y! - 4, x! + 4, y! + 4]), {}, [6, 4])
  await expectTensor(p4!, [[0, 0, 16, 16]], {}, [1, 4])
  const [empty] = D.defaultAnchorGenerator({ sizes: [8], aspectRatios: [1], strides: [8] }).anchors([[0, 5]])
  assert.equal([...empty!.shape], [0, 4])
  await expectTensor(gen.cellAnchors()[1]!, [[-8, -8, 8, 8]])
})

test('broadcastAnchorParams follows detectron2 _broadcast_params', () => {
  assert.equal(D.broadcastAnchorParams('t', [32, 64], 3, 'sizes'), [[32, 64], [32, 64], [32, 64]])
  assert.equal(D.broadcastAnchorParams('t', [[32, 64]], 2, 'sizes'), [[32, 64], [32, 64]])
  assert.equal(D.broadcastAnchorParams('t', [[32], [64]], 2, 'sizes'), [[32], [64]])
  throwsFovea(() => D.broadcastAnchorParams('t', [[32], [64]], 3, 'sizes'), 't', 'sizes for 2 levels', '3 feature levels')
  throwsFovea(() => D.broadcastAnchorParams('t', [], 3, 'sizes'), 't', 'non-empty')
})

test('generator settings are checked when it is built', () => {
  throwsFovea(() => D.defaultAnchorGenerator({ sizes: [32], aspectRatios: [1], strides: [4], offset: 1 }), 'defaultAnchorGenerator', 'offset', '[0, 1)')
  throwsFovea(() => D.defaultAnchorGenerator({ sizes: [32], aspectRatios: [1], strides: [] }), 'defaultAnchorGenerator', 'strides')
  throwsFovea(() => D.rotatedAnchorGenerator({ sizes: [[32], [64]], aspectRatios: [1], angles: [0], strides: [4, 8, 16] }), 'rotatedAnchorGenerator', 'sizes')
  const gen = D.defaultAnchorGenerator({ sizes: [32], aspectRatios: [1], strides: [4, 8] })
  throwsFovea(() => gen.anchors([[2, 2]]), 'defaultAnchorGenerator', 'expected 2 grid sizes')
  throwsFovea(() => gen.anchors([[2, 2], [1.5, 2]]), 'defaultAnchorGenerator', 'level 1')
})

test('generateCellAnchors keeps area size² and ratio h/w', async () => {
  const cells = await import('../../../index.js').then((F) => F.toArray(D.generateCellAnchors([10], [0.5, 2])))
  const [w0, h0] = [cells[2]! - cells[0]!, cells[3]! - cells[1]!]
  const [w1, h1] = [cells[6]! - cells[4]!, cells[7]! - cells[5]!]
  assert.ok(Math.abs(w0 * h0 - 100) < 1e-3 && Math.abs(h0 / w0 - 0.5) < 1e-6)
  assert.ok(Math.abs(w1 * h1 - 100) < 1e-3 && Math.abs(h1 / w1 - 2) < 1e-6)
  await expectTensor(D.generateRotatedCellAnchors([10], [1], [0, 90]), [[0, 0, 10, 10, 0], [0, 0, 10, 10, 90]])
})

test.run()
