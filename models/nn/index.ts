/**
 * `models/nn`: layers as (init, apply) records, initializers, norms, combinators and param-tree
 * utilities. Exported from the package root as the `nn` namespace (`F.nn.conv2d({ ... })`).
 */
export * from './layer.js'
export { type Activation, inferShape, shapeOf } from './shapes.js'
export * from './init.js'
export * from './stateless.js'
export * from './norm.js'
export * from './linear.js'
export * from './combinators.js'
export * from './params.js'
