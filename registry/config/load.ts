/**
 * Loading a config: a chain of files (detectron2's `_BASE_`, mmdetection's `_base_`), the modules they
 * name in `custom_imports`, and command-line overrides, over the defaults. Steps, in order:
 *
 * 1. read the file and its bases depth-first (a base path is relative to the file naming it; a file that
 *    is its own ancestor is a cycle), giving layers base-first;
 * 2. import every `custom_imports` module once and call its `register(registries)`; a module may also
 *    export `configSpec` (a `node(...)`) to add keys its components read;
 * 3. check each layer against the (extended) spec — unknown keys and wrong types fail here with the
 *    file, key and line — and merge the layers in order (`_delete_: true` resets a section);
 * 4. apply the overrides, and freeze.
 *
 * The reserved top-level keys `_BASE_`, `_base_` and `custom_imports` are accepted in every format.
 */
import * as E from 'fp-ts/Either'
import { homedir } from 'node:os'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ConfigError, RegistryError } from '../errors.js'
import { emptyRegistries, REGISTRY_NAMES, type Registries } from '../registries.js'
import { DEFAULT_CONFIG, detectron2Spec, type Config } from './defaults.js'
import { extendSpec } from './extend.js'
import { readConfigFile } from './files.js'
import { mergePartial } from './merge.js'
import { applyOverrides, type Override } from './overrides.js'
import { deepFreeze, defaultsOf, type NodeSpec } from './spec.js'
import { configError, showValue, validateTree, type Source } from './validate.js'

const RESERVED = ['_BASE_', '_base_', 'custom_imports'] as const

type ImportRequest = { readonly specifier: string; readonly url: string; readonly source: Source; readonly allowFailed: boolean }
type Layer = { readonly tree: Record<string, unknown>; readonly source: Source; readonly imports: readonly ImportRequest[] }

export type LoadOptions = {
  /** `KEY VALUE` / `KEY=VALUE` words from a command line, applied last. */
  readonly overrides?: readonly string[] | readonly Override[]
  /** Registries that `custom_imports` modules register into (default: `emptyRegistries`). */
  readonly registries?: Registries
  /** The spec to check against (default: detectron2's). */
  readonly spec?: NodeSpec
}

export type LoadedConfig = {
  readonly cfg: Config
  /** `options.registries` plus whatever the config's `custom_imports` registered. */
  readonly registries: Registries
  /** The spec the config was checked against (extended by `configSpec` exports). */
  readonly spec: NodeSpec
  /** Every file read, bases first. */
  readonly files: readonly string[]
  /** Modules imported, and those skipped under `allow_failed_imports` with the reason. */
  readonly imported: readonly string[]
  readonly skippedImports: readonly string[]
}

const display = (abs: string) => {
  const rel = relative(process.cwd(), abs)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs
}

const resolveFrom = (file: string, target: string) =>
  target.startsWith('~/') ? resolve(homedir(), target.slice(2)) : resolve(dirname(file), target)

const stringList = (v: unknown): readonly string[] | undefined =>
  typeof v === 'string' ? [v] : Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined

/** mmdetection's `custom_imports = dict(imports=[...], allow_failed_imports=False)`, or a plain list. */
const importRequests = (file: string, raw: unknown, source: Source): E.Either<ConfigError, readonly ImportRequest[]> => {
  const asRecord = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined
  const names = stringList(asRecord === undefined ? raw : asRecord['imports'])
  const allowFailed = asRecord?.['allow_failed_imports'] ?? false
  if (names === undefined || typeof allowFailed !== 'boolean' || (asRecord !== undefined && Object.keys(asRecord).some((k) => k !== 'imports' && k !== 'allow_failed_imports'))) {
    const expected = 'a module path, a list of them, or {imports: [...], allow_failed_imports: bool}'
    return E.left(configError(source, 'custom_imports', `expected ${expected}, got ${showValue(raw)}`, { expected }))
  }
  return E.right(
    names.map((specifier) => {
      const isPath = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('~/')
      return { specifier, url: isPath ? pathToFileURL(resolveFrom(file, specifier)).href : specifier, source, allowFailed }
    }),
  )
}

const readLayers = async (file: string, chain: readonly string[], from?: { source: Source; key: string }): Promise<E.Either<ConfigError, readonly Layer[]>> => {
  if (chain.includes(file)) {
    const loop = [...chain.slice(chain.indexOf(file)), file].map(display).join(' -> ')
    return E.left(configError(from?.source, from?.key, `base config cycle: ${loop}`))
  }
  const parsed = await readConfigFile(file, display(file))
  if (E.isLeft(parsed)) {
    return from === undefined ? parsed : E.left(configError(from.source, from.key, `cannot load base ${parsed.left.message}`))
  }
  const { tree, source } = parsed.right
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) return E.left(configError(source, undefined, `a config must be a mapping of keys, got ${showValue(tree)}`))
  const raw = tree as Record<string, unknown>
  const own = Object.fromEntries(Object.entries(raw).filter(([k]) => !(RESERVED as readonly string[]).includes(k)))
  const layers: Layer[] = []
  for (const key of ['_BASE_', '_base_'] as const) {
    if (!Object.hasOwn(raw, key)) continue
    const bases = stringList(raw[key])
    if (bases === undefined) return E.left(configError(source, key, `expected a file path or a list of them, got ${showValue(raw[key])}`, { expected: 'string | list<string>' }))
    for (const base of bases) {
      const sub = await readLayers(resolveFrom(file, base), [...chain, file], { source, key })
      if (E.isLeft(sub)) return sub
      layers.push(...sub.right)
    }
  }
  const imports = Object.hasOwn(raw, 'custom_imports') ? importRequests(file, raw['custom_imports'], source) : E.right([])
  if (E.isLeft(imports)) return imports
  return E.right([...layers, { tree: own, source, imports: imports.right }])
}

