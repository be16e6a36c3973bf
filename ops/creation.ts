/**
 * Creating tensors from host data. Created tensors are concrete values on the current backend (inside a
 * transformation they are constants). Plain JS numbers default to float32, booleans to bool.
 */
import { type DType, type TypedArray, allocate, dtypeOfArray, isDType } from '../core/dtype.js'
import { fail } from '../core/errors.js'
import { getBackendRecord } from '../core/backend/registry.js'
import { type Shape, checkShape, size } from '../core/shape.js'
import type { Concrete } from '../core/tensor.js'

export type NestedArray = number | boolean | readonly NestedArray[]

export type TensorOptions = { readonly dtype?: DType; readonly shape?: Shape }

const inferShape = (data: NestedArray): number[] => {
  const shape: number[] = []
  let x: NestedArray = data
  while (Array.isArray(x)) {
    shape.push(x.length)
    x = (x as readonly NestedArray[])[0] as NestedArray
    if (x === undefined) break
  }
  return shape
}

const flattenNested = (op: string, data: NestedArray, shape: Shape, out: Float64Array): void => {
  let k = 0
  const walk = (x: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(x)) fail(op, `ragged nested array: expected a scalar at depth ${depth} for shape [${shape.join(',')}]`)
      out[k++] = typeof x === 'boolean' ? Number(x) : (x as number)
      return
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      fail(op, `ragged nested array: expected length ${shape[depth]} at depth ${depth} for shape [${shape.join(',')}]`)
    }
    for (const c of x as readonly NestedArray[]) walk(c, depth + 1)
  }
  walk(data, 0)
}

const firstScalar = (data: NestedArray): number | boolean | undefined => {
  let x: NestedArray | undefined = data
  while (Array.isArray(x)) x = (x as readonly NestedArray[])[0]
  return x as number | boolean | undefined
}

/** Wraps a typed array as a tensor on the current backend (no copy on cpu). */
export const fromTypedArray = (data: TypedArray, shape: Shape, dtype: DType = dtypeOfArray(data)): Concrete =>
  getBackendRecord().fromTypedArray(data, shape, dtype)

/**
 * A tensor from a number, boolean, nested array or typed array. `shape` reshapes flat data; `dtype`
 * converts (numbers default to float32, booleans to bool, typed arrays keep their type).
 */
export const tensor = (data: NestedArray | TypedArray, options: TensorOptions = {}): Concrete => {
  const op = 'tensor'
  if (options.dtype !== undefined && !isDType(options.dtype)) fail(op, `unknown dtype ${JSON.stringify(options.dtype)}; expected float32, int32 or bool`)
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray
    const dtype = options.dtype ?? dtypeOfArray(typed)
    const shape = options.shape ?? [typed.length]
    checkShape(op, shape)
    if (size(shape) !== typed.length) fail(op, `shape [${shape.join(',')}] needs ${size(shape)} elements but the data has ${typed.length}`)
    const out = dtypeOfArray(typed) === dtype ? typed.slice() : convert(typed, dtype)
    return fromTypedArray(out, shape, dtype)
  }
  const inferred = inferShape(data as NestedArray)
  const first = firstScalar(data as NestedArray)
  const dtype = options.dtype ?? (typeof first === 'boolean' ? 'bool' : 'float32')
  const values = new Float64Array(size(inferred))
  flattenNested(op, data as NestedArray, inferred, values)
  const out = convert(values, dtype)
  const shape = options.shape ?? inferred
  checkShape(op, shape)
  if (size(shape) !== out.length) fail(op, `shape [${shape.join(',')}] needs ${size(shape)} elements but the data has ${out.length}`)
  return fromTypedArray(out, shape, dtype)
}

/** Converts host values to `dtype` with the same rules as `cast` (truncation toward zero for int32). */
const convert = (src: ArrayLike<number>, dtype: DType): TypedArray => {
  const out = allocate(dtype, src.length)
  if (dtype === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0
  else if (dtype === 'int32') for (let i = 0; i < src.length; i++) out[i] = Number.isNaN(src[i]) ? 0 : Math.trunc(src[i]!)
  else out.set(src)
  return out
}

/** A tensor of `shape` filled with `value`. */
export const full = (shape: Shape, value: number | boolean, dtype: DType = typeof value === 'boolean' ? 'bool' : 'float32'): Concrete => {
  checkShape('full', shape)
  const out = allocate(dtype, size(shape))
  out.fill(convert([Number(value)], dtype)[0]!)
  return fromTypedArray(out, shape, dtype)
}

export const zeros = (shape: Shape, dtype: DType = 'float32'): Concrete => full(shape, 0, dtype)

export const ones = (shape: Shape, dtype: DType = 'float32'): Concrete => full(shape, 1, dtype)

/**
 * `[start, stop)` in steps of `step` (NumPy semantics; `arange(5)` is 0..4). The dtype defaults to int32
 * when all arguments are integers, float32 otherwise.
 */
export const arange = (start: number, stop?: number, step = 1, dtype?: DType): Concrete => {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop]
  if (step === 0 || !Number.isFinite(step)) fail('arange', `step must be a finite non-zero number, got ${step}`)
  const n = Math.max(0, Math.ceil((hi - lo) / step))
  const dt = dtype ?? ([lo, hi, step].every(Number.isInteger) ? 'int32' : 'float32')
  const values = Array.from({ length: n }, (_, i) => lo + i * step)
  return fromTypedArray(convert(values, dt), [n], dt)
}

/** `n` evenly spaced float32 values from `start` to `stop` inclusive (NumPy `linspace`). */
export const linspace = (start: number, stop: number, n: number): Concrete => {
  if (!Number.isInteger(n) || n < 0) fail('linspace', `count must be a non-negative integer, got ${n}`)
  const step = n > 1 ? (stop - start) / (n - 1) : 0
  const values = Array.from({ length: n }, (_, i) => (i === n - 1 && n > 1 ? stop : start + i * step))
  return fromTypedArray(Float32Array.from(values), [n], 'float32')
}

/** The `n x m` identity matrix (m defaults to n). */
export const eye = (n: number, m = n, dtype: DType = 'float32'): Concrete => {
  checkShape('eye', [n, m])
  const out = allocate(dtype, n * m)
  for (let i = 0; i < Math.min(n, m); i++) out[i * m + i] = 1
  return fromTypedArray(out, [n, m], dtype)
}
