import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { assertClose, checkGrads, expectTensor, randn, throwsFovea } from '../util/check.js'

type Geometry = {
  readonly stride: readonly [number, number]
  readonly padding: readonly [number, number, number, number]
  readonly dilation: readonly [number, number]
  readonly groups: number
}
type Array4 = { readonly shape: [number, number, number, number]; readonly data: number[] }
type FixtureCase = Geometry & { readonly name: string; readonly outputPadding?: [number, number]; readonly x: Array4; readonly w: Array4; readonly y: Array4 }

// JAX (float64) references, see test/fixtures/conv_fixtures.py.
const fixture = JSON.parse(readFileSync(new URL('../fixtures/conv.json', import.meta.url), 'utf8')) as { conv2d: FixtureCase[]; convTranspose2d: FixtureCase[] }

const geometry = (p: Partial<Geometry> = {}): Geometry => ({ stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1, ...p })

/** Direct definition of PyTorch's conv2d: y[n,o,i,j] = Σ x[n, g·Cg + c, i·s − pt + ki·d, j·s − pl + kj·d] · w[o,c,ki,kj]. */
const naiveConv = async (x: Tensor, w: Tensor, p: Geometry): Promise<{ data: number[]; shape: number[] }> => {
  const [xd, wd] = [await F.toArray(x), await F.toArray(w)]
  const [n, c, h, wid] = x.shape as [number, number, number, number]
  const [o, cg, kh, kw] = w.shape as [number, number, number, number]
  const ho = Math.floor((h + p.padding[0] + p.padding[1] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1
  const wo = Math.floor((wid + p.padding[2] + p.padding[3] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1
  const og = o / p.groups
  const data: number[] = []
  for (let b = 0; b < n; b++) for (let oc = 0; oc < o; oc++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let s = 0
    const g = Math.floor(oc / og)
    for (let ci = 0; ci < cg; ci++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
      const ih = i * p.stride[0] - p.padding[0] + ki * p.dilation[0]
      const iw = j * p.stride[1] - p.padding[2] + kj * p.dilation[1]
      if (ih < 0 || ih >= h || iw < 0 || iw >= wid) continue
      s += xd[((b * c + g * cg + ci) * h + ih) * wid + iw]! * wd[((oc * cg + ci) * kh + ki) * kw + kj]!
    }
    data.push(s)
  }
  return { data, shape: [n, o, ho, wo] }
}

/** Direct definition of conv_transpose2d: every input pixel scatters w[ci, :, ki, kj]-weighted copies. */
const naiveConvTranspose = async (x: Tensor, w: Tensor, p: Geometry, outputPadding: readonly [number, number]): Promise<{ data: number[]; shape: number[] }> => {
  const [xd, wd] = [await F.toArray(x), await F.toArray(w)]
  const [n, cin, h, wid] = x.shape as [number, number, number, number]
  const [, cog, kh, kw] = w.shape as [number, number, number, number]
  const ho = (h - 1) * p.stride[0] - p.padding[0] - p.padding[1] + p.dilation[0] * (kh - 1) + outputPadding[0] + 1
  const wo = (wid - 1) * p.stride[1] - p.padding[2] - p.padding[3] + p.dilation[1] * (kw - 1) + outputPadding[1] + 1
  const cout = cog * p.groups
  const cig = cin / p.groups
  const data = new Array<number>(n * cout * ho * wo).fill(0)
  for (let b = 0; b < n; b++) for (let ci = 0; ci < cin; ci++) for (let i = 0; i < h; i++) for (let j = 0; j < wid; j++) {
    const g = Math.floor(ci / cig)
    for (let co = 0; co < cog; co++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
      const oh = i * p.stride[0] - p.padding[0] + ki * p.dilation[0]
      const ow = j * p.stride[1] - p.padding[2] + kj * p.dilation[1]
      if (oh < 0 || oh >= ho || ow < 0 || ow >= wo) continue
      data[((b * cout + g * cog + co) * ho + oh) * wo + ow] += xd[((b * cin + ci) * h + i) * wid + j]! * wd[((ci * cog + co) * kh + ki) * kw + kj]!
    }
  }
  return { data, shape: [n, cout, ho, wo] }
}

const CASES: [string, number[], number[], Geometry][] = [
  ['plain 3×3', [2, 3, 6, 5], [4, 3, 3, 3], geometry()],
  ['stride 2, pad 1', [1, 3, 7, 8], [2, 3, 3, 3], geometry({ stride: [2, 2], padding: [1, 1, 1, 1] })],
  ['asymmetric padding, stride [1,2]', [1, 2, 5, 6], [3, 2, 2, 3], geometry({ stride: [1, 2], padding: [2, 0, 1, 3] })],
  ['dilation 2', [1, 2, 9, 9], [2, 2, 3, 3], geometry({ dilation: [2, 2], padding: [2, 2, 2, 2] })],
  ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], geometry({ groups: 2, padding: [1, 1, 1, 1] })],
  ['depthwise', [1, 3, 5, 5], [3, 1, 3, 3], geometry({ groups: 3, padding: [1, 1, 1, 1], stride: [2, 2] })],
  ['depthwise, channel multiplier 2, dilation 2', [2, 2, 6, 7], [4, 1, 3, 2], geometry({ groups: 2, dilation: [2, 2], padding: [2, 1, 0, 3], stride: [1, 2] })],
  ['1×1', [2, 4, 3, 3], [5, 4, 1, 1], geometry()],
  ['1×1 strided', [1, 4, 5, 5], [2, 4, 1, 1], geometry({ stride: [2, 2] })],
  ['kernel equal to the padded input', [1, 1, 2, 3], [1, 1, 4, 3], geometry({ padding: [1, 1, 0, 0] })],
]

const optionsOf = (p: Geometry) => ({ stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups })

test('conv2d matches a direct reference across stride, padding, dilation and groups', async () => {
  for (const [name, xs, ws, p] of CASES) {
    const x = randn(xs, 1)
    const w = randn(ws, 2)
    const ref = await naiveConv(x, w, p)
    const y = F.conv2d(x, w, optionsOf(p))
    assert.equal([...y.shape], ref.shape, name)
    assertClose(await F.toArray(y), ref.data, { rtol: 1e-5, atol: 1e-5 }, name)
  }
})

test('conv2d matches JAX references (fixture) for each feature', async () => {
  assert.ok(fixture.conv2d.length >= 6)
  for (const c of fixture.conv2d) {
    const y = F.conv2d(F.tensor(Float32Array.from(c.x.data), { shape: c.x.shape }), F.tensor(Float32Array.from(c.w.data), { shape: c.w.shape }), optionsOf(c))
    assert.equal([...y.shape], c.y.shape, c.name)
    assertClose(await F.toArray(y), c.y.data, { rtol: 1e-5, atol: 1e-5 }, c.name)
  }
})

test('conv2d padding forms: number, [ph, pw], [t, b, l, r], same and valid agree', async () => {
  const x = randn([1, 2, 6, 7], 3)
  const w = randn([3, 2, 3, 2], 4)
  const four = await F.toArray(F.conv2d(x, w, { padding: [1, 1, 2, 2] }))
  assertClose(await F.toArray(F.conv2d(x, w, { padding: [1, 2] })), four)
  assertClose(await F.toArray(F.conv2d(x, w, { padding: 1 })), await F.toArray(F.conv2d(x, w, { padding: [1, 1, 1, 1] })))
  assertClose(await F.toArray(F.conv2d(x, w, { padding: 'valid' })), await F.toArray(F.conv2d(x, w)))
  // 'same' with an even kernel width: the extra column goes on the right, as in PyTorch.
  const same = F.conv2d(x, w, { padding: 'same' })
  assert.equal([...same.shape], [1, 3, 6, 7])
  assertClose(await F.toArray(same), (await naiveConv(x, w, geometry({ padding: [1, 1, 0, 1] }))).data, { rtol: 1e-5, atol: 1e-5 })
})

test('convTranspose2d matches a direct reference and JAX (fixture)', async () => {
  const cases: [number[], number[], Geometry, [number, number]][] = [
    [[1, 3, 3, 4], [3, 2, 3, 3], geometry({ stride: [2, 2], padding: [1, 1, 1, 1] }), [1, 1]],
    [[2, 4, 3, 3], [4, 3, 3, 2], geometry({ stride: [2, 3], groups: 2, padding: [0, 0, 1, 1] }), [1, 0]],
    [[1, 2, 4, 4], [2, 2, 2, 3], geometry({ dilation: [2, 1], padding: [1, 0, 0, 2] }), [0, 0]],
    [[1, 4, 3, 3], [4, 1, 3, 3], geometry({ stride: [2, 2], groups: 4, padding: [1, 1, 1, 1] }), [1, 1]],
  ]
  for (const [xs, ws, p, op] of cases) {
    const x = randn(xs, 5)
    const w = randn(ws, 6)
    const ref = await naiveConvTranspose(x, w, p, op)
    const y = F.convTranspose2d(x, w, { ...optionsOf(p), outputPadding: op })
    assert.equal([...y.shape], ref.shape)
    assertClose(await F.toArray(y), ref.data, { rtol: 1e-5, atol: 1e-5 }, JSON.stringify(p))
  }
  for (const c of fixture.convTranspose2d) {
    const y = F.convTranspose2d(F.tensor(Float32Array.from(c.x.data), { shape: c.x.shape }), F.tensor(Float32Array.from(c.w.data), { shape: c.w.shape }), { ...optionsOf(c), outputPadding: c.outputPadding! })
    assert.equal([...y.shape], c.y.shape, c.name)
    assertClose(await F.toArray(y), c.y.data, { rtol: 1e-5, atol: 1e-5 }, c.name)
  }
})

test('large inputs are processed in im2col bands: values and adjoint identities hold', async () => {
  // K·Wo = 3200·40 floats per output row, so the 70 output rows take three bands.
  const x = randn([1, 128, 70, 40], 7)
  const w = randn([2, 128, 5, 5], 8, 0.1)
  const p = geometry({ padding: [2, 2, 2, 2] })
  const y = F.conv2d(x, w, optionsOf(p))
  assertClose(await F.toArray(y), (await naiveConv(x, w, p)).data, { rtol: 1e-4, atol: 1e-4 })
  // ⟨conv(x, w), g⟩ = ⟨x, ∂x⟩ = ⟨w, ∂w⟩ for the bilinear map: checks the banded adjoint kernels.
  const g = randn(y.shape, 9)
  const [, back] = F.vjp((a: Tensor, b: Tensor) => F.conv2d(a, b, optionsOf(p)), x, w)
  const [dx, dw] = back(g) as Tensor[]
  const dot = async (a: Tensor, b: Tensor) => F.item(F.sum(F.mul(a, b)))
  const yg = await dot(y, g)
  assertClose([await dot(x, dx!), await dot(w, dw!)], [yg, yg], { rtol: 1e-3 })
})

test('conv2d gradients (finite differences) across stride, padding, dilation and groups', async () => {
  for (const [name, xs, ws, p] of CASES) {
    try {
      await checkGrads((x, w) => F.conv2d(x, w, optionsOf(p)), [randn(xs, 10), randn(ws, 11)])
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`)
    }
  }
})

test('convTranspose2d gradients (finite differences)', async () => {
  const opts: [number[], number[], F.ConvTranspose2dOptions][] = [
    [[1, 3, 3, 3], [3, 2, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
    [[1, 4, 2, 3], [4, 2, 3, 2], { stride: [2, 1], groups: 2, dilation: [1, 2] }],
    [[2, 2, 3, 3], [2, 3, 1, 1], {}],
  ]
  for (const [xs, ws, o] of opts) await checkGrads((x, w) => F.convTranspose2d(x, w, o), [randn(xs, 12), randn(ws, 13)])
})

test('second-order gradients of conv2d and convTranspose2d', async () => {
  await checkGrads((x, w) => F.conv2d(x, w, { stride: 2, padding: [1, 0, 0, 1], dilation: [1, 2] }), [randn([1, 2, 5, 6], 14), randn([2, 2, 2, 2], 15)], { secondOrder: true })
  await checkGrads((x, w) => F.conv2d(x, w, { groups: 2, padding: 1 }), [randn([1, 4, 3, 3], 16), randn([2, 2, 3, 3], 17)], { secondOrder: true })
  await checkGrads((x, w) => F.conv2d(x, w, { groups: 2, padding: [0, 1, 1, 0], stride: 2 }), [randn([1, 2, 4, 4], 16), randn([2, 1, 2, 2], 17)], { secondOrder: true })
  await checkGrads((x, w) => F.convTranspose2d(x, w, { stride: 2, outputPadding: 1 }), [randn([1, 2, 2, 3], 18), randn([2, 2, 2, 2], 19)], { secondOrder: true })
  // Third order through grad(grad(grad)): the closure of the three primitives under differentiation.
  const x0 = randn([1, 1, 4, 4], 20)
  const w0 = randn([1, 1, 2, 2], 21)
  const cube = (w: Tensor) => F.sum(F.mul(F.conv2d(F.mul(x0, F.sum(w)), w), F.conv2d(x0, w)))
  const d3 = F.grad((w: Tensor) => F.sum(F.grad((v: Tensor) => F.sum(F.grad(cube)(v)))(w)))(w0) as Tensor
  assert.equal([...d3.shape], [1, 1, 2, 2])
  for (const v of await F.toArray(d3)) assert.ok(Number.isFinite(v))
})

/** Element i of axis 0, read on the host (independent of the ops under test). */
const pick = async (x: Tensor, i: number): Promise<Tensor> => {
  const shape = x.shape.slice(1)
  const inner = shape.reduce((p, d) => p * d, 1)
  return F.tensor((await F.toArray(x)).slice(i * inner, (i + 1) * inner) as Float32Array, { shape })
}
const loop = async (n: number, f: (i: number) => Promise<Tensor>): Promise<number[]> => {
  const parts: number[] = []
  for (let i = 0; i < n; i++) parts.push(...(await F.toArray(await f(i))))
  return parts
}

test('vmap of conv2d matches a loop: batched x, batched w, both, with groups', async () => {
  const xs = randn([3, 2, 4, 5, 5], 22)
  const ws = randn([3, 6, 2, 3, 3], 23)
  const x = randn([2, 4, 5, 5], 24)
  const w = randn([6, 2, 3, 3], 25)
  const conv = (a: Tensor, b: Tensor) => F.conv2d(a, b, { groups: 2, padding: 1, stride: [1, 2] })
  const tol = { rtol: 1e-5, atol: 1e-5 }
  await expectTensor(F.vmap(conv, [0, null])(xs, w), await loop(3, async (i) => conv(await pick(xs, i), w)), tol, [3, 2, 6, 5, 3])
  await expectTensor(F.vmap(conv, [null, 0])(x, ws), await loop(3, async (i) => conv(x, await pick(ws, i))), tol, [3, 2, 6, 5, 3])
  await expectTensor(F.vmap(conv)(xs, ws), await loop(3, async (i) => conv(await pick(xs, i), await pick(ws, i))), tol, [3, 2, 6, 5, 3])
  // Out axis 1 and a transposed conv.
  const xt = randn([3, 1, 6, 2, 2], 26)
  const ct = (a: Tensor, b: Tensor) => F.convTranspose2d(a, b, { stride: 2, groups: 2 })
  const ref = await loop(3, async (i) => ct(await pick(xt, i), await pick(ws, i)))
  const got = F.moveAxis(F.vmap(ct, [0, 0], 1)(xt, ws), 1, 0)
  await expectTensor(got, ref, tol)
})

test('per-example weight gradients with vmap(grad) match a loop', async () => {
  const xs = randn([4, 1, 2, 5, 5], 27)
  const w = randn([3, 2, 3, 3], 28)
  const loss = (wt: Tensor, xi: Tensor) => F.sum(F.mul(F.conv2d(xi, wt, { padding: 1, stride: 2 }), F.conv2d(xi, wt, { padding: 1, stride: 2 })))
  const perExample = F.vmap(F.grad(loss), [null, 0])(w, xs)
  await expectTensor(perExample, await loop(4, async (i) => F.grad(loss)(w, await pick(xs, i)) as Tensor), { rtol: 1e-4, atol: 1e-4 }, [4, 3, 2, 3, 3])
})

test('conv ops reject bad inputs with messages naming the op, shapes and options', () => {
  const x = F.zeros([1, 3, 5, 5])
  throwsFovea(() => F.conv2d(x, F.zeros([4, 2, 3, 3])), 'conv2d', 'channel mismatch', 'f32[1,3,5,5]', 'f32[4,2,3,3]')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 1, 3, 3]), { groups: 2 }), 'conv2d', 'groups=2', 'f32[1,3,5,5]')
  throwsFovea(() => F.conv2d(F.zeros([1, 4, 5, 5]), F.zeros([3, 2, 3, 3]), { groups: 2 }), 'conv2d', 'groups=2', '3 output channels')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 3, 7, 3]), { padding: 0 }), 'conv2d', 'larger than the padded input', 'f32[4,3,7,3]', '5×5')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 3, 3, 3]), { dilation: 3 }), 'conv2d', 'dilated to 7×7')
  throwsFovea(() => F.conv2d(F.zeros([3, 5, 5]), F.zeros([4, 3, 3, 3])), 'conv2d', 'x [N,C,H,W] must be 4-D', 'f32[3,5,5]')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 3, 3])), 'conv2d', 'must be 4-D', 'f32[4,3,3]')
  throwsFovea(() => F.conv2d(F.zeros([1, 3, 5, 5], 'int32'), F.zeros([4, 3, 3, 3])), 'conv2d', 'i32[1,3,5,5]', 'float32')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 3, 3, 3]), { stride: 0 }), 'conv2d', 'stride', '0')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 3, 3, 3]), { padding: [1, 2, 3] as never }), 'conv2d', 'padding', '[1, 2, 3]')
  throwsFovea(() => F.conv2d(x, F.zeros([4, 3, 3, 3]), { padding: 'same', stride: 2 }), 'conv2d', "'same'", 'stride 1')
  throwsFovea(() => F.convTranspose2d(x, F.zeros([4, 2, 3, 3])), 'convTranspose2d', 'channel mismatch', 'f32[1,3,5,5]', 'f32[4,2,3,3]')
  throwsFovea(() => F.convTranspose2d(x, F.zeros([3, 2, 3, 3]), { groups: 2 }), 'convTranspose2d', 'groups=2')
  throwsFovea(() => F.convTranspose2d(x, F.zeros([3, 2, 3, 3]), { stride: 2, outputPadding: 2 }), 'convTranspose2d', 'outputPadding', 'smaller than stride')
  throwsFovea(() => F.convTranspose2d(F.zeros([1, 3, 1, 1]), F.zeros([3, 2, 1, 1]), { padding: 1 }), 'convTranspose2d', 'empty')
})

test.run()
