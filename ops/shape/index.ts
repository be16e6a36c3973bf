/** Shape and indexing ops. */
export { reshape, broadcastTo, transpose, moveAxis } from './basic.js'
export { concat, slice, pad, split } from './slice.js'
export { stack } from './index-axis.js'
export { expandDims, squeeze } from './axes.js'
export { flip } from './flip.js'
export { tile, repeat } from './repeat.js'
