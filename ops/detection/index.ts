/**
 * Detection numerics on tensors: box overlaps, rotated IoU, anchors, box codings, matching, sampling and
 * the detection losses. Structures (boxes as records of functions, image lists) live in models/structures.
 */
export { boxArea, boxIntersection, boxIou, boxIoa, matchedBoxIou } from './box-iou.js'
export { rotatedBoxIou } from './rotated-iou.js'
export { wrapDegrees } from './angles.js'
export { defaultAnchorGenerator, rotatedAnchorGenerator, generateCellAnchors, generateRotatedCellAnchors, broadcastAnchorParams } from './anchors.js'
export type { AnchorGenerator, AnchorGeneratorOptions, RotatedAnchorGeneratorOptions, PerLevel } from './anchors.js'
export { box2boxTransform, box2boxTransformRotated, box2boxTransformLinear, fcosCenternessTargets, DEFAULT_SCALE_CLAMP } from './box-coding.js'
export type { BoxCoding, Box2BoxOptions, Box2BoxRotatedOptions, Box2BoxLinearOptions } from './box-coding.js'
export { matcher } from './matcher.js'
export type { MatcherOptions, MatchResult } from './matcher.js'
export { subsampleLabels } from './sampling.js'
export type { SampledLabels } from './sampling.js'
export { smoothL1Loss, giouLoss, diouLoss, ciouLoss } from './losses-box.js'
export type { SmoothL1Options, IouLossOptions } from './losses-box.js'
export { sigmoidFocalLoss, softmaxCrossEntropy, sigmoidCrossEntropy } from './losses-cls.js'
export type { FocalLossOptions, SoftmaxCrossEntropyOptions } from './losses-cls.js'
export { weightReduceLoss, weightedLoss } from './loss-reduce.js'
export type { Reduction, LossOptions, WeightedLossOptions } from './loss-reduce.js'
export { nms, batchedNms, nmsRotated, batchedNmsRotated } from './nms.js'
export type { NmsOptions, NmsResult } from './nms.js'
