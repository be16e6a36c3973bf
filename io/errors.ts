/**
 * Checkpoint errors are values (fp-ts `Either`), because a bad file is an expected event at a boundary,
 * not a bug. Inside the parsers a problem is thrown as a tagged `Error` and turned into a `LoadError` /
 * `SaveError` once, at the public function, so every message names the file and, where known, the key.
 */
import * as E from 'fp-ts/Either'

/** Why a checkpoint could not be read: the OS refused, the bytes stop early, the bytes are inconsistent,
 * the file uses something fovea does not read, or the checkpoint does not fit the model. */
export type LoadReason = 'io' | 'truncated' | 'corrupt' | 'unsupported' | 'incompatible'

export type LoadError = {
  readonly kind: 'LoadError'
  readonly file: string
  readonly reason: LoadReason
  readonly key?: string
  readonly message: string
}

export type SaveError = {
  readonly kind: 'SaveError'
  readonly file: string
  readonly key?: string
  readonly message: string
}

/** A problem found while parsing, tagged with the reason the public function will report. */
export type Problem = Error & { readonly name: 'CheckpointProblem'; readonly reason: LoadReason; readonly key?: string }

const isProblem = (e: unknown): e is Problem => e instanceof Error && e.name === 'CheckpointProblem'

/** Throws a parse problem; typed `never` so it can end an expression. */
export const problem = (reason: LoadReason, detail: string, key?: string): never => {
  throw Object.assign(new Error(detail), { name: 'CheckpointProblem' as const, reason, ...(key === undefined ? {} : { key }) })
}

export const loadError = (file: string, reason: LoadReason, detail: string, key?: string): LoadError => ({
  kind: 'LoadError',
  file,
  reason,
  ...(key === undefined ? {} : { key }),
  message: `${file}: ${key === undefined ? '' : `${key}: `}${detail}`,
})

const errnoReason = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown }).code
  return typeof code === 'string' ? `${code}: ${(e as Error).message}` : undefined
}

/** Any thrown value as a LoadError for `file` (problems keep their reason; OS errors are `io`). */
export const toLoadError = (file: string, e: unknown): LoadError => {
  if (isProblem(e)) return loadError(file, e.reason, e.message, e.key)
  const os = errnoReason(e)
  if (os !== undefined) return loadError(file, 'io', os)
  return loadError(file, 'corrupt', e instanceof Error ? e.message : String(e))
}

/** Runs a parser and returns its result or the reason it failed, as an Either. */
export const guardLoad = async <T>(file: string, run: () => Promise<T>): Promise<E.Either<LoadError, T>> => {
  try {
    return E.right(await run())
  } catch (e) {
    return E.left(toLoadError(file, e))
  }
}

export const toSaveError = (file: string, e: unknown): SaveError => {
  const key = isProblem(e) ? e.key : undefined
  const detail = errnoReason(e) ?? (e instanceof Error ? e.message : String(e))
  return { kind: 'SaveError', file, ...(key === undefined ? {} : { key }), message: `${file}: ${key === undefined ? '' : `${key}: `}${detail}` }
}
