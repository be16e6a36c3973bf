/**
 * Every public op, grouped by family. Each family folder owns its primitives' rule records.
 */
export * from './creation.js'
export * from './readback.js'
export * from './transforms.js'
export * from './memory.js'
export * from './elementwise/index.js'
export * from './reduce/index.js'
export * from './shape/index.js'
export * from './gather/index.js'
export * from './sort/index.js'
export * from './nn/index.js'
export * from './linalg/index.js'
export * from './pool/index.js'
export * from './resize/index.js'
export * as random from './random/index.js'
export type { TensorLike } from './operand.js'
