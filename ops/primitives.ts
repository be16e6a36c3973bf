/**
 * The table of every primitive, by name. Backends and transformations do not need it (bind takes the
 * rule record itself); it exists so that whatever must cover *all* primitives — the gradient-coverage
 * test today, the WGSL lowering table and the jit IR printer next — can be typed as
 * `{ [P in PrimitiveName]: ... }` and fail to compile when a primitive is added without its entry.
 */
import { deformSampleRule, deformSampleTransposeRule } from './detection/deform-sample.js'
import { decodeHeatmapsRule } from './detection/keypoints-decode.js'
import { pasteMasksRule } from './detection/masks.js'
import { nmsRule } from './detection/nms.js'
import { roiAlignBackwardRule, roiAlignRotatedBackwardRule, roiAlignRotatedRule, roiAlignRule } from './detection/roi-align.js'
import { binaryRules, castRule, whereRule } from './elementwise/binary.js'
import { unaryRules } from './elementwise/unary.js'
import { scatterAddRule, takeAlongAxisRule } from './gather/along-axis.js'
import { gatherRule, indexAddRule, scatterAddNdRule, takeRule } from './gather/gather-nd.js'
import { nonzeroRule } from './gather/nonzero.js'
import { conv2dInputGradRule, conv2dRule, conv2dWeightGradRule } from './linalg/conv.js'
import { matmulRule } from './linalg/matmul.js'
import { poolScatterRule, poolSelectRule } from './pool/max.js'
import { randomBitsRule, unitFloatRule } from './random/bits.js'
import { erfInvRule } from './random/erfinv.js'
import { sortByWordsRule } from './random/shuffle.js'
import { threefryRule } from './random/threefry.js'
import { argmaxRule, argminRule } from './reduce/arg.js'
import { reduceMaxRule, reduceMinRule } from './reduce/chooser.js'
import { cumsumRule } from './reduce/cumsum.js'
import { reduceAllRule, reduceAnyRule } from './reduce/logical.js'
import { reduceProdRule } from './reduce/prod.js'
import { reduceSumRule } from './reduce/sum.js'
import { resample2dRule, resample2dTransposeRule } from './resize/resample.js'
import { broadcastToRule, reshapeRule, transposeRule } from './shape/basic.js'
import { flipRule } from './shape/flip.js'
import { concatRule, padRule, sliceRule } from './shape/slice.js'
import { sortRule } from './sort/sort.js'
import { stopGradientRule } from './transforms.js'

export const primitives = {
  ...unaryRules,
  ...binaryRules,
  cast: castRule,
  where: whereRule,
  stopGradient: stopGradientRule,
  reduceSum: reduceSumRule,
  reduceMax: reduceMaxRule,
  reduceMin: reduceMinRule,
  reduceProd: reduceProdRule,
  reduceAll: reduceAllRule,
  reduceAny: reduceAnyRule,
  argmax: argmaxRule,
  argmin: argminRule,
  cumsum: cumsumRule,
  reshape: reshapeRule,
  broadcastTo: broadcastToRule,
  transpose: transposeRule,
  slice: sliceRule,
  pad: padRule,
  concat: concatRule,
  flip: flipRule,
  take: takeRule,
  indexAdd: indexAddRule,
  gather: gatherRule,
  scatterAddNd: scatterAddNdRule,
  takeAlongAxis: takeAlongAxisRule,
  scatterAdd: scatterAddRule,
  nonzero: nonzeroRule,
  sort: sortRule,
  matmul: matmulRule,
  conv2d: conv2dRule,
  conv2dInputGrad: conv2dInputGradRule,
  conv2dWeightGrad: conv2dWeightGradRule,
  poolSelect: poolSelectRule,
  poolScatter: poolScatterRule,
  resample2d: resample2dRule,
  resample2dTranspose: resample2dTransposeRule,
  threefry2x32: threefryRule,
  randomBits: randomBitsRule,
  unitFloat: unitFloatRule,
  erfInv: erfInvRule,
  sortByWords: sortByWordsRule,
  nms: nmsRule,
  roiAlign: roiAlignRule,
  roiAlignBackward: roiAlignBackwardRule,
  roiAlignRotated: roiAlignRotatedRule,
  roiAlignRotatedBackward: roiAlignRotatedBackwardRule,
  deformSample: deformSampleRule,
  deformSampleTranspose: deformSampleTransposeRule,
  pasteMasks: pasteMasksRule,
  heatmapsToKeypoints: decodeHeatmapsRule,
} as const

export type PrimitiveName = keyof typeof primitives
