/**
 * detectron2 `.pkl` checkpoints: a pickled dict of NumPy arrays, either `{"model": {name: array},
 * "__author__": …, "matching_heuristics": …}` (the model zoo) or a flat `{name: array}`. Written by
 * Python 3 (protocols 2-5, NumPy 1 or 2 module names) or Python 2 (latin-1 `str` data), all read here
 * without running any Python: only NumPy's array reconstructors and plain containers are allowed.
 */
import type * as E from 'fp-ts/Either'
import { readFile } from 'node:fs/promises'
import type { Tensor } from '../core/tensor.js'
import { fromTypedArray } from '../ops/creation.js'
import { type Checkpoint, makeCheckpoint } from './checkpoint.js'
import { type Conversion, toFovea } from './dtypes.js'
import { type LoadError, guardLoad } from './errors.js'
import { type NdArray, isNdArray, numpyGlobals, numpySetState, storedArray } from './numpy-pickle.js'
import { containerGlobals, globalTable, unpickle } from './pickle.js'
import { selectStateDict } from './state-dict.js'

/**
 * Reads a detectron2-style `.pkl` checkpoint. Tensors are named by the dict's keys (dotted through
 * nested dicts); the other top-level scalars (`__author__`, …) become `metadata`. NumPy dtypes are
 * converted by the policy in io/dtypes.ts (float64 → float32, int64 → int32 when it fits, …).
 */
export const loadPkl = (path: string): Promise<E.Either<LoadError, Checkpoint>> =>
  guardLoad(path, async () => {
    const data = await readFile(path)
    const root = unpickle(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), {
      source: 'pickle',
      globals: globalTable([...containerGlobals(), ...numpyGlobals()]),
      setState: numpySetState,
    })
    const selected = selectStateDict(root, isNdArray)
    const tensors = new Map<string, Tensor>()
    const conversions: Conversion[] = []
    for (const [name, leaf] of selected.entries) {
      const a = leaf as NdArray
      const out = toFovea(name, storedArray(a, name))
      if (out.conversion !== undefined) conversions.push(out.conversion)
      tensors.set(name, fromTypedArray(out.data, a.shape, out.dtype))
    }
    return makeCheckpoint('pkl', path, tensors, selected.metadata, conversions, selected.notes)
  })
