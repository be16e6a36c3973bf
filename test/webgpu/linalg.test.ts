/**
 * WebGPU parity for matmul and the three convolution primitives (and so convTranspose2d and every conv
 * gradient). Tolerance: both sides sum K products in float32 but in different orders (the CPU GEMM
 * blocks by 4, the GPU tiles by 16 and keeps 4-wide partial sums), so results may differ by a few ulps
 * of the partial sums: |Δ| ≲ K·ε·Σ|aᵢbᵢ|. With unit-scale test data that stays well under
 * atol = 2e-6·K plus rtol = 2e-5 (measured: 1e-4 at K = 576 and 5e-4 at K = 3136 on values ~100).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { GpuContext } from '../../core/rule.js'
import { matmulRule } from '../../ops/linalg/matmul.js'
import { conv2dInputGradRule, conv2dRule, conv2dWeightGradRule } from '../../ops/linalg/conv.js'
import { randn } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('linalg')

/** Tolerance for sums of `k` products of unit-scale values. */
const sums = (k: number) => ({ rtol: 2e-5, atol: 2e-6 * Math.max(k, 1) })

/** The same primitive with its lowering seeing a changed device description. */
const onDevice = <R extends { webgpu?: (ctx: GpuContext, ...rest: never[]) => unknown }>(rule: R, patch: Partial<GpuContext>): R => ({
  ...rule,
  webgpu: (ctx: GpuContext, ...rest: never[]) => rule.webgpu!({ ...ctx, ...patch }, ...rest),
})

/** Subgroups hidden: the plain inner loop (what GPUs with 32- or 64-lane subgroups run) on lavapipe too. */
const withoutSubgroups = <R extends { webgpu?: (ctx: GpuContext, ...rest: never[]) => unknown }>(rule: R): R => onDevice(rule, { features: [] })

/** Subgroup sizes reported as 4..32: shaders carry both loops and pick by the run-time lane check. */
const withCheckedSubgroups = <R extends { webgpu?: (ctx: GpuContext, ...rest: never[]) => unknown }>(rule: R): R => onDevice(rule, { subgroupSizes: [4, 32] })

type ConvCase = { readonly name: string; readonly x: number[]; readonly w: number[]; readonly o: F.Conv2dOptions }

const convCases: ConvCase[] = [
  { name: '3×3 pad 1', x: [2, 3, 8, 9], w: [5, 3, 3, 3], o: { padding: 1 } },
  { name: 'stride 2, asymmetric padding, dilation, groups', x: [2, 4, 9, 7], w: [6, 2, 3, 2], o: { stride: [2, 1], padding: [1, 0, 2, 1], dilation: [1, 2], groups: 2 } },
  { name: 'stride 3 with dilation 2 (phases without taps)', x: [1, 2, 11, 10], w: [3, 2, 2, 3], o: { stride: 3, dilation: 2, padding: [0, 2, 1, 0] } },
  { name: 'depthwise stride 2', x: [2, 6, 10, 11], w: [6, 1, 3, 3], o: { stride: 2, padding: 1, groups: 6 } },
  { name: 'depthwise multiplier 2', x: [1, 3, 7, 7], w: [6, 1, 3, 3], o: { padding: 'same', groups: 3 } },
  { name: '1×1', x: [2, 8, 5, 6], w: [16, 8, 1, 1], o: {} },
  { name: '1×1 stride 2 (downsample)', x: [1, 8, 7, 7], w: [12, 8, 1, 1], o: { stride: 2 } },
  { name: '7×7 stride 2 pad 3, 3 input channels (ResNet stem)', x: [1, 3, 33, 35], w: [8, 3, 7, 7], o: { stride: 2, padding: 3 } },
  { name: 'kernel as large as the padded input', x: [1, 2, 3, 4], w: [3, 2, 5, 4], o: { padding: [1, 1, 0, 0] } },
  { name: 'few positions, many channels (channels-major tiles)', x: [1, 64, 5, 5], w: [160, 64, 3, 3], o: { padding: 1 } },
  { name: 'grouped, K not a multiple of 4', x: [2, 30, 4, 3], w: [90, 10, 3, 1], o: { padding: [1, 0, 0, 1], groups: 3 } },
]

