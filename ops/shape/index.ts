/** Shape and indexing ops. */
export { reshape, broadcastTo, transpose, moveAxis } from './basic.js'
export { concat } from './slice.js'
export { stack } from './index-axis.js'
