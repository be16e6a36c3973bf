/**
 * Memory on the GPU. Buffers belong to the runtime: a tensor's buffer returns to the pool when the
 * tensor is garbage-collected, and the runtime requests a full collection whenever live GPU bytes have
 * grown by 64 MiB (V8 cannot see GPU bytes; see core/backend/webgpu/pressure.ts). Finalizers run only
 * when the event loop turns, so a loop that never yields must wrap each iteration in `scope` (or use
 * `jit`); `dispose` frees a tree of tensors at once. Both are no-ops on the CPU.
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
