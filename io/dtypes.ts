/**
 * Element types as checkpoint files store them, and how each lands in fovea's three dtypes.
 *
 * The policy (documented in io/README.md): a stored type is read when every value survives or the change
 * is the one users expect, and refused when it would silently change numbers they rely on.
 * - `F16`, `BF16` → float32 and `I8`, `U8`, `I16`, `U16` → int32 widen exactly.
 * - `F64` → float32 rounds to nearest (PyTorch's `.float()`); the conversion record says whether any
 *   value changed. A finite value beyond float32's range is refused rather than turned into ±Infinity.
 * - `I64`, `U64`, `U32` → int32 when every value fits (e.g. `num_batches_tracked`); otherwise refused,
 *   naming the first value that does not fit (fovea has no 64-bit integers).
 * - Anything else (`F8_*`, complex, strings, objects) is refused with the type's name.
 */
import type { DType, TypedArray } from '../core/dtype.js'
import { type Shape, size, stridesOf } from '../core/shape.js'
import { problem } from './errors.js'

export type StoredDType = 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64'

export const itemSize: Readonly<Record<StoredDType, number>> = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
}

export const isStoredDType = (x: unknown): x is StoredDType => typeof x === 'string' && Object.hasOwn(itemSize, x)

/** The stored type each fovea dtype is written as. */
export const storedOf: Readonly<Record<DType, StoredDType>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' }

/** The fovea dtype each stored type is read as. */
export const foveaOf: Readonly<Record<StoredDType, DType>> = {
  BOOL: 'bool', U8: 'int32', I8: 'int32', I16: 'int32', U16: 'int32', I32: 'int32', U32: 'int32', I64: 'int32', U64: 'int32',
  F16: 'float32', BF16: 'float32', F32: 'float32', F64: 'float32',
}

/**
 * A strided view into a storage, as a file describes it (offset and strides in elements, like PyTorch's
 * `storage_offset`/`stride()`): `bytes` is the whole storage, which other views may share.
 */
export type StoredArray = {
  readonly dtype: StoredDType
  readonly shape: Shape
  readonly strides: readonly number[]
  readonly offset: number
  readonly bytes: Uint8Array
  readonly littleEndian: boolean
}

/** One tensor whose stored type was not its fovea dtype; `exact` says no value changed. */
export type Conversion = { readonly name: string; readonly from: StoredDType; readonly to: DType; readonly exact: boolean }

export type Converted = { readonly data: TypedArray; readonly dtype: DType; readonly conversion?: Conversion }

const isContiguous = (shape: Shape, strides: readonly number[]): boolean => {
  const want = stridesOf(shape)
  return shape.every((d, i) => d === 1 || strides[i] === want[i])
}

/** Copies a strided view into a fresh contiguous byte array (rare in checkpoints: transposed saves). */
const gather = (src: Uint8Array, item: number, shape: Shape, strides: readonly number[], offset: number): Uint8Array => {
  const n = size(shape)
  const out = new Uint8Array(n * item)
  const rank = shape.length
  const index = new Array<number>(rank).fill(0)
  let at = offset
  for (let k = 0; k < n; k++) {
    const from = at * item
    for (let b = 0; b < item; b++) out[k * item + b] = src[from + b]!
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++
      at += strides[d]!
      if (index[d]! < shape[d]!) break
      at -= strides[d]! * shape[d]!
      index[d] = 0
    }
  }
  return out
}

const byteSwapped = (src: Uint8Array, item: number): Uint8Array => {
  const out = new Uint8Array(src.length)
  for (let i = 0; i < src.length; i += item) for (let b = 0; b < item; b++) out[i + b] = src[i + item - 1 - b]!
  return out
}

/** `src` with its byteOffset a multiple of `item`, copying only when it is not. */
const aligned = (src: Uint8Array, item: number): Uint8Array => (src.byteOffset % item === 0 ? src : src.slice())

let halfTable: Float32Array | undefined
const halfToFloat = (): Float32Array => {
  if (halfTable !== undefined) return halfTable
  halfTable = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const exponent = (h >> 10) & 0x1f
    const mantissa = h & 0x3ff
    halfTable[h] = exponent === 0 ? sign * mantissa * 2 ** -24 : exponent === 31 ? (mantissa !== 0 ? NaN : sign * Infinity) : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
  }
  return halfTable
}

const tooWide = (name: string, from: StoredDType, value: string, index: number): never =>
  problem('unsupported', `${from} value ${value} at flat index ${index} does not fit in int32 (fovea has no 64-bit integers); refusing to truncate it`, name)

