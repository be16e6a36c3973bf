import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

type Case = { op: string; name: string; params: any; shape: number[]; x: number[]; outShape: number[]; y: number[] }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/pool.json', import.meta.url), 'utf8')) as { cases: Case[] }

const f32 = (shape: readonly number[], values: readonly number[]): F.Concrete => F.tensor(Float32Array.from(values), { shape })

/** A shuffled grid 0.1 apart: no ties, and ±ε·v perturbations in checkGrads never swap a maximum. */
const distinct = (shape: readonly number[], seed = 3): F.Concrete => {
  const n = shape.reduce((a, b) => a * b, 1)
  const order = Array.from({ length: n }, (_, i) => i)
  let s = seed
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648
    const j = s % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return f32(shape, order.map((v) => v * 0.1 - n * 0.05))
}

const apply = (c: Case, x: Tensor): Tensor =>
  c.op === 'maxPool2d' ? F.maxPool2d(x, c.params) : c.op === 'avgPool2d' ? F.avgPool2d(x, c.params) : F.adaptiveAvgPool2d(x, c.params.outputSize)

test('pooling matches the NumPy re-implementation of PyTorch (fixture)', async () => {
  assert.ok(fixture.cases.length >= 19)
  for (const c of fixture.cases) {
    const y = apply(c, f32(c.shape, c.x))
    assert.equal([...y.shape], c.outShape, `${c.op} ${c.name}: shape`)
    await expectTensor(y, c.y, { rtol: 1e-5, atol: 1e-6 })
  }
})

test('pooling matches values PyTorch prints', async () => {
  const a25 = F.reshape(F.arange(0, 25, 1, 'float32'), [1, 1, 5, 5])
  // torch.nn.functional.max_pool2d(torch.arange(25.).view(1,1,5,5), 2, ceil_mode=True)
  await expectTensor(F.maxPool2d(a25, { kernelSize: 2, ceilMode: true }), [[6, 8, 9], [16, 18, 19], [21, 23, 24]], {}, [1, 1, 3, 3])
  await expectTensor(F.maxPool2d(a25, { kernelSize: 2 }), [[6, 8], [16, 18]], {}, [1, 1, 2, 2])
  // avg_pool2d(torch.ones(1,1,3,3), 2, padding=1): the padding counts in the divisor ...
  await expectTensor(F.avgPool2d(F.ones([1, 1, 3, 3]), { kernelSize: 2, padding: 1 }), [[0.25, 0.5], [0.5, 1]])
  // ... unless count_include_pad=False
  await expectTensor(F.avgPool2d(F.ones([1, 1, 3, 3]), { kernelSize: 2, padding: 1, countIncludePad: false }), [[1, 1], [1, 1]])
  // adaptive_avg_pool2d(torch.arange(5.).view(1,1,1,5), (1,3)): bins [0,2), [1,4), [3,5)
  await expectTensor(F.adaptiveAvgPool2d(F.reshape(F.arange(0, 5, 1, 'float32'), [1, 1, 1, 5]), [1, 3]), [0.5, 2, 3.5])
})

test('maxPool2d pads with -inf: all-negative windows at the border stay negative', async () => {
  const x = F.full([1, 1, 2, 2], -5)
  await expectTensor(F.maxPool2d(x, { kernelSize: 2, stride: 1, padding: 1 }), new Array(9).fill(-5), {}, [1, 1, 3, 3])
})

test('maxPool2d gradient: finite differences, jvp vs vjp, second order', async () => {
  const x = distinct([2, 2, 7, 6])
  await checkGrads((t) => F.maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }), [x])
  await checkGrads((t) => F.maxPool2d(t, { kernelSize: [2, 3], stride: [1, 2], dilation: [2, 1] }), [x])
  await checkGrads((t) => F.mul(F.maxPool2d(t, { kernelSize: 2 }), F.maxPool2d(t, { kernelSize: 2 })), [x], { secondOrder: true })
})

