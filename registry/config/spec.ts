/**
 * The typed schema behind a config: every key has a type and a default, as in detectron2's `CfgNode`
 * defaults, but with int and float told apart (JavaScript has one number type, so `800` vs `800.0` in a
 * file cannot say which a key wants) and element types for lists. `ValueOf<S>` is the TypeScript type of
 * the config a spec describes, so `cfg.MODEL.RESNETS.DEPTH` is a `number` at compile time.
 */

/** The type of a value: leaves, list elements. `any` accepts anything (detectron2's EXPECTED_RESULTS). */
export type ValueType =
  | { readonly kind: 'int' }
  | { readonly kind: 'float' }
  | { readonly kind: 'str'; readonly choices?: readonly string[] }
  | { readonly kind: 'bool' }
  | { readonly kind: 'any' }
  | { readonly kind: 'list'; readonly item: ValueType }

/** A value type that also records, for the type checker only, the TypeScript type of its values. */
export type Typed<T> = ValueType & { readonly __value?: T }

/** A key with a value: its type, whether `null` is allowed, and its default. */
export type LeafSpec<T = unknown> = {
  readonly kind: 'leaf'
  readonly type: Typed<T>
  readonly nullable: boolean
  readonly default: T
}

/** A section (`MODEL`, `MODEL.RPN`): named keys, each a leaf or a further section. */
export interface NodeSpec<Fields extends SpecFields = SpecFields> {
  readonly kind: 'node'
  readonly fields: Fields
}

/** A section's keys (an interface, so `Spec` may refer to itself). */
export interface SpecFields {
  readonly [key: string]: Spec
}

export type Spec = LeafSpec | NodeSpec

/** The config type a spec describes (readonly all the way down). */
export type ValueOf<S> = S extends LeafSpec<infer T> ? T : S extends NodeSpec<infer F> ? { readonly [K in keyof F]: ValueOf<F[K]> } : never

/** Element types for `list(...)`. */
export const t = {
  int: { kind: 'int' } as Typed<number>,
  float: { kind: 'float' } as Typed<number>,
  str: { kind: 'str' } as Typed<string>,
  bool: { kind: 'bool' } as Typed<boolean>,
  any: { kind: 'any' } as Typed<unknown>,
  list: <T>(item: Typed<T>): Typed<readonly T[]> => ({ kind: 'list', item }),
}

const leaf = <T>(type: Typed<T>, value: T): LeafSpec<T> => ({ kind: 'leaf', type, nullable: false, default: value })

/** An integer key (`MAX_ITER`, `DEPTH`). */
export const int = (value: number): LeafSpec<number> => leaf(t.int, value)
/** A float key; any number is accepted (`BASE_LR: 1` means 1.0). */
export const float = (value: number): LeafSpec<number> => leaf(t.float, value)
/** A string key; with `choices`, only those strings are accepted. */
export const str = (value: string, choices?: readonly string[]): LeafSpec<string> =>
  leaf(choices === undefined ? t.str : ({ kind: 'str', choices } as Typed<string>), value)
export const bool = (value: boolean): LeafSpec<boolean> => leaf(t.bool, value)
/** A list key whose elements have type `item` (lists are replaced whole by a merge, never merged). */
export const list = <T>(item: Typed<T>, value: readonly T[]): LeafSpec<readonly T[]> => leaf(t.list(item), value)
/** The same key, but `null` is also a value (detectron2's `None`). */
export const nullable = <T>(spec: LeafSpec<T>, value: T | null = null): LeafSpec<T | null> => ({ ...spec, nullable: true, default: value })
/** A section. */
export const node = <F extends SpecFields>(fields: F): NodeSpec<F> => ({ kind: 'node', fields })

/** `int`, `list<float>`, `string (one of BGR, RGB)`, `float | null`: how types appear in messages. */
export const typeName = (type: ValueType): string => {
  switch (type.kind) {
    case 'int':
    case 'float':
    case 'bool':
    case 'any':
      return type.kind
    case 'str':
      return type.choices === undefined ? 'string' : `string (one of ${type.choices.join(', ')})`
    case 'list':
      return `list<${typeName(type.item)}>`
    default:
      return type satisfies never
  }
}

export const leafTypeName = (spec: LeafSpec): string => typeName(spec.type) + (spec.nullable ? ' | null' : '')

/** Freezes a plain tree (objects and arrays) in place and returns it. */
export const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/** The defaults a spec describes, as a fresh deeply frozen tree. */
export const defaultsOf = <S extends Spec>(spec: S): ValueOf<S> => {
  const build = (s: Spec): unknown =>
    s.kind === 'leaf' ? structuredClone(s.default) : Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, build(v)]))
  return deepFreeze(build(spec)) as ValueOf<S>
}

/** The spec at a dotted path (`MODEL.RPN`), or `undefined`. */
export const specAt = (spec: NodeSpec, path: readonly string[]): Spec | undefined => {
  let at: Spec = spec
  for (const key of path) {
    if (at.kind !== 'node' || !Object.hasOwn(at.fields, key)) return undefined
    at = at.fields[key]!
  }
  return at
}
