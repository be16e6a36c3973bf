/**
 * fovea: a purely functional tensor DSL with automatic differentiation.
 * `import * as F from 'fovea'` gives the public API v0 (see DESIGN.md).
 */
export * from './ops/index.js'
export { setBackend, getBackend, backendInfo, initBackend } from './core/backend/registry.js'
export type { BackendName } from './core/backend/registry.js'
export type { BackendInfo, KernelTime } from './core/backend/backend.js'
export { profile } from './core/backend/profile.js'
export type { Profile, KernelSummary } from './core/backend/profile.js'
export { treeMap, treeLeaves, treeFlatten, treeUnflatten, treeStructure, treeFlattenNamed, treeUnflattenNamed } from './core/tree.js'
export type { TreeDef } from './core/tree.js'
export { isFoveaError } from './core/errors.js'
export type { FoveaError } from './core/errors.js'
export type { DType, TypedArray } from './core/dtype.js'
export type { Shape } from './core/shape.js'
export type { Tensor, Concrete, Tracer } from './core/tensor.js'
export * as train from './train/index.js'
export * as nn from './models/nn/index.js'
export * as io from './io/index.js'
export * as registry from './registry/index.js'
export * as structures from './models/structures/index.js'
