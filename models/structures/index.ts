/**
 * Detection structures as records and functions: boxes, rotated boxes, masks' geometry, image lists.
 */
export { clipBoxes, nonemptyBoxes, scaleBoxes, boxCenters, insideBox, boxArea, boxIntersection, boxIou, boxIoa, matchedBoxIou } from './boxes.js'
export { convertBoxMode } from './box-mode.js'
export type { BoxMode } from './box-mode.js'
export {
  rotatedBoxArea, normalizeRotatedAngles, clipRotatedBoxes, nonemptyRotatedBoxes, rotatedToHorizontal, scaleRotatedBoxes, rotatedBoxIou,
} from './rotated-boxes.js'
export { bitMasksToBoxes, polygonArea } from './masks.js'
export { imageListFromTensors, imageListImage } from './image-list.js'
export type { ImageList, PaddingConstraints } from './image-list.js'
