/**
 * NumPy arrays inside pickles (detectron2 `.pkl` checkpoints). An array pickles as
 * `_reconstruct(ndarray, (0,), b'b')` followed by BUILD with `(version, shape, dtype, is_fortran, raw)`;
 * protocol 5 instead writes `_frombuffer(buffer, dtype, shape, order)`. NumPy 2 moved these under
 * `numpy._core`, so both module spellings are accepted. A dtype pickles as `dtype('f4', False, True)`
 * plus BUILD with a state whose second item is the byte order (`<`, `>`, `|`, `=`).
 */
import { size } from '../core/shape.js'
import { type StoredArray, type StoredDType, itemSize, toFovea } from './dtypes.js'
import { problem } from './errors.js'
import { type PickleGlobal, describePy, latin1Bytes, pickleGlobal } from './pickle.js'

/** Filled in place by BUILD, because the pickle memo may already hold a reference to it. */
export type NpDType = { kind: 'NpDType'; readonly code: string; byteOrder: string }

export type NdArray = {
  kind: 'NdArray'
  shape: number[]
  dtype: NpDType | undefined
  fortran: boolean
  bytes: Uint8Array | undefined
}

export const isNdArray = (x: unknown): x is NdArray => typeof x === 'object' && x !== null && (x as NdArray).kind === 'NdArray'

const isNpDType = (x: unknown): x is NpDType => typeof x === 'object' && x !== null && (x as NpDType).kind === 'NpDType'

const storedByCode: Readonly<Record<string, StoredDType>> = {
  b1: 'BOOL', u1: 'U8', i1: 'I8', i2: 'I16', u2: 'U16', f2: 'F16', i4: 'I32', u4: 'U32', f4: 'F32', f8: 'F64', i8: 'I64', u8: 'U64',
}

// Python 2 pickles array data as latin-1 `str`; Python 3 below protocol 3 via `_codecs.encode`.
const asBytes = latin1Bytes

const shapeOf = (x: unknown, what: string): number[] => {
  if (!Array.isArray(x) || !x.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) return problem('corrupt', `${what}: invalid shape ${describePy(x)}`)
  return x as number[]
}

const makeDType = (args: readonly unknown[]): NpDType => {
  const code = args[0]
  if (typeof code !== 'string') return problem('corrupt', `numpy.dtype expects a type code, got ${describePy(code)}`)
  return { kind: 'NpDType', code, byteOrder: '=' }
}

const setArrayState = (a: NdArray, state: unknown): void => {
  if (!Array.isArray(state)) return problem('corrupt', `ndarray state is ${describePy(state)}, expected a tuple`)
  // (version, shape, dtype, is_fortran, raw) since NumPy 1.0; the version-less 4-tuple is older.
  const [shape, dtype, fortran, raw] = state.length === 5 ? state.slice(1) : state
  if (!isNpDType(dtype)) return problem('corrupt', `ndarray state has dtype ${describePy(dtype)}`)
  a.shape = shapeOf(shape, 'ndarray state')
  a.dtype = dtype
  a.fortran = fortran === true || fortran === 1
  // Object arrays pickle their elements as a list; they are refused when converted, not here.
  a.bytes = Array.isArray(raw) ? undefined : asBytes(raw, 'ndarray data')
}

const frombuffer = (args: readonly unknown[]): NdArray => {
  const [buffer, dtype, shape, order] = args
  if (!isNpDType(dtype)) return problem('corrupt', `_frombuffer has dtype ${describePy(dtype)}`)
  return { kind: 'NdArray', shape: shapeOf(shape, '_frombuffer'), dtype, fortran: order === 'F', bytes: asBytes(buffer, '_frombuffer') }
}

const scalar = (args: readonly unknown[]): number | boolean => {
  const [dtype, raw] = args
  if (!isNpDType(dtype)) return problem('corrupt', `numpy scalar has dtype ${describePy(dtype)}`)
  const a = storedArray({ kind: 'NdArray', shape: [], dtype, fortran: false, bytes: asBytes(raw, 'numpy scalar') }, 'numpy scalar')
  const value = toFovea('numpy scalar', a).data[0]!
  return dtype.code === 'b1' ? value !== 0 : value
}

/** The globals NumPy arrays need, under both `numpy.core` (NumPy 1) and `numpy._core` (NumPy 2). */
export const numpyGlobals = (): PickleGlobal[] => {
  const reconstruct = (): NdArray => ({ kind: 'NdArray', shape: [0], dtype: undefined, fortran: false, bytes: undefined })
  return [
    pickleGlobal('numpy', 'ndarray'),
    pickleGlobal('numpy', 'dtype', makeDType),
    ...['numpy.core', 'numpy._core'].flatMap((core) => [
      pickleGlobal(`${core}.multiarray`, '_reconstruct', reconstruct),
      pickleGlobal(`${core}.multiarray`, 'scalar', scalar),
      pickleGlobal(`${core}.numeric`, '_frombuffer', frombuffer),
    ]),
  ]
}

/** BUILD for NumPy objects; false for anything else. */
export const numpySetState = (obj: unknown, state: unknown): boolean => {
  if (isNpDType(obj)) {
    if (Array.isArray(state) && typeof state[1] === 'string') obj.byteOrder = state[1]
    return true
  }
  if (isNdArray(obj)) {
    setArrayState(obj, state)
    return true
  }
  return false
}

/** The array as a strided view for `toFovea` (Fortran order is C order of the reversed shape). */
export const storedArray = (a: NdArray, name: string): StoredArray => {
  if (a.dtype === undefined || a.bytes === undefined) {
    return problem('unsupported', a.dtype === undefined ? 'ndarray was never filled (BUILD missing)' : `NumPy dtype ${a.dtype.code} (object array) is not supported`, name)
  }
  const code = a.dtype.code.replace(/^[<>=|]/, '')
  const dtype = storedByCode[code]
  if (dtype === undefined) return problem('unsupported', `NumPy dtype ${a.dtype.code} is not supported (fovea reads bool, int8-64, uint8-64, float16/32/64)`, name)
  const n = size(a.shape)
  if (a.bytes.length !== n * itemSize[dtype]) problem('corrupt', `array data has ${a.bytes.length} bytes but ${a.dtype.code}[${a.shape.join(',')}] needs ${n * itemSize[dtype]}`, name)
  const strides = a.fortran
    ? a.shape.map((_, i) => size(a.shape.slice(0, i)))
    : a.shape.map((_, i) => size(a.shape.slice(i + 1)))
  const bigEndian = a.dtype.code[0] === '>' || a.dtype.byteOrder === '>'
  return { dtype, shape: a.shape, strides, offset: 0, bytes: a.bytes, littleEndian: !bigEndian }
}
