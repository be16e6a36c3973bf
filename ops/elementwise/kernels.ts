/**
 * CPU loop generation for elementwise primitives. Each op gets its own specialised loops (same-shape,
 * scalar operand, general broadcast) compiled once from an expression string, so V8 sees a monomorphic
 * loop per op instead of a closure call per element — this is what keeps eager CPU ops competitive.
 */
import { type DType, type TypedArray, allocate } from '../../core/dtype.js'
import type { CpuArray } from '../../core/rule.js'
import { type Shape, size, stridesOf } from '../../core/shape.js'

/** Strides of `shape` seen through broadcasting to `outShape` (0 on broadcast axes). */
export const broadcastStrides = (shape: Shape, outShape: Shape): number[] => {
  const own = stridesOf(shape)
  const offset = outShape.length - shape.length
  return outShape.map((d, i) => (i < offset || shape[i - offset] === 1 ? 0 : own[i - offset]!))
}

/**
 * Calls `body(outIndex, inIndices)` for runs of the innermost axis: `inner(o, offsets, n, innerStrides)`
 * processes `n` consecutive output elements. Used by the general broadcast loops.
 */
export const forEachRow = (
  outShape: Shape,
  strides: readonly (readonly number[])[],
  inner: (o: number, offsets: number[], n: number, innerStrides: number[]) => void,
): void => {
  const r = outShape.length
  const total = size(outShape)
  if (total === 0) return
  if (r === 0) {
    inner(0, strides.map(() => 0), 1, strides.map(() => 0))
    return
  }
  const n = outShape[r - 1]!
  const innerStrides = strides.map((s) => s[r - 1]!)
  const idx = new Array<number>(r).fill(0)
  const offsets = strides.map(() => 0)
  for (let o = 0; o < total; o += n) {
    inner(o, offsets, n, innerStrides)
    for (let ax = r - 2; ax >= 0; ax--) {
      idx[ax]!++
      for (let k = 0; k < strides.length; k++) offsets[k]! += strides[k]![ax]!
      if (idx[ax]! < outShape[ax]!) break
      for (let k = 0; k < strides.length; k++) offsets[k]! -= strides[k]![ax]! * idx[ax]!
      idx[ax] = 0
    }
  }
}

const argNames = (arity: number): string[] => Array.from({ length: arity }, (_, i) => String.fromCharCode(97 + i))

/** Scalar helpers visible to kernel expressions (JS has no erf, and rounding must be half-to-even). */
const helpers = {
  erf: (x: number): number => {
    // Taylor series near 0 (keeps relative accuracy for tiny x); Numerical Recipes' erfc Chebyshev fit
    // (fractional error < 1.2e-7) elsewhere. Both are float32-exact enough and port to WGSL unchanged.
    const z = Math.abs(x)
    if (z < 0.5) {
      const x2 = x * x
      return 1.1283791670955126 * x * (1 - x2 * (1 / 3 - x2 * (1 / 10 - x2 * (1 / 42 - x2 * (1 / 216 - x2 / 1320)))))
    }
    const t = 1 / (1 + 0.5 * z)
    const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
      t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return x >= 0 ? 1 - erfc : erfc - 1
  },
  roundEven: (x: number): number => {
    const r = Math.round(x)
    return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r
  },
}

/** Compiles a JS function with `params` and `body`, with the scalar helpers (erf, roundEven) in scope. */
export const compileLoop = (params: readonly string[], body: string): ((...args: unknown[]) => void) =>
  new Function('H', `const { erf, roundEven } = H; return (${params.join(', ')}) => { ${body} }`)(helpers) as (...args: unknown[]) => void

/**
 * Compiles the loops for an elementwise expression over inputs named a, b, c (e.g. `Math.exp(a)`,
 * `a + b`; `erf` and `roundEven` are in scope). Returns a kernel that broadcasts its operands to the
 * output shape.
 */
export const elementwiseKernel = (expr: string, arity: number) => {
  const names = argNames(arity)
  const arrays = names.map((n) => n.toUpperCase())
  const compile = compileLoop
  // Every operand has the output's size: one flat loop.
  // Every operand either has the output's size or is a single value (`x * 1.5`): one flat loop, with the
  // single values read once outside it. One variant per pattern of scalar operands, compiled on first use.
  const flatLoops = new Map<number, (...args: unknown[]) => void>()
  const flatLoop = (scalarMask: number) => {
    let loop = flatLoops.get(scalarMask)
    if (loop === undefined) {
      const isScalar = (k: number) => (scalarMask & (1 << k)) !== 0
      loop = compile(['O', ...arrays, 'n'],
        `${names.map((v, k) => (isScalar(k) ? `const ${v} = ${arrays[k]}[0];` : '')).join(' ')}
         for (let i = 0; i < n; i++) { ${names.map((v, k) => (isScalar(k) ? '' : `const ${v} = ${arrays[k]}[i];`)).join(' ')} O[i] = ${expr}; }`)
      flatLoops.set(scalarMask, loop)
    }
    return loop
  }
  // General: one output row at a time, each operand with its own inner stride (0 = broadcast along the row).
  const row = compile(['O', ...arrays, 'o', 'offs', 'n', 'st'],
    `${names.map((_, k) => `let p${k} = offs[${k}]; const s${k} = st[${k}];`).join(' ')}
     for (let i = 0; i < n; i++) { ${names.map((v, k) => `const ${v} = ${arrays[k]}[p${k}]; p${k} += s${k};`).join(' ')} O[o + i] = ${expr}; }`)
  return (inputs: readonly CpuArray[], outShape: Shape, outDtype: DType): TypedArray => {
    const total = size(outShape)
    const out = allocate(outDtype, total)
    const datas = inputs.map((x) => x.data)
    if (inputs.every((x) => x.data.length === total || x.data.length === 1)) {
      const mask = inputs.reduce((m, x, k) => (x.data.length === 1 && total !== 1 ? m | (1 << k) : m), 0)
      flatLoop(mask)(out, ...datas, total)
      return out
    }
    const strides = inputs.map((x) => broadcastStrides(x.shape, outShape))
    forEachRow(outShape, strides, (o, offsets, n, st) => row(out, ...datas, o, offsets, n, st))
    return out
  }
}
