/**
 * Explicit, splittable PRNG keys (`F.random.key(0)`): counter-based threefry2x32 streams, so the same key
 * gives the same numbers on every backend and no global state exists anywhere. See keys.ts for the rules.
 */
export { key, split, splitKeys, foldIn } from './keys.js'
export { bits, uniform, normal, bernoulli, permutation } from './sample.js'
export { threefry2x32 } from './threefry.js'
