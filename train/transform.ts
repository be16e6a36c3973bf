/**
 * Optimizers as pairs of pure functions (optax's `GradientTransformation`): `init(params) → state` and
 * `update(updates, state, params) → [updates, newState]`. A transformation rewrites a gradient tree into an
 * update tree; `applyUpdates` adds it to the params. Updates are *added* (optax's convention), so the
 * learning-rate step at the end of a chain flips the sign. States are pytrees of tensors only, so an
 * optimizer state can be jitted through and written to a checkpoint like any other tree.
 */
import { fail } from '../core/errors.js'
import { type Tensor, isTensor } from '../core/tensor.js'
import { treeFlatten, treeFlattenNamed, treeMap, treeUnflatten } from '../core/tree.js'
import { add } from '../ops/index.js'

/**
 * `init(params)` builds the state (a pytree of tensors); `update(updates, state, params?)` returns the
 * rewritten updates (same tree structure as `updates`) and the next state. `params` is needed only by
 * transforms that read the weights (weight decay).
 */
export type GradientTransformation<S = unknown> = {
  readonly init: (params: unknown) => S
  readonly update: <T>(updates: T, state: S, params?: T) => readonly [T, S]
}

/**
 * A per-parameter setting: one value for every leaf, a function of the leaf's dotted name
 * (`F.treeFlattenNamed`, e.g. `backbone.res2.0.conv1.norm.weight`) and the leaf, or a tree of values with
 * the same structure as the params (optax-style masks).
 */
export type PerParam<T extends number | boolean> = T | ((name: string, leaf: Tensor) => T) | object

/** The setting of every leaf of `tree`, in flatten order. */
export const resolvePerParam = <T extends number | boolean>(op: string, setting: PerParam<T>, tree: unknown): T[] => {
  if (typeof setting === 'number' || typeof setting === 'boolean') return treeFlatten(tree)[0].map(() => setting as T)
  if (typeof setting === 'function') {
    const fn = setting as (name: string, leaf: Tensor) => T
    return treeFlattenNamed(tree).map(([name, leaf]) => fn(name, leaf as Tensor))
  }
  const [values] = treeFlatten(setting)
  const names = treeFlattenNamed(tree)
  if (values.length !== names.length) fail(op, `the per-parameter tree has ${values.length} leaves but the params have ${names.length}; give one value per parameter, a single value, or a function of the dotted name`)
  values.forEach((v, i) => {
    if (typeof v !== 'number' && typeof v !== 'boolean') fail(op, `per-parameter value for ${names[i]![0]} is ${typeof v}; expected a number or boolean`)
  })
  return values as T[]
}

/** Maps over the leaves of `tree` with each leaf's flatten index; keeps the structure. */
export const mapLeaves = <T>(tree: T, fn: (leaf: Tensor, i: number) => Tensor): T => {
  const [leaves, def] = treeFlatten(tree)
  return treeUnflatten<T>(def, leaves.map((leaf, i) => fn(leaf as Tensor, i)))
}

/** Checks that every leaf of an update tree is a tensor (a stray number or string fails early and by name). */
export const expectTensorTree = (op: string, tree: unknown, what: string): void => {
  for (const [name, leaf] of treeFlattenNamed(tree)) {
    if (!isTensor(leaf)) fail(op, `${what} leaf ${name === '' ? '(root)' : name} is ${typeof leaf}, not a tensor`)
  }
}

/**
 * Runs transformations one after another (optax `chain`): each sees the previous one's updates. The state
 * is the array of the children's states, so its dotted names are `0.…`, `1.…` in chain order.
 */
export const chain = (...transforms: readonly GradientTransformation<any>[]): GradientTransformation<readonly unknown[]> => ({
  init: (params) => transforms.map((t) => t.init(params)),
  update: (updates, state, params) => {
    if (!Array.isArray(state) || state.length !== transforms.length) fail('chain', `expected a state array of ${transforms.length} entries (one per transform), got ${Array.isArray(state) ? `${state.length} entries` : typeof state}`)
    let current = updates
    const next = transforms.map((t, i) => {
      const [u, s] = t.update(current, state[i], params)
      current = u
      return s
    })
    return [current, next] as const
  },
})

/** The transformation that changes nothing (no state). */
export const identity = (): GradientTransformation<Record<string, never>> => ({
  init: () => ({}),
  update: (updates, state) => [updates, state] as const,
})

/** params + updates, leaf by leaf; the two trees must have the same structure. */
export const applyUpdates = <T>(params: T, updates: T): T => treeMap((p: Tensor, u: Tensor) => add(p, u), params, updates) as T