type ImportResult = { registries: Registries; spec: NodeSpec; imported: string[]; skipped: string[] }

const isRegistries = (v: unknown): v is Registries =>
  v !== null && typeof v === 'object' && REGISTRY_NAMES.every((n) => (v as Record<string, { kind?: string }>)[n]?.kind === 'Registry')

const runImports = async (layers: readonly Layer[], registries: Registries, spec: NodeSpec): Promise<E.Either<ConfigError | RegistryError, ImportResult>> => {
  const out: ImportResult = { registries, spec, imported: [], skipped: [] }
  const seen = new Set<string>()
  for (const request of layers.flatMap((l) => l.imports)) {
    if (seen.has(request.url)) continue
    seen.add(request.url)
    const fail = (text: string) => E.left(configError(request.source, 'custom_imports', `${request.specifier}: ${text}`))
    let mod: { register?: unknown; default?: unknown; configSpec?: unknown }
    try {
      mod = await import(request.url)
    } catch (e) {
      if (request.allowFailed) {
        out.skipped.push(`${request.specifier}: ${(e as Error).message}`)
        continue
      }
      return fail(`cannot import: ${(e as Error).message}`)
    }
    if (mod.configSpec !== undefined) {
      const extended = extendSpec(out.spec, mod.configSpec as NodeSpec, `${request.specifier} (configSpec)`)
      if (E.isLeft(extended)) return extended
      out.spec = extended.right
    }
    const register = typeof mod.register === 'function' ? mod.register : mod.default
    if (typeof register !== 'function') {
      if (mod.configSpec !== undefined) {
        out.imported.push(request.specifier)
        continue
      }
      return fail('exports no register(registries) function')
    }
    const result: unknown = await register(out.registries)
    const next = isRegistries(result) ? E.right(result) : (result as E.Either<RegistryError, unknown>)
    if (next === null || typeof next !== 'object' || !('_tag' in next)) return fail('register(registries) must return the new registries (or an Either of them)')
    if (E.isLeft(next)) {
      const where = configError(request.source, 'custom_imports', `${request.specifier}: `).message
      return E.left({ ...next.left, message: `${where}${next.left.message}` })
    }
    if (!isRegistries(next.right)) return fail('register(registries) returned something that is not a registries record')
    out.registries = next.right
    out.imported.push(request.specifier)
  }
  return E.right(out)
}

/**
 * Loads `file` (YAML, JSON or a JS/TS module) with its bases, custom imports and overrides into a
 * frozen config. Every failure is a `Left` whose message names the file, key and line.
 */
export const loadConfig = async (file: string, options: LoadOptions = {}): Promise<E.Either<ConfigError | RegistryError, LoadedConfig>> => {
  const layers = await readLayers(resolve(file), [])
  if (E.isLeft(layers)) return layers
  const imports = await runImports(layers.right, options.registries ?? emptyRegistries, options.spec ?? detectron2Spec)
  if (E.isLeft(imports)) return imports
  const { spec, registries, imported, skipped } = imports.right
  let tree = defaultsOf(spec) as Record<string, unknown>
  for (const layer of layers.right) {
    const partial = validateTree(spec, layer.tree, layer.source)
    if (E.isLeft(partial)) return partial
    tree = mergePartial(spec, tree, partial.right) as Record<string, unknown>
  }
  const cfg = applyOverrides(deepFreeze(tree) as unknown as Config, options.overrides ?? [], spec)
  if (E.isLeft(cfg)) return cfg
  return E.right({ cfg: cfg.right, registries, spec, files: layers.right.map((l) => l.source.file), imported, skippedImports: skipped })
}

/**
 * Merges a plain object into a config, checked like a file (detectron2's `merge_from_other_cfg`, or a
 * config written in code). `_delete_` works as in files; `source` names the object in messages.
 */
export const mergeConfig = <C = Config>(cfg: C, object: unknown, options: { readonly spec?: NodeSpec; readonly source?: string } = {}): E.Either<ConfigError, C> => {
  const spec = options.spec ?? detectron2Spec
  const partial = validateTree(spec, object, { file: options.source ?? '(object)' })
  if (E.isLeft(partial)) return partial
  return E.right(deepFreeze(mergePartial(spec, cfg as Record<string, unknown>, partial.right)) as C)
}

/** detectron2's `get_cfg()`: the frozen defaults (the same value every call). */
export const defaultConfig = (): Config => DEFAULT_CONFIG
