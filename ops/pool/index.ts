/** Pooling: maxPool2d (the poolSelect/poolScatter pair in max.ts), avgPool2d and adaptiveAvgPool2d (resample2d), adaptiveMaxPool2d (bin maxima). */
export { maxPool2d } from './max.js'
export type { MaxPoolOptions } from './max.js'
export { avgPool2d, adaptiveAvgPool2d } from './avg.js'
export type { AvgPoolOptions } from './avg.js'
export { adaptiveMaxPool2d } from './adaptive-max.js'
