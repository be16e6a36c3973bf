/**
 * Pytrees: plain nested arrays and objects whose leaves are tensors (or any other non-container value).
 * Like JAX, object keys are visited in sorted order and `null`/`undefined` are empty subtrees, so two
 * trees with the same keys flatten identically whatever order the keys were written in.
 */
import { fail } from './errors.js'
import { isTensor } from './tensor.js'

export type TreeDef =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'none'; readonly value: null | undefined }
  | { readonly kind: 'array'; readonly children: readonly TreeDef[] }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly children: readonly TreeDef[] }

const isPlainObject = (x: unknown): x is Record<string, unknown> => {
  if (typeof x !== 'object' || x === null || Array.isArray(x) || isTensor(x)) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

/** Leaves in depth-first order and the structure needed to rebuild the tree. */
export const treeFlatten = (tree: unknown): [unknown[], TreeDef] => {
  const leaves: unknown[] = []
  const walk = (x: unknown): TreeDef => {
    if (x === null || x === undefined) return { kind: 'none', value: x }
    if (Array.isArray(x)) return { kind: 'array', children: x.map(walk) }
    if (isPlainObject(x)) {
      const keys = Object.keys(x).sort()
      return { kind: 'object', keys, children: keys.map((k) => walk(x[k])) }
    }
    leaves.push(x)
    return { kind: 'leaf' }
  }
  const def = walk(tree)
  return [leaves, def]
}

export const treeLeaves = (tree: unknown): unknown[] => treeFlatten(tree)[0]

export const treeStructure = (tree: unknown): TreeDef => treeFlatten(tree)[1]

export const countLeaves = (def: TreeDef): number =>
  def.kind === 'leaf' ? 1 : def.kind === 'none' ? 0 : def.children.reduce((n, c) => n + countLeaves(c), 0)

/** Rebuilds a tree of structure `def` from `leaves` (depth-first order). */
export const treeUnflatten = <T = unknown>(def: TreeDef, leaves: readonly unknown[]): T => {
  const expected = countLeaves(def)
  if (leaves.length !== expected) fail('treeUnflatten', `structure has ${expected} leaves but ${leaves.length} were given`)
  let i = 0
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'leaf':
        return leaves[i++]
      case 'none':
        return d.value
      case 'array':
        return d.children.map(build)
      case 'object':
        return Object.fromEntries(d.keys.map((k, j) => [k, build(d.children[j]!)]))
      default:
        return d satisfies never
    }
  }
  return build(def) as T
}

/** A short text form of a structure, e.g. `{a:*,b:[*,*]}`; equal strings mean equal structures. */
export const treeDefString = (def: TreeDef): string => {
  switch (def.kind) {
    case 'leaf':
      return '*'
    case 'none':
      return String(def.value)
    case 'array':
      return `[${def.children.map(treeDefString).join(',')}]`
    case 'object':
      return `{${def.keys.map((k, j) => `${JSON.stringify(k)}:${treeDefString(def.children[j]!)}`).join(',')}}`
    default:
      return def satisfies never
  }
}

/**
 * Maps `fn` over the leaves of `tree`; `rest` trees must have the same structure and contribute the
 * corresponding leaves as extra arguments.
 */
export const treeMap = <R>(fn: (leaf: any, ...rest: any[]) => R, tree: unknown, ...rest: unknown[]): any => {
  const [leaves, def] = treeFlatten(tree)
  const key = treeDefString(def)
  const others = rest.map((r, k) => {
    const [l, d] = treeFlatten(r)
    const otherKey = treeDefString(d)
    if (otherKey !== key) fail('treeMap', `tree ${k + 1} has structure ${otherKey}, expected ${key}`)
    return l
  })
  return treeUnflatten(def, leaves.map((leaf, i) => fn(leaf, ...others.map((o) => o[i]))))
}

/**
 * Leaves with PyTorch-style dotted names: object keys and array indices joined by '.', in flatten order
 * (`{ res2: [{ conv1: { weight } }] }` → `res2.0.conv1.weight`). This is how param trees map to
 * checkpoint keys.
 */
export const treeFlattenNamed = (tree: unknown): [string, unknown][] => {
  const out: [string, unknown][] = []
  const walk = (x: unknown, path: string): void => {
    const [, def] = treeFlatten(x)
    if (def.kind === 'leaf') {
      out.push([path, x])
      return
    }
    if (def.kind === 'none') return
    if (Array.isArray(x)) x.forEach((c, i) => walk(c, path === '' ? String(i) : `${path}.${i}`))
    else for (const k of Object.keys(x as object).sort()) walk((x as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`)
  }
  walk(tree, '')
  return out
}

/** Rebuilds a tree of the same structure as `like` from a name → leaf table; reports missing names. */
export const treeUnflattenNamed = <T>(like: T, values: ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>): T => {
  const get = (name: string): unknown => (values instanceof Map ? values.get(name) : (values as Record<string, unknown>)[name])
  const named = treeFlattenNamed(like)
  const missing = named.filter(([name]) => get(name) === undefined).map(([name]) => name)
  if (missing.length > 0) fail('treeUnflattenNamed', `missing ${missing.length} leaves: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`)
  return treeUnflatten<T>(treeStructure(like), named.map(([name]) => get(name)))
}
