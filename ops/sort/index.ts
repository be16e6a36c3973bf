/** Sorting: sort, argsort, topk (stable; NaN sorts as the largest value). */
export { sort, argsort, topk } from './sort.js'
