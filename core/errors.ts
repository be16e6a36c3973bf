/**
 * Errors raised inside numeric code. fovea has no classes, so a `FoveaError` is a plain `Error` whose
 * `name` is `'FoveaError'` and which carries the op that raised it. Messages always name the op and the
 * shapes/dtypes involved, e.g. `add: cannot broadcast f32[2,3] with f32[4]`.
 */
export type FoveaError = Error & { readonly name: 'FoveaError'; readonly op: string }

/** Builds (does not throw) a FoveaError for `op`; the message is prefixed with `op: `. */
export const foveaError = (op: string, message: string): FoveaError =>
  Object.assign(new Error(`${op}: ${message}`), { name: 'FoveaError' as const, op })

/** Throws a FoveaError for `op`. Typed `never` so it can end an expression. */
export const fail = (op: string, message: string): never => {
  throw foveaError(op, message)
}

export const isFoveaError = (e: unknown): e is FoveaError =>
  e instanceof Error && e.name === 'FoveaError'
