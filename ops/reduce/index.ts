/** Reductions. */
export { sum } from './sum.js'
