/**
 * detectron2's registries (plus mmdetection's NECK and LOSS) grouped in one record, and `buildModel`.
 * A factory receives the config and the registries and returns a component (a layer, a loss function,
 * …); a META_ARCH factory builds its parts by name with `buildComponent`, exactly as detectron2's
 * `build_backbone(cfg)` looks up `cfg.MODEL.BACKBONE.NAME`, but in the table it was handed rather than a
 * global one. Build-time failures (an unknown name, a factory that throws, e.g. on a shape mismatch)
 * come back from `buildModel` as `Left` values.
 */
import * as E from 'fp-ts/Either'
import type { Config } from './config/defaults.js'
import type { BuildError, RegistryError } from './errors.js'
import { createRegistry, type RegisterOptions, type Registry } from './registry.js'

/**
 * A component factory: `(cfg, registries, ...args) → component`. Extra arguments are what the caller
 * passes (detectron2 passes `input_shape`, a ShapeSpec record). Typed loosely on purpose, like the
 * models' param trees: each folder's factories state their own argument and result types.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Factory = (cfg: Config, registries: Registries, ...args: any[]) => any

export const REGISTRY_NAMES = [
  'META_ARCH',
  'BACKBONE',
  'PROPOSAL_GENERATOR',
  'RPN_HEAD',
  'ANCHOR_GENERATOR',
  'ROI_HEADS',
  'ROI_BOX_HEAD',
  'ROI_MASK_HEAD',
  'ROI_KEYPOINT_HEAD',
  'SEM_SEG_HEAD',
  'NECK',
  'LOSS',
] as const

export type RegistryName = (typeof REGISTRY_NAMES)[number]

/** One registry per kind of component; a new record whenever anything is registered. */
export type Registries = { readonly [K in RegistryName]: Registry<Factory> }

/** Every registry, empty. fovea's built-in components are registered into a copy of this by `models/`. */
export const emptyRegistries: Registries = Object.freeze(
  Object.fromEntries(REGISTRY_NAMES.map((n) => [n, createRegistry<Factory>(n)])) as Registries,
)

/** A factory, or a factory with a one-line description for `describe`. */
export type TableEntry = Factory | { readonly factory: Factory; readonly doc?: string }

/**
 * Registers many factories at once: `registerAll(regs, { BACKBONE: { ToyBackbone: buildToy } })` → new
 * registries, or the first duplicate/unknown registry as a `Left`. This is what a user's file exports
 * (wrapped in a `register` function) for `custom_imports` to call.
 */
export const registerAll = (
  registries: Registries,
  table: { readonly [K in RegistryName]?: { readonly [name: string]: TableEntry } },
  options: Pick<RegisterOptions, 'override'> = {},
): E.Either<RegistryError, Registries> => {
  let out: Registries = registries
  for (const [registryName, entries] of Object.entries(table)) {
    if (!(REGISTRY_NAMES as readonly string[]).includes(registryName)) {
      return E.left({
        kind: 'RegistryError',
        registry: registryName,
        name: registryName,
        known: [...REGISTRY_NAMES].sort(),
        message: `no registry named "${registryName}"; the registries are ${[...REGISTRY_NAMES].sort().join(', ')}`,
      })
    }
    const key = registryName as RegistryName
    for (const [name, entry] of Object.entries(entries ?? {})) {
      const [factory, doc] = typeof entry === 'function' ? [entry, undefined] : [entry.factory, entry.doc]
      const next = out[key].register(name, factory, { ...options, ...(doc !== undefined ? { doc } : {}) })
      if (E.isLeft(next)) return next
      out = Object.freeze({ ...out, [key]: next.right })
    }
  }
  return E.right(out)
}

type Failure = Error & { readonly failure: RegistryError | BuildError }
const isFailure = (e: unknown): e is Failure => e instanceof Error && 'failure' in e
const failure = (record: RegistryError | BuildError): Failure => Object.assign(new Error(record.message), { failure: record })

/**
 * Inside a factory: looks up `name` in registry `kind` and runs it with `(cfg, registries, ...args)`.
 * Failures propagate (as a thrown record that `buildModel` turns back into a `Left`), with the chain of
 * components in the message: `META_ARCH.Toy > BACKBONE.Bad: <what the factory threw>`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const buildComponent = (registries: Registries, kind: RegistryName, name: string, cfg: Config, ...args: any[]): any => {
  const factory = registries[kind].lookup(name)
  if (E.isLeft(factory)) throw failure(factory.left)
  const here = `${kind}.${name}`
  try {
    return factory.right(cfg, registries, ...args)
  } catch (e) {
    if (isFailure(e)) {
      if (e.failure.kind === 'RegistryError') throw e
      throw failure({ ...e.failure, path: [here, ...e.failure.path], message: `${here} > ${e.failure.message}` })
    }
    const text = e instanceof Error ? e.message : String(e)
    throw failure({ kind: 'BuildError', path: [here], message: `${here}: ${text}`, cause: e })
  }
}

/**
 * Builds the model a config names: `cfg.MODEL.META_ARCHITECTURE` (detectron2's key) is looked up in
 * `registries.META_ARCH` and called with `(cfg, registries)`. `T` is the type the caller expects back;
 * the registry cannot check it.
 */
export const buildModel = <T = unknown>(cfg: Config, registries: Registries): E.Either<RegistryError | BuildError, T> => {
  try {
    return E.right(buildComponent(registries, 'META_ARCH', cfg.MODEL.META_ARCHITECTURE, cfg) as T)
  } catch (e) {
    if (isFailure(e)) return E.left(e.failure)
    throw e
  }
}
