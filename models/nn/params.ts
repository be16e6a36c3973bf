/**
 * Functions of param and state trees: counting, golden shape summaries (STYLE 10) and freezing.
 *
 * Freezing (detectron2's `freeze_at`) is a *partition* of the param tree, not a move into state: a
 * layer's apply reads its weights from `params`, so moving them elsewhere would make every layer look in
 * two places. `freezeAt` splits params into `trainable` and `frozen` trees of the same structure (`null`
 * where the other tree holds the leaf); differentiate and optimize `trainable` only and rebuild the full
 * tree with `combine(trainable, frozen)` inside the loss. `null` is an empty subtree to every pytree
 * function, so optimizers and `grad` never see the frozen leaves and checkpoint names stay the same.
 * (detectron2 also turns BatchNorm in frozen stages into FrozenBatchNorm; that changes the layer, so a
 * backbone builds its frozen stages with `norm: 'FrozenBN'`.)
 */
import { fail } from '../../core/errors.js'
import { describe, size } from '../../core/shape.js'
import { type Tensor, isTensor } from '../../core/tensor.js'
import { treeFlatten, treeFlattenNamed, treeUnflatten } from '../../core/tree.js'
import type { Params, State } from './layer.js'

const tensorsNamed = (tree: unknown): [string, Tensor][] => treeFlattenNamed(tree).filter((e): e is [string, Tensor] => isTensor(e[1]))

/** The number of scalars in the tensor leaves of `params` (e.g. 11,689,512 for torchvision's ResNet-18). */
export const numParams = (params: Params): number => tensorsNamed(params).reduce((n, [, t]) => n + size(t.shape), 0)

/**
 * `{ "res2.0.conv1.weight": "f32[64,64,1,1]", … }` over the union of `params` and `state` (the checkpoint
 * key space), sorted by name. Compare it with a committed JSON to catch a rename that would break every
 * checkpoint. A name present in both trees is an error.
 */
export const paramShapes = (params: Params, state: State = {}): Record<string, string> => {
  const entries = [...tensorsNamed(params), ...tensorsNamed(state)]
  const seen = new Set<string>()
  for (const [name] of entries) {
    if (seen.has(name)) fail('paramShapes', `'${name}' is in both params and state`)
    seen.add(name)
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Object.fromEntries(entries.map(([name, t]) => [name, describe(t.shape, t.dtype)]))
}

/** Which leaves to freeze: a predicate of the dotted name (and leaf), or a list of name prefixes. */
export type FreezeSpec = ((name: string, leaf: Tensor) => boolean) | readonly string[]

/** `true` when `name` is `prefix` or lies under it (`res2` matches `res2.0.conv1.weight`, not `res20.x`). */
export const hasPrefix = (name: string, prefix: string): boolean => prefix === '' || name === prefix || name.startsWith(`${prefix}.`)

const predicateOf = (which: FreezeSpec): ((name: string, leaf: Tensor) => boolean) =>
  typeof which === 'function' ? which : (name) => which.some((p) => hasPrefix(name, p))

/** Leaves of `params` in flatten order with their dotted names (same order as `treeFlatten`). */
const namedLeaves = (params: Params): { leaves: unknown[]; names: (string | null)[] } => {
  const [leaves] = treeFlatten(params)
  const named = treeFlattenNamed(params)
  if (named.length !== leaves.length) fail('freezeAt', 'params tree has leaves that cannot be named')
  return { leaves, names: named.map(([n]) => n) }
}

/**
 * Partitions `params` by `which` into `{ trainable, frozen }`, both shaped like `params`, with `null`
 * in place of the leaves the other tree holds. detectron2's `freeze_at = k` is the prefix list
 * `stagePrefixes(k)`. Example: `freezeAt(params, ['backbone.bottom_up.stem', 'backbone.bottom_up.res2'])`.
 */
export const freezeAt = (params: Params, which: FreezeSpec): { readonly trainable: Params; readonly frozen: Params } => {
  const frozenLeaf = predicateOf(which)
  const [leaves, def] = treeFlatten(params)
  const { names } = namedLeaves(params)
  const isFrozen = leaves.map((leaf, i) => isTensor(leaf) && frozenLeaf(names[i]!, leaf))
  return {
    trainable: treeUnflatten(def, leaves.map((leaf, i) => (isFrozen[i] ? null : leaf))),
    frozen: treeUnflatten(def, leaves.map((leaf, i) => (isFrozen[i] ? leaf : null))),
  }
}

/** The same partition as a boolean tree (true = trainable), for optimizers that take a mask. */
export const trainableMask = (params: Params, which: FreezeSpec): Params => {
  const frozenLeaf = predicateOf(which)
  const [leaves, def] = treeFlatten(params)
  const { names } = namedLeaves(params)
  return treeUnflatten(def, leaves.map((leaf, i) => !(isTensor(leaf) && frozenLeaf(names[i]!, leaf))))
}

/** Inverse of `freezeAt`: takes each leaf from whichever tree has it (both must have the same structure). */
export const combine = (trainable: Params, frozen: Params): Params => {
  const walk = (a: unknown, b: unknown, path: string): unknown => {
    if (a === null || a === undefined) return b
    if (b === null || b === undefined) return a
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.map((x, i) => walk(x, b[i], path === '' ? String(i) : `${path}.${i}`))
    if (typeof a === 'object' && typeof b === 'object' && !isTensor(a) && !isTensor(b) && !Array.isArray(a) && !Array.isArray(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      return Object.fromEntries(keys.map((k) => [k, walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`)]))
    }
    return fail('combine', `both trees hold a value at '${path}'`)
  }
  return walk(trainable, frozen, '')
}

/**
 * detectron2's `freeze_at` stage numbering as name prefixes: 0 → none, 1 → `stem`, 2 → `stem`, `res2`,
 * … 5 → up to `res5`; `root` (e.g. `backbone.bottom_up`) is prepended.
 */
export const stagePrefixes = (freezeAt: number, root = ''): string[] =>
  ['stem', 'res2', 'res3', 'res4', 'res5'].slice(0, Math.max(0, freezeAt)).map((s) => (root === '' ? s : `${root}.${s}`))