/** Converts `n` contiguous little-endian elements of `from`; `owned` lets a float32/int32 result alias `u8`. */
const convert = (name: string, from: StoredDType, u8: Uint8Array, n: number, owned: boolean): { data: TypedArray; exact: boolean } => {
  const src = aligned(u8, itemSize[from])
  const view = <T>(make: (b: ArrayBufferLike, o: number, l: number) => T, per: number): T => make(src.buffer, src.byteOffset, n * per)
  switch (from) {
    case 'F32': {
      const v = view((b, o, l) => new Float32Array(b, o, l), 1)
      return { data: owned || src !== u8 ? v : v.slice(), exact: true }
    }
    case 'I32': {
      const v = view((b, o, l) => new Int32Array(b, o, l), 1)
      return { data: owned || src !== u8 ? v : v.slice(), exact: true }
    }
    case 'BOOL':
      return { data: Uint8Array.from(src.subarray(0, n), (v) => (v !== 0 ? 1 : 0)), exact: true }
    case 'U8':
      return { data: Int32Array.from(src.subarray(0, n)), exact: true }
    case 'I8':
      return { data: Int32Array.from(view((b, o, l) => new Int8Array(b, o, l), 1)), exact: true }
    case 'I16':
      return { data: Int32Array.from(view((b, o, l) => new Int16Array(b, o, l), 1)), exact: true }
    case 'U16':
      return { data: Int32Array.from(view((b, o, l) => new Uint16Array(b, o, l), 1)), exact: true }
    case 'F16': {
      const table = halfToFloat()
      const h = view((b, o, l) => new Uint16Array(b, o, l), 1)
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = table[h[i]!]!
      return { data: out, exact: true }
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32, so widening is a shift.
      const h = view((b, o, l) => new Uint16Array(b, o, l), 1)
      const out = new Float32Array(n)
      const bits = new Uint32Array(out.buffer)
      for (let i = 0; i < n; i++) bits[i] = h[i]! << 16
      return { data: out, exact: true }
    }
    case 'F64': {
      const d = view((b, o, l) => new Float64Array(b, o, l), 1)
      const out = Float32Array.from(d)
      let exact = true
      for (let i = 0; i < n; i++) {
        const f = out[i]!
        if (f !== d[i]) {
          if (Number.isNaN(f)) continue
          if (!Number.isFinite(f)) problem('unsupported', `F64 value ${d[i]} at flat index ${i} overflows float32; refusing to turn it into ${f}`, name)
          exact = false
        }
      }
      return { data: out, exact }
    }
    case 'U32': {
      const v = view((b, o, l) => new Int32Array(b, o, l), 1)
      for (let i = 0; i < n; i++) if (v[i]! < 0) tooWide(name, from, String(v[i]! >>> 0), i)
      return { data: v.slice(), exact: true }
    }
    case 'I64':
    case 'U64': {
      const v = view((b, o, l) => new Int32Array(b, o, l), 2)
      const out = new Int32Array(n)
      for (let i = 0; i < n; i++) {
        const lo = v[2 * i]!
        const hi = v[2 * i + 1]!
        const fits = from === 'I64' ? hi === lo >> 31 : hi === 0 && lo >= 0
        if (!fits) tooWide(name, from, String(from === 'I64' ? (BigInt(hi) << 32n) | BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)), i)
        out[i] = lo
      }
      return { data: out, exact: true }
    }
    default:
      return from satisfies never
  }
}

/**
 * Reads a stored view into a fresh contiguous fovea array: gathers strided views, swaps big-endian bytes,
 * then converts by the policy above. `owned: true` promises nobody else holds `a.bytes`, so a contiguous
 * float32/int32 view is returned without a copy. Throws a `CheckpointProblem` naming `name`.
 */
export const toFovea = (name: string, a: StoredArray, owned = false): Converted => {
  const item = itemSize[a.dtype]
  const n = size(a.shape)
  if (!Number.isInteger(a.offset) || a.offset < 0 || a.strides.some((s) => !Number.isInteger(s) || s < 0)) {
    problem('corrupt', `invalid view: offset ${a.offset}, strides [${a.strides.join(',')}]`, name)
  }
  const storageElems = Math.floor(a.bytes.length / item)
  if (n > 0) {
    const last = a.offset + a.shape.reduce((acc, d, i) => acc + (d - 1) * a.strides[i]!, 0)
    if (last >= storageElems) problem('corrupt', `view [${a.shape.join(',')}] at offset ${a.offset} with strides [${a.strides.join(',')}] reaches element ${last} but its storage holds ${storageElems} ${a.dtype} elements`, name)
  }
  const contiguous = isContiguous(a.shape, a.strides)
  let bytes = contiguous ? a.bytes.subarray(a.offset * item, (a.offset + n) * item) : gather(a.bytes, item, a.shape, a.strides, a.offset)
  let fresh = !contiguous || owned
  if (!a.littleEndian && item > 1) {
    bytes = byteSwapped(bytes, item)
    fresh = true
  }
  const { data, exact } = convert(name, a.dtype, bytes, n, fresh)
  const dtype = foveaOf[a.dtype]
  const same = a.dtype === storedOf[dtype]
  return same ? { data, dtype } : { data, dtype, conversion: { name, from: a.dtype, to: dtype, exact } }
}

/** One line per (stored type → dtype) pair, for a checkpoint's `notes`. */
export const conversionNotes = (conversions: readonly Conversion[]): string[] => {
  const groups = new Map<string, Conversion[]>()
  for (const c of conversions) groups.set(`${c.from} → ${c.to}`, [...(groups.get(`${c.from} → ${c.to}`) ?? []), c])
  return [...groups].map(([pair, cs]) => {
    const changed = cs.filter((c) => !c.exact).map((c) => c.name)
    const what = changed.length === 0 ? 'every value exact' : `rounded to nearest; values changed in ${changed.length}: ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', …' : ''}`
    return `${pair}: ${cs.length} tensor${cs.length === 1 ? '' : 's'} (${what})`
  })
}