if (run) {
  test('matmul: odd sizes, 1×1, K = 0, zero-size, vectors', async () => {
    for (const [m, k, n] of [[1, 1, 1], [17, 33, 5], [130, 70, 65], [5, 3, 300], [64, 128, 64], [129, 17, 257]] as const) {
      await expectParity(() => F.matmul(randn([m, k], m), randn([k, n], n)), sums(k), `${m}×${k}×${n}`)
    }
    await expectParity(() => F.matmul(randn([4, 0], 1), randn([0, 6], 2)), {}, 'K = 0')
    await expectParity(() => F.matmul(F.zeros([0, 5]), randn([5, 3], 2)), {}, 'M = 0')
    await expectParity(() => {
      const v = randn([33], 3)
      return [F.matmul(v, randn([33, 7], 4)), F.matmul(randn([6, 33], 5), v), F.matmul(v, v), F.matmul(randn([2, 4, 33], 6), v)]
    }, sums(33), '1-D operands')
  })

  test('matmul: broadcast batches, transposed and sliced operands', async () => {
    await expectParity(() => F.matmul(randn([2, 1, 5, 6], 1), randn([3, 6, 7], 2)), sums(6), 'batch broadcast both ways')
    await expectParity(() => F.matmul(randn([3, 4, 9, 8], 3), randn([8, 12], 4)), sums(8), 'batch folded into rows')
    await expectParity(() => F.matmul(randn([9, 8], 5), randn([2, 3, 8, 12], 6)), sums(8), 'left operand shared')
    await expectParity(() => F.matmul(F.transpose(randn([40, 30], 7)), F.transpose(randn([20, 40], 8))), sums(40), 'transposed operands')
    await expectParity(() => F.matmul(F.slice(randn([20, 30], 9), [1, 2], [19, 29], [2, 1]), randn([27, 11], 10)), sums(27), 'strided slice')
  })

  test('matmul: the plain inner loop (no subgroups), checked subgroups, a million outputs', async () => {
    const plain = withoutSubgroups(matmulRule)
    for (const [m, k, n] of [[17, 33, 5], [130, 70, 65], [200, 64, 260]] as const) {
      await expectParity(() => bind1(plain, [randn([m, k], 1), randn([k, n], 2)], {}), sums(k), `plain ${m}×${k}×${n}`)
    }
    await expectParity(() => bind1(plain, [randn([2, 1, 5, 6], 1), randn([3, 6, 7], 2)], {}), sums(6), 'plain batched')
    await expectParity(() => bind1(withCheckedSubgroups(matmulRule), [randn([130, 70], 1), randn([70, 65], 2)], {}), sums(70), 'checked subgroups')
    await expectParity(() => F.matmul(randn([1000, 24], 3), randn([24, 1001], 4)), sums(24), '1000×24×1001')
  })

  test('matmul with one output row takes the GEMV kernel: plain, transposed operands, K = 0, a 1-row batch', async () => {
    for (const [transposeA, transposeB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const a = () => randn(transposeA ? [512, 1] : [1, 512], 60)
      const b = () => randn(transposeB ? [1000, 512] : [512, 1000], 61)
      await expectParity(() => bind1(matmulRule, [a(), b()], { transposeA, transposeB }), sums(512), `gemv transposeA ${transposeA}, transposeB ${transposeB}`)
    }
    await expectParity(() => [F.matmul(randn([1, 0], 62), randn([0, 5], 63)), F.matmul(randn([1, 1, 7], 64), randn([7, 3], 65)), F.linear(randn([20], 66), randn([9, 20], 67))], sums(20), 'K = 0, batch of one, linear of a vector')
  })

  // Few rows, many columns: the kernel computes Cᵀ = op(B)ᵀ·op(A)ᵀ on tiles that fit and stores it
  // transposed. Every layout, rows and columns off multiples of 4, and a batch of one.
  test('matmul with few rows and many columns runs turned round: every layout, odd sizes', async () => {
    const turned = (code: string) => code.includes('u * M] =')
    for (const [transposeA, transposeB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      for (const [m, k, n] of [[8, 64, 1000], [13, 37, 523]] as const) {
        const a = () => randn(transposeA ? [k, m] : [m, k], 70)
        const b = () => randn(transposeB ? [n, k] : [k, n], 71)
        const f = () => bind1(matmulRule, [a(), b()], { transposeA, transposeB })
        await F.setBackend('webgpu')
        const wgsl = F.jit((x: Tensor, y: Tensor) => bind1(matmulRule, [x, y], { transposeA, transposeB })).lower(a(), b()).wgsl
        await F.setBackend('cpu')
        assert.ok(wgsl.some(turned), `[${m},${k}]·[${k},${n}] transposeA ${transposeA}, transposeB ${transposeB} runs turned round`)
        await expectParity(f, sums(k), `turned: [${m},${k}]·[${k},${n}], transposeA ${transposeA}, transposeB ${transposeB}`)
      }
    }
    await expectParity(() => F.matmul(randn([1, 6, 40], 72), randn([40, 700], 73)), sums(40), 'a batch of one')
  })

  test('matmul primitive reading transposed operands (what its vjp uses)', async () => {
    for (const [transposeA, transposeB] of [[true, false], [false, true], [true, true]] as const) {
      const a = () => randn(transposeA ? [2, 1, 33, 17] : [2, 1, 17, 33], 1)
      const b = () => randn(transposeB ? [3, 12, 33] : [3, 33, 12], 2)
      await expectParity(() => bind1(matmulRule, [a(), b()], { transposeA, transposeB }), sums(33), `transposeA ${transposeA}, transposeB ${transposeB}`)
      await expectParity(() => bind1(matmulRule, [randn(transposeA ? [64, 130] : [130, 64], 3), randn(transposeB ? [70, 64] : [64, 70], 4)], { transposeA, transposeB }), sums(64), 'aligned')
    }
  })

  test('linear (weight read in place) and its gradients, eager and jitted, match the cpu', async () => {
    const w = () => randn([33, 20], 50)
    const b = () => randn([33], 51)
    const loss = (x: Tensor, v: Tensor, c: Tensor) => F.sum(F.square(F.linear(x, v, c)))
    await expectParity(() => [F.linear(randn([7, 20], 52), w(), b()), F.linear(randn([2, 3, 20], 53), w()), F.linear(randn([20], 54), w(), b())], sums(20))
    await expectParity(() => F.grad(loss, { argnums: [0, 1, 2] })(randn([7, 20], 55), w(), b()) as Tensor[], sums(7))
    const mlp = F.jit((x: Tensor, v: Tensor, c: Tensor) => F.grad((q: Tensor) => F.sum(F.relu(F.linear(x, F.mul(q, 1), c))))(v))
    await expectParity(() => mlp(randn([7, 20], 56), w(), b()), sums(7))
  })

  test('matmul gradients match the cpu', async () => {
    await expectParity(() => {
      const a = randn([3, 7, 9], 1)
      const b = randn([9, 5], 2)
      return F.grad((x: Tensor, y: Tensor) => F.sum(F.square(F.matmul(x, y))), { argnums: [0, 1] })(a, b) as Tensor[]
    }, sums(21))
    await expectParity(() => {
      const w = randn([9, 4], 3)
      const f = (x: Tensor) => F.sum(F.square(F.matmul(F.matmul(F.matmul(x, w), F.transpose(w)), F.transpose(x))))
      return F.grad((x: Tensor) => F.sum(F.grad(f)(x)))(randn([6, 9], 4))
    }, sums(81), 'second order')
  })

  for (const c of convCases) {
    test(`conv2d, its input and weight gradients: ${c.name}`, async () => {
      const k = (c.w[1]! * c.w[2]! * c.w[3]!)
      await expectParity(() => F.conv2d(randn(c.x, 1), randn(c.w, 2), c.o), sums(k), 'conv2d')
      await expectParity(() => {
        const x = randn(c.x, 1)
        const w = randn(c.w, 2)
        const gy = randn(F.conv2d(x, w, c.o).shape as number[], 3)
        return F.grad((xx: Tensor, ww: Tensor) => F.sum(F.mul(F.conv2d(xx, ww, c.o), gy)), { argnums: [0, 1] })(x, w) as Tensor[]
      }, sums(c.x[0]! * c.x[2]! * c.x[3]! * 9), 'gradients')
    })
  }

  test('convTranspose2d: stride, padding, output padding, dilation, groups', async () => {
    await expectParity(() => F.convTranspose2d(randn([2, 4, 5, 6], 1), randn([4, 3, 3, 3], 2), { stride: 2, padding: 1, outputPadding: 1 }), sums(36))
    await expectParity(() => F.convTranspose2d(randn([1, 4, 4, 5], 3), randn([4, 2, 3, 2], 4), { stride: [3, 2], padding: [1, 0], dilation: [1, 2], groups: 2 }), sums(36))
    await expectParity(() => F.convTranspose2d(randn([1, 6, 7, 7], 5), randn([6, 1, 4, 4], 6), { stride: 2, padding: 1, groups: 6 }), sums(16))
  })

  test('conv2d: sliced (non-contiguous) input, a million outputs, zero-size batch', async () => {
    await expectParity(() => F.conv2d(F.slice(randn([2, 5, 12, 12], 1), [0, 1, 1, 0], [2, 4, 12, 11]), randn([4, 3, 3, 3], 2), { padding: 1 }), sums(27))
    await expectParity(() => F.conv2d(randn([1, 8, 180, 180], 3), randn([32, 8, 3, 3], 4), { padding: 1 }), sums(72), 'million outputs')
    await expectParity(() => F.conv2d(F.zeros([0, 3, 5, 5]), randn([2, 3, 3, 3], 5)), {}, 'empty batch')
  })

  test('convolutions on the plain inner loop (no subgroups) and with checked subgroups', async () => {
    const p = { stride: [2, 1], padding: [1, 0, 2, 1], dilation: [1, 2], groups: 2 } as const
    await expectParity(() => bind1(withoutSubgroups(conv2dRule), [randn([2, 4, 9, 7], 6), randn([6, 2, 3, 2], 7)], p), sums(12), 'conv2d')
    await expectParity(() => bind1(withoutSubgroups(conv2dRule), [randn([1, 64, 5, 5], 1), randn([160, 64, 3, 3], 2)], { ...p, stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 }), sums(576), 'channels-major')
    await expectParity(() => bind1(withoutSubgroups(conv2dInputGradRule), [randn([2, 6, 4, 8], 3), randn([6, 2, 3, 2], 7)], { ...p, inputSize: [9, 7] }), sums(18), 'input gradient')
    await expectParity(() => bind1(withoutSubgroups(conv2dWeightGradRule), [randn([2, 4, 9, 7], 6), randn([2, 6, 4, 8], 3)], { ...p, kernelSize: [3, 2] }), sums(64), 'weight gradient')
    await expectParity(() => bind1(withCheckedSubgroups(conv2dRule), [randn([2, 4, 9, 7], 6), randn([6, 2, 3, 2], 7)], p), sums(12), 'checked subgroups (lane-owned gathers)')
  })
}

test.run()
