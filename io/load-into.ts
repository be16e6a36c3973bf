/**
 * Putting checkpoint tensors into a model's param and state trees, in the spirit of detectron2's
 * `DetectionCheckpointer` and PyTorch's `_IncompatibleKeys`: names are matched exactly (after an optional
 * prefix strip), and whatever does not fit is reported rather than half-applied — a missing name keeps
 * its initial value, a shape mismatch keeps the model's tensor untouched, an unexpected name is ignored.
 */
import * as E from 'fp-ts/Either'
import type { DType } from '../core/dtype.js'
import { type Shape, shapesEqual } from '../core/shape.js'
import { type Tensor, isTensor } from '../core/tensor.js'
import { treeFlattenNamed, treeUnflattenNamed } from '../core/tree.js'
import { cast } from '../ops/elementwise/binary.js'
import type { Checkpoint } from './checkpoint.js'
import { type LoadError, loadError } from './errors.js'
import { loadCheckpoint } from './load.js'

export type ModelTrees<P, S> = { readonly params: P; readonly state: S }

export type ShapeMismatch = { readonly name: string; readonly checkpointShape: Shape; readonly modelShape: Shape }

export type DTypeCast = { readonly name: string; readonly from: DType; readonly to: DType }

export type LoadReport = {
  readonly kind: 'LoadReport'
  /** Model names that received a checkpoint tensor. */
  readonly loaded: readonly string[]
  /** Model names the checkpoint lacks; they keep their initial values. */
  readonly missing: readonly string[]
  /** Checkpoint names the model does not have (after prefix stripping); ignored. */
  readonly unexpected: readonly string[]
  /** Names present in both with different shapes; the model's tensor is kept. */
  readonly shapeMismatch: readonly ShapeMismatch[]
  /** Loaded tensors whose dtype was cast to the model's (e.g. an i32 buffer saved as float). */
  readonly dtypeCast: readonly DTypeCast[]
  /** The prefix removed from every checkpoint name, if one was. */
  readonly strippedPrefix?: string
  /** The checkpoint's own notes (conversions, skipped entries), carried along. */
  readonly notes: readonly string[]
}

export type LoadIntoOptions = {
  /**
   * Removed from checkpoint names when every name starts with it, as detectron2 does for the `module.`
   * that DistributedDataParallel adds. Default `'module.'`; `false` keeps names as they are.
   */
  readonly stripPrefix?: string | false
  /** Return `Left` unless every model name loads and no checkpoint name is left over. */
  readonly strict?: boolean
}

const describeShape = (s: Shape): string => `[${s.join(',')}]`

/** The report as text, one line per kind of incompatibility, for logs. */
export const formatLoadReport = (r: LoadReport): string => {
  const total = r.loaded.length + r.missing.length + r.shapeMismatch.length
  const lines = [`loaded ${r.loaded.length} of ${total} model tensors${r.strippedPrefix === undefined ? '' : ` (stripped prefix ${JSON.stringify(r.strippedPrefix)})`}`]
  if (r.missing.length > 0) lines.push(`missing from the checkpoint (kept initial values): ${r.missing.join(', ')}`)
  if (r.unexpected.length > 0) lines.push(`not in the model (ignored): ${r.unexpected.join(', ')}`)
  for (const m of r.shapeMismatch) lines.push(`shape mismatch (skipped): ${m.name}: checkpoint ${describeShape(m.checkpointShape)}, model ${describeShape(m.modelShape)}`)
  for (const c of r.dtypeCast) lines.push(`cast: ${c.name}: ${c.from} → ${c.to}`)
  return [...lines, ...r.notes.map((n) => `note: ${n}`)].join('\n')
}

const stripAll = (names: readonly string[], prefix: string | false): string | undefined =>
  prefix !== false && prefix !== '' && names.length > 0 && names.every((n) => n.startsWith(prefix)) ? prefix : undefined

/**
 * Loads `checkpoint` (from `loadCheckpoint`, or a name → tensor Map) into `model = {params, state}`,
 * whose dotted leaf names (`F.treeFlattenNamed`) are state-dict keys. Returns new trees of the same
 * structure plus a `LoadReport`; the input trees are not changed. `Left` when a name is in both trees,
 * a leaf is not a tensor, or `strict` is set and anything is incompatible.
 */
