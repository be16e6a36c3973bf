/**
 * A registry is an immutable table from names to factories (detectron2's `Registry`, mmdetection's
 * `Registry`), without their global mutable state: registering returns a NEW registry and leaves the old
 * one untouched, so two configs in one process cannot see each other's components, and nothing is ever
 * registered by importing a module. A user registers from their own file by exporting a function that
 * takes registries and returns the extended ones (see `registerAll` in registries.ts and the README).
 *
 * The record's functions close over the frozen entry list; there is no `this` and no hidden table.
 */
import * as E from 'fp-ts/Either'
import { closestMatch, type RegistryError } from './errors.js'

export type RegistryEntry<F> = { readonly name: string; readonly factory: F; readonly doc?: string }

export type RegisterOptions = {
  /** Replace an entry of the same name instead of failing (a user's own `build_resnet_backbone`). */
  readonly override?: boolean
  /** One line shown by `describe`. */
  readonly doc?: string
}

export type Registry<F> = {
  readonly kind: 'Registry'
  readonly name: string
  /** In registration order; an override keeps the original position. */
  readonly entries: readonly RegistryEntry<F>[]
  /** A new registry with `name → factory` added; a duplicate name is a `Left` unless `override`. */
  readonly register: (name: string, factory: F, options?: RegisterOptions) => E.Either<RegistryError, Registry<F>>
  /** The factory registered as `name`, or a `Left` naming every registered name and the closest one. */
  readonly lookup: (name: string) => E.Either<RegistryError, F>
  /** The registered names, sorted. */
  readonly list: () => readonly string[]
  /** `BACKBONE.ToyBackbone: <doc>` for a registered name. */
  readonly describe: (name: string) => E.Either<RegistryError, string>
}

const registryError = (registry: string, name: string, known: readonly string[], message: string, closest?: string): RegistryError => ({
  kind: 'RegistryError',
  registry,
  name,
  message,
  known,
  ...(closest !== undefined ? { closest } : {}),
})

/** The `Left` for a name the registry does not hold: lists what it does hold and the nearest name. */
export const unknownName = (registry: string, name: string, known: readonly string[]): RegistryError => {
  if (known.length === 0) return registryError(registry, name, known, `${registry}: no entry named "${name}"; the registry is empty`)
  const closest = closestMatch(name, known)!
  return registryError(registry, name, known, `${registry}: no entry named "${name}"; did you mean "${closest}"? Registered: ${known.join(', ')}`, closest)
}

const fromEntries = <F>(name: string, entries: readonly RegistryEntry<F>[]): Registry<F> => {
  const frozen = Object.freeze(entries.map((e) => Object.freeze({ ...e })))
  const names = Object.freeze(frozen.map((e) => e.name).sort())
  const find = (key: string) => frozen.find((e) => e.name === key)
  const entry = (key: string): E.Either<RegistryError, RegistryEntry<F>> => {
    const hit = find(key)
    return hit === undefined ? E.left(unknownName(name, key, names)) : E.right(hit)
  }
  return Object.freeze({
    kind: 'Registry' as const,
    name,
    entries: frozen,
    register: (key: string, factory: F, options: RegisterOptions = {}) => {
      if (typeof key !== 'string' || key.length === 0) return E.left(registryError(name, String(key), names, `${name}: a registered name must be a non-empty string, got ${JSON.stringify(key)}`))
      if (typeof factory !== 'function') return E.left(registryError(name, key, names, `${name}: the factory registered as "${key}" must be a function, got ${typeof factory}`))
      const fresh: RegistryEntry<F> = { name: key, factory, ...(options.doc !== undefined ? { doc: options.doc } : {}) }
      if (find(key) === undefined) return E.right(fromEntries(name, [...frozen, fresh]))
      if (options.override !== true) return E.left(registryError(name, key, names, `${name}: "${key}" is already registered; pass { override: true } to replace it`))
      return E.right(fromEntries(name, frozen.map((e) => (e.name === key ? fresh : e))))
    },
    lookup: (key: string) => E.map((e: RegistryEntry<F>) => e.factory)(entry(key)),
    list: () => names,
    describe: (key: string) => E.map((e: RegistryEntry<F>) => `${name}.${e.name}: ${e.doc ?? '(no description)'}`)(entry(key)),
  })
}

/**
 * An empty registry called `name` (the name prefixes every message: `BACKBONE: no entry named …`).
 * `F` is the factory type the registry holds.
 */
export const createRegistry = <F>(name: string): Registry<F> => fromEntries<F>(name, [])
