/** Reductions. */
export { sum } from './sum.js'
export { max, min } from './chooser.js'
export { argmax, argmin } from './arg.js'
export { prod } from './prod.js'
export { all, any } from './logical.js'
export { cumsum } from './cumsum.js'
export type { CumsumOptions } from './cumsum.js'
export { mean, variance, logsumexp } from './stats.js'