export const loadInto = <P, S>(
  model: ModelTrees<P, S>,
  checkpoint: Checkpoint | ReadonlyMap<string, Tensor>,
  options: LoadIntoOptions = {},
): E.Either<LoadError, ModelTrees<P, S> & { readonly report: LoadReport }> => {
  const isCheckpoint = (checkpoint as Checkpoint).kind === 'Checkpoint'
  const file = isCheckpoint ? (checkpoint as Checkpoint).file : '<in-memory checkpoint>'
  const raw = isCheckpoint ? (checkpoint as Checkpoint).tensors : (checkpoint as ReadonlyMap<string, Tensor>)
  const prefix = stripAll([...raw.keys()], options.stripPrefix ?? 'module.')
  const source = new Map<string, Tensor>()
  for (const [name, t] of raw) {
    if (!isTensor(t)) return E.left(loadError(file, 'incompatible', 'checkpoint entry is not a tensor', name))
    source.set(prefix === undefined ? name : name.slice(prefix.length), t)
  }
  const paramNames = treeFlattenNamed(model.params)
  const stateNames = treeFlattenNamed(model.state)
  const inParams = new Set(paramNames.map(([n]) => n))
  const both = stateNames.find(([n]) => inParams.has(n))
  if (both !== undefined) return E.left(loadError(file, 'incompatible', 'the model has this name in both its params and its state', both[0]))
  const notTensor = [...paramNames, ...stateNames].find(([, t]) => !isTensor(t))
  if (notTensor !== undefined) return E.left(loadError(file, 'incompatible', 'model leaf is not a tensor', notTensor[0]))

  const loaded: string[] = []
  const missing: string[] = []
  const shapeMismatch: ShapeMismatch[] = []
  const dtypeCast: DTypeCast[] = []
  const take = (named: [string, unknown][]): Map<string, Tensor> =>
    new Map(
      named.map(([name, leaf]) => {
        const mine = leaf as Tensor
        const theirs = source.get(name)
        if (theirs === undefined) {
          missing.push(name)
          return [name, mine]
        }
        if (!shapesEqual(theirs.shape, mine.shape)) {
          shapeMismatch.push({ name, checkpointShape: theirs.shape, modelShape: mine.shape })
          return [name, mine]
        }
        loaded.push(name)
        if (theirs.dtype === mine.dtype) return [name, theirs]
        dtypeCast.push({ name, from: theirs.dtype, to: mine.dtype })
        return [name, cast(theirs, mine.dtype)]
      }),
    )
  const params = treeUnflattenNamed(model.params, take(paramNames))
  const state = treeUnflattenNamed(model.state, take(stateNames))
  const known = new Set([...inParams, ...stateNames.map(([n]) => n)])
  const unexpected = [...source.keys()].filter((n) => !known.has(n))
  const report: LoadReport = {
    kind: 'LoadReport',
    loaded,
    missing,
    unexpected,
    shapeMismatch,
    dtypeCast,
    ...(prefix === undefined ? {} : { strippedPrefix: prefix }),
    notes: isCheckpoint ? (checkpoint as Checkpoint).notes : [],
  }
  if (options.strict === true && (missing.length > 0 || unexpected.length > 0 || shapeMismatch.length > 0)) {
    return E.left(loadError(file, 'incompatible', `strict load failed:\n${formatLoadReport(report)}`))
  }
  return E.right({ params, state, report })
}

/**
 * `loadCheckpoint(path)` then `loadInto(model, …)`: the whole DetectionCheckpointer step. A damaged file
 * is rejected before anything is loaded; `Left` carries the file, the reason and the key.
 */
export const loadCheckpointInto = async <P, S>(
  path: string,
  model: ModelTrees<P, S>,
  options: LoadIntoOptions = {},
): Promise<E.Either<LoadError, ModelTrees<P, S> & { readonly report: LoadReport }>> => {
  const checkpoint = await loadCheckpoint(path)
  return E.isLeft(checkpoint) ? checkpoint : loadInto(model, checkpoint.right, options)
}
