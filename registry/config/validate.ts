/**
 * Checking values read from a file, an object or the command line against a spec. The result is a
 * *partial* tree (only the keys given, with `_delete_` markers kept) that `mergePartial` lays over a
 * full config. Every failure names the file, the dotted key, the expected type and, for YAML/JSON, the line.
 */
import * as E from 'fp-ts/Either'
import { parse as parseYaml } from 'yaml'
import { closestMatch, type ConfigError } from '../errors.js'
import { leafTypeName, typeName, type LeafSpec, type NodeSpec, type ValueType } from './spec.js'

/** Where a value came from: the file (or `(command line)`) and, when known, a key → line map. */
export type Source = { readonly file: string; readonly lineOf?: (key: string) => number | undefined }

/** A validated partial config: keys that were given, leaves already checked, `_delete_` kept. */
export type PartialTree = { readonly [key: string]: unknown }

export const DELETE_KEY = '_delete_'

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)

/** `"fifty" (string)`, `{…} (a mapping)`, `3.5 (float)`: how a wrong value appears in a message. */
export const showValue = (v: unknown): string => {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return `${clip(JSON.stringify(v))} (list)`
  if (isPlainObject(v)) return `${clip(JSON.stringify(v))} (mapping)`
  if (typeof v === 'number') return `${v} (${Number.isInteger(v) ? 'int' : 'float'})`
  if (typeof v === 'string') return `${JSON.stringify(v)} (string)`
  return `${String(v)} (${typeof v})`
}
const clip = (s: string | undefined) => (s === undefined ? '?' : s.length > 60 ? `${s.slice(0, 57)}...` : s)

/** Builds a ConfigError whose message starts with `file:line: key:`. */
export const configError = (src: Source | undefined, key: string | undefined, text: string, extra: Partial<ConfigError> = {}): ConfigError => {
  const line = extra.line ?? (key !== undefined ? src?.lineOf?.(key) : undefined)
  const where = src === undefined ? '' : `${src.file}${line !== undefined ? `:${line}` : ''}: `
  return {
    kind: 'ConfigError',
    message: `${where}${key !== undefined && key !== '' ? `${key}: ` : ''}${text}`,
    ...(src !== undefined ? { file: src.file } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(line !== undefined ? { line } : {}),
    ...extra,
  }
}

/**
 * detectron2 YAML files write tuples as Python literals (`MIN_SIZE_TRAIN: (640, 672, 704)`), which YAML
 * reads as a string; yacs then `literal_eval`s it. We accept the same spelling for list keys by reading
 * the parenthesised text as a YAML flow sequence (`(800,)` included).
 */
export const parseTupleText = (text: string): unknown[] | undefined => {
  if (!/^\s*\(.*\)\s*$/s.test(text)) return undefined
  let quote: string | null = null
  let out = ''
  for (const ch of text) {
    if (quote !== null) quote = ch === quote ? null : quote
    else if (ch === '"' || ch === "'") quote = ch
    out += quote === null && ch === '(' ? '[' : quote === null && ch === ')' ? ']' : ch
  }
  try {
    const parsed: unknown = parseYaml(out)
    return Array.isArray(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

const checkType = (type: ValueType, value: unknown, key: string, src: Source | undefined, line: number | undefined): E.Either<ConfigError, unknown> => {
  const wrong = () => E.left(configError(src, key, `expected ${typeName(type)}, got ${showValue(value)}`, { expected: typeName(type), ...(line !== undefined ? { line } : {}) }))
  switch (type.kind) {
    case 'any':
      return E.right(value)
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) ? E.right(value) : wrong()
    case 'float':
      return typeof value === 'number' ? E.right(value) : wrong()
    case 'bool':
      return typeof value === 'boolean' ? E.right(value) : wrong()
    case 'str':
      return typeof value === 'string' && (type.choices === undefined || type.choices.includes(value)) ? E.right(value) : wrong()
    case 'list': {
      const items = Array.isArray(value) ? value : typeof value === 'string' ? parseTupleText(value) : undefined
      if (items === undefined) return wrong()
      const out: unknown[] = []
      for (const [i, item] of items.entries()) {
        const checked = checkType(type.item, item, `${key}[${i}]`, src, line)
        if (E.isLeft(checked)) return checked
        out.push(checked.right)
      }
      return E.right(out)
    }
    default:
      return type satisfies never
  }
}

/** Checks one value against a leaf spec; `null` only where the key is nullable. */
export const checkLeaf = (spec: LeafSpec, value: unknown, key: string, src?: Source): E.Either<ConfigError, unknown> => {
  const line = src?.lineOf?.(key)
  if (value === null || value === undefined) {
    return spec.nullable ? E.right(null) : E.left(configError(src, key, `expected ${leafTypeName(spec)}, got null`, { expected: leafTypeName(spec) }))
  }
  const checked = checkType(spec.type, value, key, src, line)
  return E.isLeft(checked) && spec.nullable ? E.left({ ...checked.left, expected: `${checked.left.expected} | null` }) : checked
}

/** An unknown key: names the nearest sibling when one is close (a typo rather than a wrong section). */
export const unknownKey = (node: NodeSpec, path: readonly string[], src?: Source): ConfigError => {
  const key = path.join('.')
  const last = path[path.length - 1]!
  const near = closestMatch(last, Object.keys(node.fields), Math.max(2, Math.floor(last.length / 3)))
  const hint = near === undefined ? '' : ` (did you mean ${[...path.slice(0, -1), near].join('.')}?)`
  return configError(src, key, `unknown key${hint}`)
}

/**
 * Checks a raw tree (from a file or object) against `spec`; `path` is where `raw` sits in the full
 * config. Returns only the given keys, each leaf checked (tuple strings turned into lists).
 */
export const validateTree = (spec: NodeSpec, raw: unknown, src: Source, path: readonly string[] = []): E.Either<ConfigError, PartialTree> => {
  const here = path.join('.')
  if (!isPlainObject(raw)) {
    const what = here === '' ? 'a config must be a mapping of keys' : 'is a section; expected a mapping of its keys'
    return E.left(configError(src, here === '' ? undefined : here, `${what}, got ${showValue(raw)}`, { expected: 'mapping' }))
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) {
    const keyPath = [...path, k]
    const key = keyPath.join('.')
    if (k === DELETE_KEY) {
      if (typeof v !== 'boolean') return E.left(configError(src, key, `expected bool, got ${showValue(v)}`, { expected: 'bool' }))
      out[k] = v
      continue
    }
    const field = Object.hasOwn(spec.fields, k) ? spec.fields[k]! : undefined
    if (field === undefined) return E.left(unknownKey(spec, keyPath, src))
    const checked = field.kind === 'node' ? validateTree(field, v, src, keyPath) : checkLeaf(field, v, key, src)
    if (E.isLeft(checked)) return checked
    out[k] = checked.right
  }
  return E.right(out)
}
