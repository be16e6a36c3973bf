/**
 * Command-line overrides in both spellings: detectron2's `--opts` pairs (`MODEL.WEIGHTS x.pkl
 * SOLVER.BASE_LR 0.02`) and mmdetection's `--cfg-options` (`SOLVER.BASE_LR=0.02`), mixed freely. Values
 * are read as YAML scalars or flow lists (`0.02`, `true`, `[p2, p3]`, `(640, 800)`), then checked
 * against the key's type like a file's values. A string key keeps the text as typed (`MODEL.WEIGHTS
 * 123` is the string "123"), and a list key also takes bare comma lists (`SOLVER.STEPS=100,200`).
 */
import * as E from 'fp-ts/Either'
import { parse as parseYaml } from 'yaml'
import type { ConfigError } from '../errors.js'
import { configError, checkLeaf, unknownKey, type Source } from './validate.js'
import { deepFreeze, type LeafSpec, type NodeSpec } from './spec.js'

export type Override = { readonly key: string; readonly text: string }

const COMMAND_LINE: Source = { file: '(command line)' }
const KEY_EQUALS = /^([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)=(.*)$/s

/** `['A.B', '1', 'C=2']` → `[{key: 'A.B', text: '1'}, {key: 'C', text: '2'}]`; a key with no value is a `Left`. */
export const parseOverrides = (args: readonly string[]): E.Either<ConfigError, readonly Override[]> => {
  const out: Override[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const pair = KEY_EQUALS.exec(arg)
    if (pair !== null) {
      out.push({ key: pair[1]!, text: pair[2]! })
    } else if (i + 1 < args.length) {
      out.push({ key: arg, text: args[i + 1]! })
      i++
    } else {
      return E.left(configError(COMMAND_LINE, arg, 'has no value (overrides are KEY VALUE pairs or KEY=VALUE)'))
    }
  }
  return E.right(out)
}

const leafAt = (spec: NodeSpec, key: string): E.Either<ConfigError, LeafSpec> => {
  const path = key.split('.')
  let node: NodeSpec = spec
  for (const [i, k] of path.entries()) {
    const field = Object.hasOwn(node.fields, k) ? node.fields[k]! : undefined
    if (field === undefined) return E.left(unknownKey(node, path.slice(0, i + 1), COMMAND_LINE))
    if (i === path.length - 1) {
      return field.kind === 'leaf' ? E.right(field) : E.left(configError(COMMAND_LINE, key, 'is a section; override its keys one by one', { expected: 'a key with a value' }))
    }
    if (field.kind === 'leaf') return E.left(configError(COMMAND_LINE, path.slice(0, i + 1).join('.'), `is a value, not a section (cannot set ${key})`))
    node = field
  }
  return E.left(configError(COMMAND_LINE, key, 'empty key'))
}

/** Reads the override text the way the key's type wants it (see the module comment). */
const readText = (leaf: LeafSpec, text: string): unknown => {
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch {
    parsed = text
  }
  if (leaf.type.kind === 'str') return parsed === null && leaf.nullable ? null : typeof parsed === 'string' ? parsed : text
  if (leaf.type.kind === 'list' && typeof parsed === 'string' && parsed.includes(',') && !parsed.trimStart().startsWith('(')) {
    try {
      return parseYaml(`[${text}]`)
    } catch {
      return parsed
    }
  }
  return parsed
}

/**
 * Applies overrides to a config (pure: returns a new frozen config). `args` are raw command-line words
 * or already parsed overrides; every key must exist in `spec` and every value must have its type.
 */
export const applyOverrides = <C>(cfg: C, args: readonly string[] | readonly Override[], spec: NodeSpec): E.Either<ConfigError, C> => {
  const parsed = args.every((a) => typeof a === 'string') ? parseOverrides(args as readonly string[]) : E.right(args as readonly Override[])
  if (E.isLeft(parsed)) return parsed
  let out = cfg as unknown as Record<string, unknown>
  for (const { key, text } of parsed.right) {
    const leaf = leafAt(spec, key)
    if (E.isLeft(leaf)) return leaf
    const value = checkLeaf(leaf.right, readText(leaf.right, text), key, COMMAND_LINE)
    if (E.isLeft(value)) return value
    out = setPath(out, key.split('.'), value.right)
  }
  return E.right(deepFreeze(out) as unknown as C)
}

const setPath = (tree: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> => {
  const [head, ...rest] = path as [string, ...string[]]
  return { ...tree, [head]: rest.length === 0 ? value : setPath((tree[head] ?? {}) as Record<string, unknown>, rest, value) }
}
