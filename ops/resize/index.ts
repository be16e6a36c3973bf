/** Resizing: interpolate (nearest, bilinear), built on the separable resample2d primitive pair. */
export { interpolate } from './interpolate.js'
export type { InterpolateMode, InterpolateOptions } from './interpolate.js'
