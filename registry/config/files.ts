/**
 * Reading one config file into a plain tree plus a key → line map. YAML (`.yaml`, `.yml`) and JSON go
 * through the `yaml` package (JSON is YAML 1.2), which keeps node positions, so an unknown key or a
 * wrong type can be reported at its line. JavaScript/TypeScript configs (`.js`, `.mjs`, `.cjs`, `.ts`,
 * `.mts`) are imported and their default export (or `config` export) is the tree; they have no lines.
 */
import * as E from 'fp-ts/Either'
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import type { ConfigError } from '../errors.js'
import { configError, type Source } from './validate.js'

export type ParsedFile = { readonly tree: unknown; readonly source: Source }

const YAML_EXTENSIONS = ['.yaml', '.yml', '.json']
const JS_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']

/** Dotted key path → 1-based line of the key, for every key of every nested mapping. */
const keyLines = (root: unknown, counter: LineCounter): Map<string, number> => {
  const lines = new Map<string, number>()
  const walk = (node: unknown, prefix: string) => {
    if (!isMap(node)) return
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined
      if (key === undefined) continue
      const path = prefix === '' ? key : `${prefix}.${key}`
      const range = (pair.key as YamlNode).range
      if (range !== undefined && range !== null) lines.set(path, counter.linePos(range[0]).line)
      walk(pair.value, path)
    }
  }
  walk(root, '')
  return lines
}

/** A YAML error message without the position (we print it ourselves) and without the code snippet. */
const bareMessage = (message: string) => message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')

const readYaml = async (file: string, display: string): Promise<E.Either<ConfigError, ParsedFile>> => {
  const text = await readFile(file, 'utf8')
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, version: '1.2' })
  const problem = doc.errors[0]
  if (problem !== undefined) {
    const line = problem.linePos?.[0]?.line
    return E.left(configError({ file: display }, undefined, `cannot parse: ${bareMessage(problem.message)}`, line !== undefined ? { line } : {}))
  }
  const lines = keyLines(doc.contents, counter)
  return E.right({ tree: doc.toJS() ?? {}, source: { file: display, lineOf: (key) => lines.get(key) } })
}

const readModule = async (file: string, display: string): Promise<E.Either<ConfigError, ParsedFile>> => {
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown; config?: unknown }
  const exported = mod.default ?? mod.config
  let tree: unknown
  try {
    // A copy: the merged config is frozen, and it must not freeze the module's own objects.
    tree = structuredClone(exported)
  } catch (e) {
    return E.left(configError({ file: display }, undefined, `the exported config must be plain data (objects, lists, strings, numbers, booleans): ${(e as Error).message}`))
  }
  if (tree === undefined) return E.left(configError({ file: display }, undefined, 'exports no config (expected `export default { … }` or `export const config = { … }`)'))
  return E.right({ tree, source: { file: display } })
}

/** Reads `file` (absolute); `display` is the name used in messages. I/O errors become `Left`s. */
export const readConfigFile = async (file: string, display: string): Promise<E.Either<ConfigError, ParsedFile>> => {
  const ext = extname(file).toLowerCase()
  try {
    if (YAML_EXTENSIONS.includes(ext)) return await readYaml(file, display)
    if (JS_EXTENSIONS.includes(ext)) return await readModule(file, display)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return E.left(configError({ file: display }, undefined, err.code === 'ENOENT' ? 'no such file' : `cannot read: ${err.message}`))
  }
  return E.left(configError({ file: display }, undefined, `unsupported config type "${ext}" (use .yaml, .yml, .json, .js, .mjs or .ts)`))
}
