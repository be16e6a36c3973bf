/**
 * Adding keys to a spec (detectron2's `add_xxx_config(cfg)`): a user's component that needs its own
 * settings declares them, and configs may then use them. Existing keys cannot be redefined, so a
 * plugin cannot silently change the type or default of a key other code reads.
 */
import * as E from 'fp-ts/Either'
import type { ConfigError } from '../errors.js'
import type { NodeSpec, Spec } from './spec.js'

/** `base` with the keys of `extra` added; `origin` names the extension in messages. */
export const extendSpec = (base: NodeSpec, extra: NodeSpec, origin = 'extendSpec', path: readonly string[] = []): E.Either<ConfigError, NodeSpec> => {
  if (extra === null || typeof extra !== 'object' || extra.kind !== 'node') {
    return E.left({ kind: 'ConfigError', message: `${origin}: a spec extension must be a node(...) spec${path.length > 0 ? ` at ${path.join('.')}` : ''}`, file: origin })
  }
  const fields: Record<string, Spec> = { ...base.fields }
  for (const [k, v] of Object.entries(extra.fields)) {
    const key = [...path, k].join('.')
    const existing = base.fields[k]
    if (existing === undefined) {
      fields[k] = v
    } else if (existing.kind === 'node' && v.kind === 'node') {
      const merged = extendSpec(existing, v, origin, [...path, k])
      if (E.isLeft(merged)) return merged
      fields[k] = merged.right
    } else {
      return E.left({ kind: 'ConfigError', message: `${origin}: cannot redefine existing key ${key}`, file: origin, key })
    }
  }
  return E.right({ kind: 'node', fields })
}
