/**
 * Matrix product with NumPy/PyTorch semantics. The primitive takes operands of rank ≥ 2 whose leading
 * (batch) axes broadcast; the public `matmul` promotes 1-D operands and drops the added axis, as
 * `numpy.matmul` does. Each batch element is one call of the blocked GEMM in gemm.ts.
 *
 * The primitive may also read either operand as the transpose of what is stored (`transposeA`: a is
 * [..., K, M]; `transposeB`: b is [..., N, K]). The public op never sets them; the vjp does, so that the
 * gradients ct·Bᵀ and Aᵀ·ct read the operands in place instead of materialising their transposes (both
 * kernels, CPU and WebGPU, take strided/transposed operands at no extra cost).
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { BatchDim, Rule } from '../../core/rule.js'
import { type Shape, broadcastShapes, size } from '../../core/shape.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { add } from '../elementwise/binary.js'
import { describeAll, expectDTypes } from '../operand.js'
import { sumToShape } from '../reduce/sum.js'
import { batchFirst, reshape } from '../shape/basic.js'
import { type MatrixView, gemm, rowMajor, transposed } from './gemm.js'
import { matmulGpu } from './matmul-wgsl.js'

export type MatmulParams = { readonly transposeA?: boolean; readonly transposeB?: boolean }

/** m, k of op(a) and k, n of op(b), reading the flags. */
const dims = (a: Aval, b: Aval, p: MatmulParams) => {
  const [ar, ac] = a.shape.slice(-2) as [number, number]
  const [br, bc] = b.shape.slice(-2) as [number, number]
  return p.transposeA ? p.transposeB ? { m: ac, k: ar, kb: bc, n: br } : { m: ac, k: ar, kb: br, n: bc }
    : p.transposeB ? { m: ar, k: ac, kb: bc, n: br } : { m: ar, k: ac, kb: br, n: bc }
}

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
  abstractEval: ([a, b], p) => {
    if (a!.shape.length < 2 || b!.shape.length < 2) fail('matmul', `primitive needs rank ≥ 2 operands, got ${describeAll([a!, b!])}`)
    expectDTypes('matmul', [a!, b!], ['float32'], "cast(x, 'float32') first (integer matmul is not supported)")
    const { m, k, kb, n } = dims(a!, b!, p)
    const flags = `${p.transposeA ? ', a transposed' : ''}${p.transposeB ? ', b transposed' : ''}`
    if (k !== kb) fail('matmul', `inner dimensions do not match: ${describeAval(a!)} @ ${describeAval(b!)} (${k} vs ${kb}${flags})`)
    return [{ shape: [...batchShape(a!, b!), m, n], dtype: 'float32' }]
  },
  cpu: ([a, b], p, [o]) => {
    const { m, k, n } = dims(a!, b!, p)
    const out = new Float32Array(size(o!.shape))
    const ad = a!.data as Float32Array
    const bd = b!.data as Float32Array
    const viewA = (off: number): MatrixView => (p.transposeA ? transposed(ad, off, m) : rowMajor(ad, off, k))
    const viewB = (off: number): MatrixView => (p.transposeB ? transposed(bd, off, k) : rowMajor(bd, off, n))
    const batch = o!.shape.slice(0, -2)
    const bBatch = b!.shape.slice(0, -2)
    if (size(bBatch) === 1 && !p.transposeA) {
      // One right operand for every batch element: fold a's batch into its rows (one large GEMM).
      gemm(size(batch) * m, n, k, viewA(0), viewB(0), { data: out, offset: 0, ld: n })
      return [out]
    }
    const aOffsets = batchOffsets(batch, a!.shape.slice(0, -2), m * k)
    const bOffsets = batchOffsets(batch, bBatch, k * n)
    for (let t = 0; t < aOffsets.length; t++) {
      gemm(m, n, k, viewA(aOffsets[t]!), viewB(bOffsets[t]!), { data: out, offset: t * m * n, ld: n })
    }
    return [out]
  },
  webgpu: (ctx, [a, b], p, [o]) => [matmulGpu(ctx, a!, b!, o!, { transA: p.transposeA ?? false, transB: p.transposeB ?? false })],
  jvp: ([a, b], [ta, tb], p) => [add(bind1(matmulRule, [ta!, b!], p), bind1(matmulRule, [a!, tb!], p))],
  vjp: ([ct], [a, b], p, __, [wantA, wantB]) => {
    if (ct === null) return [null, null]
    const tA = p.transposeA ?? false
    const tB = p.transposeB ?? false
    // C = op(A)·op(B): ∂op(A) = ct·op(B)ᵀ and ∂op(B) = op(A)ᵀ·ct, each written back in its operand's
    // stored layout ((XY)ᵀ = YᵀXᵀ when the operand is stored transposed).
    const gradA = () => (tA ? bind1(matmulRule, [b!, ct], { transposeA: tB, transposeB: true }) : bind1(matmulRule, [ct, b!], { transposeB: !tB }))
    const gradB = () => (tB ? bind1(matmulRule, [ct, a!], { transposeA: true, transposeB: tA }) : bind1(matmulRule, [a!, ct], { transposeA: !tA }))
    return [wantA ? sumToShape(gradA(), a!.shape) : null, wantB ? sumToShape(gradB(), b!.shape) : null]
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

/**
 * PyTorch's `F.linear`: x · weightᵀ + bias. x: f32[..., in], weight: f32[out, in], bias: f32[out] →
 * f32[..., out]. The weight is read in place through the product's transposed-operand flag, so no
 * transposed copy of it is made (eagerly or under jit).
 */
export const linear = (x: Tensor, weight: Tensor, bias?: Tensor): Tensor => {
  const all = bias === undefined ? [x, weight] : [x, weight, bias]
  expectDTypes('linear', all, ['float32'], "cast(x, 'float32') first")
  const out = weight.shape[0]
  if (weight.shape.length !== 2 || x.shape.length === 0 || x.shape.at(-1) !== weight.shape[1]) {
    fail('linear', `expected x [..., in] and weight [out, in], got ${describeAll([x, weight])}`)
  }
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== out)) fail('linear', `expected bias [${out}] for weight ${describeAval(weight)}, got ${describeAval(bias)}`)
  const x2 = x.shape.length === 1 ? reshape(x, [1, x.shape[0]!]) : x
  const product = bind1(matmulRule, [x2, weight], { transposeB: true })
  const y = x.shape.length === 1 ? reshape(product, [out!]) : product
  return bias === undefined ? y : add(y, bias)
}
