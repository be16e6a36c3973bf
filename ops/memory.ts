/**
 * Memory on the GPU. Buffers belong to the runtime: a tensor's buffer returns to the pool when the
 * tensor is garbage-collected, which is enough for straight-line code. It is not enough for loops: V8
 * collects tensors only in full GCs, which it schedules by JS-heap growth without seeing GPU bytes, so
 * a loop of eager ops can hold thousands of dropped tensors (awaiting or not). Wrap each iteration in
 * `scope` (or use `jit`) to bound memory; `dispose` frees a tree of tensors at once. Both are no-ops
 * on the CPU.
 */
import { disposeAll, scope as scopeCore } from '../core/backend/registry.js'
import { treeLeaves } from '../core/tree.js'

/**
 * Runs `fn`; every WebGPU buffer created inside is released at the end unless it belongs to a tensor in
 * `fn`'s result (any pytree). Using a released tensor afterwards fails with a clear message.
 */
export const scope = <R>(fn: () => R): R => scopeCore(fn, treeLeaves)

/** Releases the WebGPU buffers of every tensor in `tree` now. */
export const dispose = (tree: unknown): void => disposeAll(treeLeaves(tree))
