/**
 * The value every loader returns: named tensors on the current backend plus what the file says about
 * itself. Names are the file's own keys (PyTorch/detectron2 state-dict keys), so `loadInto` can match
 * them against a model's dotted param names.
 */
import type { Tensor } from '../core/tensor.js'
import { isTensor } from '../core/tensor.js'
import { treeFlattenNamed } from '../core/tree.js'
import { type Conversion, conversionNotes } from './dtypes.js'
import { problem } from './errors.js'

export type CheckpointFormat = 'safetensors' | 'pth' | 'pkl'

export type Checkpoint = {
  readonly kind: 'Checkpoint'
  readonly format: CheckpointFormat
  readonly file: string
  /** Tensors in file order, keyed by their state-dict names. */
  readonly tensors: ReadonlyMap<string, Tensor>
  /** safetensors `__metadata__`; for pickles the top-level scalars (`__author__`, `iteration`, …) as text. */
  readonly metadata: Readonly<Record<string, string>>
  /** Tensors whose stored type was not their fovea dtype (see io/dtypes.ts for the policy). */
  readonly conversions: readonly Conversion[]
  /** Human-readable remarks: conversions, skipped entries, naming conventions noticed. */
  readonly notes: readonly string[]
}

export const makeCheckpoint = (
  format: CheckpointFormat,
  file: string,
  tensors: ReadonlyMap<string, Tensor>,
  metadata: Readonly<Record<string, string>>,
  conversions: readonly Conversion[],
  notes: readonly string[] = [],
): Checkpoint => ({ kind: 'Checkpoint', format, file, tensors, metadata, conversions, notes: [...conversionNotes(conversions), ...notes] })

/** Named tensors as a Map, an object of tensors, or any param tree (flattened to dotted names). */
export type NamedTensors = ReadonlyMap<string, Tensor> | Checkpoint | object

/** `[name, tensor]` pairs of `named`; throws a problem for a non-tensor leaf or a repeated name. */
export const namedEntries = (named: NamedTensors): (readonly [string, Tensor])[] => {
  const raw: (readonly [string, unknown])[] =
    named instanceof Map ? [...named] : (named as Checkpoint).kind === 'Checkpoint' ? [...(named as Checkpoint).tensors] : treeFlattenNamed(named)
  const seen = new Set<string>()
  return raw.map(([name, value]) => {
    if (!isTensor(value)) problem('unsupported', `expected a tensor, got ${value === null ? 'null' : typeof value}`, name)
    if (name === '') problem('unsupported', 'a tensor needs a non-empty name (a bare tensor is not a named tree)')
    if (seen.has(name)) problem('unsupported', 'two tensors have this name', name)
    seen.add(name)
    return [name, value as Tensor] as const
  })
}
