/**
 * Checkpoints: safetensors (read/write, fovea's native format), PyTorch `.pth` and detectron2 `.pkl`
 * (read), and `loadInto`, which fits a checkpoint to a model's param and state trees with a report of
 * missing, unexpected and mismatched names. Every boundary returns an fp-ts `Either`.
 */
export { loadSafetensors, saveSafetensors } from './safetensors.js'
export type { SavedFile } from './safetensors.js'
export { loadPth } from './pth.js'
export { loadPkl } from './pkl.js'
export { loadCheckpoint, detectFormat } from './load.js'
export { loadInto, loadCheckpointInto, formatLoadReport } from './load-into.js'
export type { LoadReport, LoadIntoOptions, ModelTrees, ShapeMismatch, DTypeCast } from './load-into.js'
export type { Checkpoint, CheckpointFormat, NamedTensors } from './checkpoint.js'
export type { Conversion, StoredDType } from './dtypes.js'
export type { LoadError, LoadReason, SaveError } from './errors.js'
