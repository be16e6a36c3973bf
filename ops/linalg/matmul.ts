/**
 * Matrix product with NumPy/PyTorch semantics. The primitive takes operands of rank ≥ 2 whose leading
 * (batch) axes broadcast; the public `matmul` promotes 1-D operands and drops the added axis, as
 * `numpy.matmul` does. Each batch element is one call of the blocked GEMM in gemm.ts.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Shape, broadcastShapes, size } from '../../core/shape.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { add } from '../elementwise/binary.js'
import { describeAll, expectDTypes } from '../operand.js'
import { sumToShape } from '../reduce/sum.js'
import { batchFirst, reshape, transpose } from '../shape/basic.js'
import { gemm, rowMajor } from './gemm.js'
import { matmulGpu } from './matmul-wgsl.js'

export type MatmulParams = Record<string, never>

const checkOperands = (op: string, a: Aval, b: Aval): void => {
  expectDTypes(op, [a, b], ['float32'], "cast(x, 'float32') first (integer matmul is not supported)")
  if (a.shape.length === 0 || b.shape.length === 0) fail(op, `operands must have rank ≥ 1, got ${describeAll([a, b])}`)
  const k = a.shape[a.shape.length - 1]!
  const kb = b.shape.length === 1 ? b.shape[0]! : b.shape[b.shape.length - 2]!
  if (k !== kb) fail(op, `inner dimensions do not match: ${describeAval(a)} @ ${describeAval(b)} (${k} vs ${kb})`)
}

const batchShape = (a: Aval, b: Aval): number[] =>
  broadcastShapes('matmul', [a.shape.slice(0, -2), b.shape.slice(0, -2)], () => `batch dimensions of ${describeAll([a, b])}`)

/** Element offsets of each output batch element into an operand with batch shape `own` (broadcast). */
const batchOffsets = (out: Shape, own: Shape, matrixSize: number): number[] => {
  const lead = out.length - own.length
  const offsets: number[] = []
  const index = new Array<number>(out.length).fill(0)
  for (let t = 0, total = size(out); t < total; t++) {
    let off = 0
    let stride = matrixSize
    for (let d = own.length - 1; d >= 0; d--) {
      if (own[d] !== 1) off += index[d + lead]! * stride
      stride *= own[d]!
    }
    offsets.push(off)
    for (let d = out.length - 1; d >= 0 && ++index[d]! === out[d]; d--) index[d] = 0
  }
  return offsets
}

export const matmulRule: Rule<MatmulParams> = {
  name: 'matmul',
  abstractEval: ([a, b]) => {
    if (a!.shape.length < 2 || b!.shape.length < 2) fail('matmul', `primitive needs rank ≥ 2 operands, got ${describeAll([a!, b!])}`)
    checkOperands('matmul', a!, b!)
    return [{ shape: [...batchShape(a!, b!), a!.shape.at(-2)!, b!.shape.at(-1)!], dtype: 'float32' }]
  },
  cpu: ([a, b], _, [o]) => {
    const [m, k] = a!.shape.slice(-2) as [number, number]
    const n = b!.shape.at(-1)!
    const out = new Float32Array(size(o!.shape))
    const ad = a!.data as Float32Array
    const bd = b!.data as Float32Array
    const batch = o!.shape.slice(0, -2)
    const bBatch = b!.shape.slice(0, -2)
    if (size(bBatch) === 1) {
      // One right operand for every batch element: fold a's batch into its rows (one large GEMM).
      gemm(size(batch) * m, n, k, rowMajor(ad, 0, k), rowMajor(bd, 0, n), { data: out, offset: 0, ld: n })
      return [out]
    }
    const aOffsets = batchOffsets(batch, a!.shape.slice(0, -2), m * k)
    const bOffsets = batchOffsets(batch, bBatch, k * n)
    for (let t = 0; t < aOffsets.length; t++) {
      gemm(m, n, k, rowMajor(ad, aOffsets[t]!, k), rowMajor(bd, bOffsets[t]!, n), { data: out, offset: t * m * n, ld: n })
    }
    return [out]
  },
  webgpu: (ctx, [a, b], _, [o]) => [matmulGpu(ctx, a!, b!, o!)],
  jvp: ([a, b], [ta, tb]) => [add(bind1(matmulRule, [ta!, b!], {}), bind1(matmulRule, [a!, tb!], {}))],
  vjp: ([ct], [a, b], _, __, [wantA, wantB]) => {
    if (ct === null) return [null, null]
    return [
      wantA ? sumToShape(bind1(matmulRule, [ct, swapLast(b!)], {}), a!.shape) : null,
      wantB ? sumToShape(bind1(matmulRule, [swapLast(a!), ct], {}), b!.shape) : null,
    ]
  },
  vmap: (args, dims, params, n) => {
    // The mapped axis becomes one more (leading) batch axis; batched operands are padded with unit axes to
    // the larger logical rank so that their batch axes line up under broadcasting.
    const rank = Math.max(...args.map((x, i) => x.shape.length - (dims[i] === null ? 0 : 1)))
    const moved = args.map((x, i) => {
      if (dims[i] === null) return x
      const xb = batchFirst(x, dims[i] as BatchDim, n)
      return reshape(xb, [n, ...new Array<number>(rank - (xb.shape.length - 1)).fill(1), ...xb.shape.slice(1)])
    })
    return [[bind1(matmulRule, moved, params)], [0]]
  },
}

/** Swaps the last two axes (the matrix transpose of every batch element). */
const swapLast = (x: Tensor): Tensor => {
  const r = x.shape.length
  return transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2])
}

/**
 * Matrix product with NumPy `matmul` semantics. a: f32[...A, m, k], b: f32[...B, k, n] → f32[broadcast(A, B),
 * m, n]. A 1-D `a` (f32[k]) is treated as f32[1, k] and a 1-D `b` as f32[k, 1]; the added axis is removed
 * from the result, so vector·vector gives a scalar. float32 only.
 */
export const matmul = (a: Tensor, b: Tensor): Tensor => {
  checkOperands('matmul', a, b)
  const a2 = a.shape.length === 1 ? reshape(a, [1, a.shape[0]!]) : a
  const b2 = b.shape.length === 1 ? reshape(b, [b.shape[0]!, 1]) : b
  batchShape(a2, b2)
  const y = bind1(matmulRule, [a2, b2], {})
  if (a.shape.length > 1 && b.shape.length > 1) return y
  const shape = y.shape.slice(0, -2)
  if (a.shape.length > 1) shape.push(y.shape.at(-2)!)
  if (b.shape.length > 1) shape.push(y.shape.at(-1)!)
  return reshape(y, shape)
}
