/**
 * The error records that the registry and config boundaries return as fp-ts `Left` values (DESIGN:
 * "errors at boundaries are values"). Each carries a complete human message plus the fields a program
 * may want to inspect (the file, the dotted key, the line, the registry and the names it knows).
 */

/** An unknown name, a duplicate registration or a bad table in a registry. */
export type RegistryError = {
  readonly kind: 'RegistryError'
  readonly registry: string
  readonly name: string
  readonly message: string
  /** Every name the registry holds, sorted. */
  readonly known: readonly string[]
  /** The registered name nearest to `name` by edit distance, when the registry is not empty. */
  readonly closest?: string
}

/** A config file or override that cannot be read, parsed or checked against the defaults. */
export type ConfigError = {
  readonly kind: 'ConfigError'
  readonly message: string
  /** The file the bad key or value came from; `(command line)` for overrides, `(object)` for in-memory merges. */
  readonly file?: string
  /** Dotted key path, with `[i]` for list items: `MODEL.ANCHOR_GENERATOR.SIZES[0][1]`. */
  readonly key?: string
  /** 1-based line of the key in a YAML or JSON file. */
  readonly line?: number
  /** The type the defaults give the key, e.g. `int`, `list<float>`, `string (one of BGR, RGB)`. */
  readonly expected?: string
}

/** A factory that threw while `buildModel` ran it; `path` names the chain of components, outermost first. */
export type BuildError = {
  readonly kind: 'BuildError'
  readonly message: string
  readonly path: readonly string[]
  readonly cause: unknown
}

/**
 * Levenshtein distance, compared case-insensitively so `resnets` is 0 away from `RESNETS` (config keys
 * are upper case by convention, registry names are not).
 */
export const editDistance = (a: string, b: string): number => {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const row = [i]
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost))
    }
    prev = row
  }
  return prev[t.length]!
}

/**
 * The candidate nearest to `name` (ties go to the alphabetically first), or `undefined` when there are no
 * candidates or, with `maxDistance`, when none is that close.
 */
export const closestMatch = (name: string, candidates: readonly string[], maxDistance = Infinity): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of [...candidates].sort()) {
    const d = editDistance(name, c)
    if (d < bestDistance) [best, bestDistance] = [c, d]
  }
  return bestDistance <= maxDistance ? best : undefined
}