test('maxPool2d routes the gradient of a tied window to its first maximum only', async () => {
  const x = f32([1, 1, 2, 4], [1, 1, 3, 3, 1, 1, 3, 3])
  const g = F.grad((t: Tensor) => F.sum(F.maxPool2d(t, { kernelSize: 2 })))(x) as Tensor
  await expectTensor(g, [1, 0, 1, 0, 0, 0, 0, 0])
  // Overlapping windows that share a maximum each send their cotangent there: they add up.
  const h = F.grad((t: Tensor) => F.sum(F.maxPool2d(t, { kernelSize: 2, stride: 1 })))(f32([1, 1, 2, 3], [0, 9, 0, 0, 0, 0]))
  await expectTensor(h as Tensor, [0, 2, 0, 0, 0, 0])
  // The jvp reads the tangent at the same element.
  const [, t] = F.jvp((u: Tensor) => F.maxPool2d(u, { kernelSize: 2 }), [x], [f32([1, 1, 2, 4], [10, 20, 30, 40, 50, 60, 70, 80])])
  await expectTensor(t as Tensor, [10, 30])
})

test('avgPool2d and adaptiveAvgPool2d gradients, including second order', async () => {
  const x = randn([2, 3, 7, 6], 11)
  await checkGrads((t) => F.avgPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [x])
  await checkGrads((t) => F.avgPool2d(t, { kernelSize: [2, 3], stride: [3, 1], padding: [1, 0] }), [x])
  await checkGrads((t) => F.adaptiveAvgPool2d(t, [3, 4]), [x])
  await checkGrads((t) => F.adaptiveAvgPool2d(t, [9, 5]), [x])
  // Nonlinear around the linear op, so second order goes through resample2d and its transpose.
  await checkGrads((t) => F.tanh(F.avgPool2d(F.mul(t, t), { kernelSize: 2, padding: 1 })), [x], { secondOrder: true })
  await checkGrads((t) => F.sin(F.adaptiveAvgPool2d(F.mul(t, t), 3)), [x], { secondOrder: true })
})

test('vmap of pooling folds the batch axis into N and matches a loop', async () => {
  const xs = distinct([3, 2, 2, 5, 5], 9)
  const host = await F.toArray(xs)
  const element = (b: number): Tensor => f32([2, 2, 5, 5], Array.from(host.subarray(b * 100, (b + 1) * 100)))
  const ops: ((t: Tensor) => Tensor)[] = [
    (t) => F.maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1 }),
    (t) => F.avgPool2d(t, { kernelSize: 2, stride: 1, padding: 1, countIncludePad: false }),
    (t) => F.adaptiveAvgPool2d(t, [2, 3]),
  ]
  for (const f of ops) {
    const loop = F.stack([0, 1, 2].map((b) => f(element(b))))
    await expectTensor(F.vmap(f)(xs), await F.toArray(loop))
    // Batch axis in the middle, and per-example gradients (vmap of the scatter/transpose primitives).
    await expectTensor(F.vmap(f, 1, 1)(F.moveAxis(xs, 0, 1)), await F.toArray(F.moveAxis(loop, 0, 1)))
    const g = (t: Tensor) => F.grad((u: Tensor) => F.sum(F.square(f(u))))(t) as Tensor
    const gLoop = F.stack([0, 1, 2].map((b) => g(element(b))))
    await expectTensor(F.vmap(g)(xs), await F.toArray(gLoop), { rtol: 1e-5, atol: 1e-5 })
  }
})

test('vmap over cotangents only: the unbatched keys are shared by every batch element', async () => {
  const x = distinct([1, 2, 4, 4], 4)
  const opts = { kernelSize: 2, stride: 1 }
  const [, back] = F.vjp((t: Tensor) => F.maxPool2d(t, opts), x)
  const cts = randn([3, 1, 2, 3, 3], 6)
  const host = await F.toArray(cts)
  const loop = F.stack([0, 1, 2].map((b) => back(f32([1, 2, 3, 3], Array.from(host.subarray(b * 18, (b + 1) * 18))))[0] as Tensor))
  await expectTensor(F.vmap((c: Tensor) => back(c)[0])(cts), await F.toArray(loop))
})

