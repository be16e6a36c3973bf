/** Indexing: take, takeAlongAxis, gather (gather_nd), scatterAdd, nonzero. */
export { take, gather } from './gather-nd.js'
export { takeAlongAxis, scatterAdd } from './along-axis.js'
export { nonzero } from './nonzero.js'
