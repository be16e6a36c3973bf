/** Elementwise ops and their composites. */
export * from './binary.js'
export * from './unary.js'
export * from './composite.js'