test('pooling rejects bad inputs with messages naming op, shapes and dtypes', () => {
  const x = F.zeros([1, 2, 5, 5])
  throwsFovea(() => F.maxPool2d(F.zeros([2, 5, 5]), { kernelSize: 2 }), 'maxPool2d', '4-d NCHW', 'f32[2,5,5]')
  throwsFovea(() => F.avgPool2d(F.zeros([5, 5]), { kernelSize: 2 }), 'avgPool2d', 'f32[5,5]')
  throwsFovea(() => F.adaptiveAvgPool2d(F.zeros([1, 1, 1, 2, 2]), 1), 'adaptiveAvgPool2d', 'f32[1,1,1,2,2]')
  throwsFovea(() => F.maxPool2d(F.zeros([1, 1, 4, 4], 'int32'), { kernelSize: 2 }), 'maxPool2d', 'float32', 'i32[1,1,4,4]')
  throwsFovea(() => F.maxPool2d(x, { kernelSize: 7 }), 'maxPool2d', 'kernel 7x7', 'larger than the input f32[1,2,5,5]', 'output would be 0x0')
  throwsFovea(() => F.maxPool2d(x, { kernelSize: 3, dilation: 3 }), 'maxPool2d', 'span 7x7', 'f32[1,2,5,5]')
  throwsFovea(() => F.avgPool2d(x, { kernelSize: [6, 2], padding: [0, 1] }), 'avgPool2d', 'kernel 6x2', 'f32[1,2,5,5]')
  throwsFovea(() => F.maxPool2d(x, { kernelSize: 3, padding: 2 }), 'maxPool2d', 'padding 2x2', 'at most half the kernel size 3x3', 'f32[1,2,5,5]')
  throwsFovea(() => F.avgPool2d(x, { kernelSize: 2, padding: [0, 2] }), 'avgPool2d', 'padding 0x2', 'f32[1,2,5,5]')
  throwsFovea(() => F.maxPool2d(x, { kernelSize: 0 }), 'maxPool2d', 'kernelSize must be an integer ≥ 1', 'f32[1,2,5,5]')
  throwsFovea(() => F.maxPool2d(x, { kernelSize: 2, stride: 1.5 }), 'maxPool2d', 'stride', '1.5')
  throwsFovea(() => F.avgPool2d(x, { kernelSize: 2, dilation: 2 } as any), 'avgPool2d', 'no dilation')
  throwsFovea(() => F.adaptiveAvgPool2d(x, [0, 2]), 'adaptiveAvgPool2d', 'outputSize', '[0,2]', 'f32[1,2,5,5]')
})

/** adaptive_max_pool2d written as loops over PyTorch's bins (floor(i·H/out) to ceil((i+1)·H/out)). */
const adaptiveMaxLoops = (x: Float32Array, [n, c, h, w]: number[], oh: number, ow: number): number[] => {
  const out: number[] = []
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let m = -Infinity
        for (let r = Math.floor((i * h) / oh); r < Math.ceil(((i + 1) * h) / oh); r++) {
          for (let q = Math.floor((j * w) / ow); q < Math.ceil(((j + 1) * w) / ow); q++) m = Math.max(m, x[(b * h + r) * w + q]!)
        }
        out.push(m)
      }
    }
  }
  return out
}

test('adaptiveMaxPool2d: PyTorch bins (overlapping, repeating, even), gradients, bad input', async () => {
  // adaptive_max_pool2d(torch.arange(5.).view(1,1,1,5), (1,3)): bins [0,2), [1,4), [3,5)
  await expectTensor(F.adaptiveMaxPool2d(F.reshape(F.arange(0, 5, 1, 'float32'), [1, 1, 1, 5]), [1, 3]), [1, 3, 4], {}, [1, 1, 1, 3])
  const shape = [2, 3, 7, 9]
  const x = distinct(shape, 5)
  const data = (await F.toArray(x)) as Float32Array
  for (const [oh, ow] of [[3, 4], [9, 5], [7, 3], [1, 1], [2, 9]] as const) {
    await expectTensor(F.adaptiveMaxPool2d(x, [oh, ow]), adaptiveMaxLoops(data, shape, oh, ow), { rtol: 0, atol: 0 }, [2, 3, oh, ow])
  }
  await checkGrads((t) => F.adaptiveMaxPool2d(t, [3, 4]), [distinct([1, 2, 7, 6], 7)])
  await checkGrads((t) => F.adaptiveMaxPool2d(t, [7, 2]), [distinct([1, 2, 7, 6], 8)])
  throwsFovea(() => F.adaptiveMaxPool2d(F.zeros([2, 3, 4]), 2), 'adaptiveMaxPool2d', 'f32[2,3,4]')
  throwsFovea(() => F.adaptiveMaxPool2d(F.zeros([1, 1, 4, 4]), 0), 'adaptiveMaxPool2d', 'outputSize')
})

test.run()
