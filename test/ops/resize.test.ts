import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

type Case = { name: string; params: any; shape: number[]; x: number[]; outShape: number[]; y: number[] }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/resize.json', import.meta.url), 'utf8')) as { cases: Case[] }

const f32 = (shape: readonly number[], values: readonly number[]): F.Concrete => F.tensor(Float32Array.from(values), { shape })
const arange2x2 = F.reshape(F.arange(0, 4, 1, 'float32'), [1, 1, 2, 2])

test('interpolate matches the NumPy re-implementation of PyTorch (fixture)', async () => {
  assert.ok(fixture.cases.length >= 21)
  for (const c of fixture.cases) {
    const y = F.interpolate(f32(c.shape, c.x), c.params)
    assert.equal([...y.shape], c.outShape, `${c.name}: shape`)
    await expectTensor(y, c.y, { rtol: 1e-5, atol: 1e-6 })
  }
})

test('interpolate matches values PyTorch documents', async () => {
  // F.interpolate(torch.arange(4.).view(1,1,2,2), scale_factor=2, mode='bilinear', align_corners=False)
  await expectTensor(F.interpolate(arange2x2, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }),
    [[0, 0.25, 0.75, 1], [0.5, 0.75, 1.25, 1.5], [1.5, 1.75, 2.25, 2.5], [2, 2.25, 2.75, 3]], {}, [1, 1, 4, 4])
  // ... align_corners=True: corners map to corners, steps of 1/3
  await expectTensor(F.interpolate(arange2x2, { size: [4, 4], mode: 'bilinear', alignCorners: true }),
    [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7], [6, 7, 8, 9]].map((r) => r.map((v) => v / 3)))
  await expectTensor(F.interpolate(arange2x2, { scaleFactor: 2, mode: 'nearest' }), [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
  // F.interpolate(torch.arange(3.).view(1,1,1,3), size=(1,5)) = [0, 0, 1, 1, 2] (floor(dst·3/5))
  await expectTensor(F.interpolate(F.reshape(F.arange(0, 3, 1, 'float32'), [1, 1, 1, 3]), { size: [1, 5], mode: 'nearest' }), [0, 0, 1, 1, 2])
  // alignCorners defaults to false.
  await expectTensor(F.interpolate(arange2x2, { scaleFactor: 2, mode: 'bilinear' }), await F.toArray(F.interpolate(arange2x2, { scaleFactor: 2, mode: 'bilinear', alignCorners: false })))
})

test('scaleFactor uses 1/scale for source positions, size uses in/out', async () => {
  // 5 → floor(5·1.7) = 8 outputs; PyTorch samples at floor(o/1.7), not floor(o·5/8).
  const x = F.reshape(F.arange(0, 5, 1, 'float32'), [1, 1, 1, 5])
  await expectTensor(F.interpolate(x, { scaleFactor: [1, 1.7], mode: 'nearest' }), [0, 0, 1, 1, 2, 2, 3, 4])
  await expectTensor(F.interpolate(x, { size: [1, 8], mode: 'nearest' }), [0, 0, 1, 1, 2, 3, 3, 4])
})

test('interpolate gradients: finite differences, jvp vs vjp, second order', async () => {
  const x = randn([2, 2, 5, 4], 5)
  for (const alignCorners of [false, true]) {
    await checkGrads((t) => F.interpolate(t, { size: [7, 9], mode: 'bilinear', alignCorners }), [x])
    await checkGrads((t) => F.interpolate(t, { scaleFactor: [0.6, 0.5], mode: 'bilinear', alignCorners }), [x])
  }
  await checkGrads((t) => F.interpolate(t, { scaleFactor: [2, 1.5], mode: 'nearest' }), [x])
  await checkGrads((t) => F.interpolate(t, { size: [3, 2], mode: 'nearest' }), [x])
  await checkGrads((t) => F.tanh(F.interpolate(F.mul(t, t), { size: [6, 3], mode: 'bilinear' })), [x], { secondOrder: true })
})

test('the gradient of nearest upsampling by 2 sums each 2x2 block', async () => {
  const g = F.grad((t: Tensor) => F.sum(F.mul(F.interpolate(t, { scaleFactor: 2, mode: 'nearest' }), F.reshape(F.arange(0, 16, 1, 'float32'), [1, 1, 4, 4]))))(arange2x2)
  await expectTensor(g as Tensor, [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15])
})

test('vmap of interpolate matches a loop (batch axis folded into N)', async () => {
  const xs = randn([3, 2, 2, 3, 4], 8)
  const host = await F.toArray(xs)
  const element = (b: number): Tensor => f32([2, 2, 3, 4], Array.from(host.subarray(b * 48, (b + 1) * 48)))
  const f = (t: Tensor) => F.interpolate(t, { size: [5, 6], mode: 'bilinear', alignCorners: true })
  const loop = F.stack([0, 1, 2].map((b) => f(element(b))))
  await expectTensor(F.vmap(f)(xs), await F.toArray(loop))
  const g = (t: Tensor) => F.grad((u: Tensor) => F.sum(F.square(f(u))))(t) as Tensor
  await expectTensor(F.vmap(g)(xs), await F.toArray(F.stack([0, 1, 2].map((b) => g(element(b))))), { rtol: 1e-5, atol: 1e-5 })
})

test('interpolate rejects bad inputs with messages naming op, shapes and dtypes', () => {
  const x = F.zeros([1, 2, 3, 3])
  throwsFovea(() => F.interpolate(F.zeros([2, 3, 3]), { size: [4, 4], mode: 'nearest' }), 'interpolate', '4-d NCHW', 'f32[2,3,3]')
  throwsFovea(() => F.interpolate(F.zeros([1, 1, 3, 3], 'int32'), { size: [4, 4], mode: 'nearest' }), 'interpolate', 'i32[1,1,3,3]')
  throwsFovea(() => F.interpolate(x, { size: [4, 4], scaleFactor: 2, mode: 'nearest' }), 'interpolate', 'exactly one of size and scaleFactor', 'both', 'f32[1,2,3,3]')
  throwsFovea(() => F.interpolate(x, { mode: 'bilinear' }), 'interpolate', 'exactly one of size and scaleFactor', 'neither', 'f32[1,2,3,3]')
  throwsFovea(() => F.interpolate(x, { size: [4, 4], mode: 'nearest', alignCorners: false }), 'interpolate', 'alignCorners', "'nearest'")
  throwsFovea(() => F.interpolate(x, { size: [4, 4], mode: 'bicubic' as any }), 'interpolate', "'nearest', 'bilinear'", '"bicubic"')
  throwsFovea(() => F.interpolate(x, { scaleFactor: -1, mode: 'nearest' }), 'interpolate', 'scaleFactor must be a positive', 'f32[1,2,3,3]')
  throwsFovea(() => F.interpolate(x, { scaleFactor: 0.2, mode: 'nearest' }), 'interpolate', 'sizes must be positive', 'f32[1,2,3,3] → 0x0')
  throwsFovea(() => F.interpolate(x, { size: [0, 4], mode: 'bilinear' }), 'interpolate', 'size', '[0,4]')
})

test.run()
