/**
 * Element types. `bool` is stored one byte per element. Promotion follows JAX's lattice restricted to
 * our three types (bool < int32 < float32); plain JS numbers are weakly typed and adopt the other
 * operand's dtype unless they would not fit (a fraction next to an int32 tensor promotes to float32).
 */
export type DType = 'float32' | 'int32' | 'bool'

export type TypedArray = Float32Array | Int32Array | Uint8Array

export const dtypes: readonly DType[] = ['float32', 'int32', 'bool']

export const isDType = (x: unknown): x is DType => x === 'float32' || x === 'int32' || x === 'bool'

/** Short name used in messages and IR text: `f32`, `i32`, `bool`. */
export const shortName = (d: DType): string => (d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'bool')

export const allocate = (dtype: DType, size: number): TypedArray => {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size)
    case 'int32':
      return new Int32Array(size)
    case 'bool':
      return new Uint8Array(size)
    default:
      return dtype satisfies never
  }
}

export const dtypeOfArray = (a: TypedArray): DType =>
  a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'bool'

export const isFloat = (d: DType): boolean => d === 'float32'

const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2 }

/** The smallest dtype both `a` and `b` convert to without loss of kind. */
export const promote = (a: DType, b: DType): DType => (rank[a] >= rank[b] ? a : b)

/** The dtype a weakly typed JS number takes next to a tensor of dtype `d`. */
export const weakDType = (value: number | boolean, d: DType): DType => {
  if (typeof value === 'boolean') return d
  if (d === 'bool') return Number.isInteger(value) ? 'int32' : 'float32'
  if (d === 'int32' && !Number.isInteger(value)) return 'float32'
  return d
}
