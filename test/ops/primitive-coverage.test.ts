/**
 * Every primitive in the table either has a finite-difference gradient check here or says why it has
 * none. The table below is typed by `PrimitiveName`, so adding a primitive without an entry does not
 * compile. (Each family's own suite checks its ops in more depth; this file guarantees nothing is missed.)
 * Primitives reachable only as another op's derivative are exercised through that derivative.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { type PrimitiveName, primitives } from '../../ops/primitives.js'
import { erfInv } from '../../ops/random/erfinv.js'
import { deformSample } from '../../ops/detection/deform-sample.js'
import { checkGrads, randn, uniform } from '../util/check.js'

type Coverage =
  | { readonly f: (...xs: Tensor[]) => Tensor; readonly args: () => Tensor[]; readonly secondOrder?: boolean }
  | { readonly none: string }

const x23 = () => [randn([2, 3], 1)]
const pair23 = () => [randn([2, 3], 1), randn([2, 3], 2)]
const positive23 = () => [uniform([2, 3], 1, 0.5, 2)]
const idx = F.tensor([2, 0, 2], { dtype: 'int32' })
const unary = (f: (x: Tensor) => Tensor, args = x23): Coverage => ({ f, args, secondOrder: true })
const binary = (f: (a: Tensor, b: Tensor) => Tensor, args = pair23): Coverage => ({ f, args, secondOrder: true })
/** The cotangent map of `op` at `at` as a function of the cotangent: exercises op's vjp primitive. */
const transposeOf = (op: (x: Tensor) => Tensor, at: () => Tensor): ((ct: Tensor) => Tensor) => {
  const [, back] = F.vjp(op, at())
  return (ct) => back(ct)[0] as Tensor
}
const conv = { stride: 2, padding: 1 }
const x4 = () => randn([1, 2, 5, 5], 3)
const w4 = () => randn([3, 2, 3, 3], 4)
const integerOnly = 'integer/bool output: no derivative'
/** Distinct values at least 0.3 apart, so finite differences never change which element is a window's max. */
const separated = () => F.tensor(Array.from({ length: 16 }, (_, i) => ((i * 7) % 16) * 0.3 - 2.4), { shape: [1, 1, 4, 4] })

const roiRows = F.tensor([[1, 1, 2, 9, 8], [0, -2, 0, 6, 5]])
const rotatedRoiRows = F.tensor([[1, 5, 4, 7, 5, 30], [0, 2, 3, 6, 4, -60]])
const deformParams = { kernel: [2, 2], stride: [1, 1], padding: [1, 0], dilation: [1, 1], deformableGroups: 2 } as const
/** Offsets f32[1, 16, 4, 3] whose sample points sit 0.2–0.8 away from grid lines (no kink within a finite difference). */
const deformOffsets = () => F.tensor(Array.from({ length: 192 }, (_, i) => ((i * 5) % 7) - 3 + 0.2 + 0.6 * (((i * 13) % 11) / 10)), { shape: [1, 16, 4, 3] })
/** Box edges whose pixel centres map at least 0.05 away from mask grid lines. */
const pasteBoxes = () => F.tensor([[1.13, 0.71, 5.29, 6.07], [2.41, 1.87, 6.61, 4.93]])

const coverage: { readonly [P in PrimitiveName]: Coverage } = {
  neg: unary(F.neg), abs: unary(F.abs), exp: unary(F.exp), log: unary(F.log, positive23), log1p: unary(F.log1p, positive23),
  expm1: unary(F.expm1), sqrt: unary(F.sqrt, positive23), rsqrt: unary(F.rsqrt, positive23), sin: unary(F.sin), cos: unary(F.cos),
  tanh: unary(F.tanh), sigmoid: unary(F.sigmoid), erf: unary(F.erf), relu: unary(F.relu),
  sign: { none: 'piecewise constant: zero derivative' }, floor: { none: 'piecewise constant: zero derivative' },
  ceil: { none: 'piecewise constant: zero derivative' }, round: { none: 'piecewise constant: zero derivative' },
  logicalNot: { none: integerOnly }, isNan: { none: integerOnly }, isFinite: { none: integerOnly },
  add: binary(F.add), sub: binary(F.sub), mul: binary(F.mul), div: binary(F.div, () => [randn([2, 3], 1), uniform([2, 3], 2, 0.5, 2)]),
  pow: binary(F.pow, () => [uniform([2, 3], 1, 0.5, 2), randn([2, 3], 2)]), maximum: binary(F.maximum), minimum: binary(F.minimum),
  equal: { none: integerOnly }, notEqual: { none: integerOnly }, less: { none: integerOnly }, lessEqual: { none: integerOnly },
  greater: { none: integerOnly }, greaterEqual: { none: integerOnly }, logicalAnd: { none: integerOnly }, logicalOr: { none: integerOnly },
  cast: { f: (x) => F.cast(F.cast(x, 'float32'), 'float32'), args: x23 },
  where: binary((a, b) => F.where(F.greater(a, b), a, F.mul(b, 2))),
  stopGradient: { none: 'zero derivative by definition (tested in transforms.test.ts)' },
  reduceSum: unary((x) => F.sum(x, 1)), reduceMax: unary((x) => F.max(x, 0)), reduceMin: unary((x) => F.min(x, 1)),
  reduceProd: unary((x) => F.prod(x, 1)), reduceAll: { none: integerOnly }, reduceAny: { none: integerOnly },
  argmax: { none: integerOnly }, argmin: { none: integerOnly }, cumsum: unary((x) => F.cumsum(x, 1)),
  reshape: unary((x) => F.reshape(x, [3, 2])), broadcastTo: unary((x) => F.broadcastTo(x, [4, 2, 3])),
  transpose: unary((x) => F.transpose(x)), slice: unary((x) => F.slice(x, [0, 0], [2, 3], [1, 2])),
  pad: unary((x) => F.pad(x, [[1, 0], [0, 2]])), concat: binary((a, b) => F.concat([a, b], 1)), flip: unary((x) => F.flip(x, [1])),
  take: unary((x) => F.take(x, idx, 1)),
  indexAdd: unary(transposeOf((x) => F.take(x, idx, 1), () => randn([2, 3], 5)), () => [randn([2, 3], 6)]),
  gather: unary((x) => F.gather(x, F.tensor([[1, 2], [0, 0]], { dtype: 'int32' }))),
  scatterAddNd: unary(transposeOf((x) => F.gather(x, F.tensor([[1, 2], [0, 0]], { dtype: 'int32' })), () => randn([2, 3], 5)), () => [randn([2], 6)]),
  takeAlongAxis: unary((x) => F.takeAlongAxis(x, F.tensor([[2, 0], [1, 1]], { dtype: 'int32' }), 1)),
  scatterAdd: binary((x, u) => F.scatterAdd(x, F.tensor([[2, 0, 2], [1, 1, 0]], { dtype: 'int32' }), u, 1)),
  nonzero: { none: integerOnly },
  sort: unary((x) => F.sort(x, 1), () => [F.tensor([[0.3, -1.2, 2.5], [1.1, 0.1, -0.9]])]),
  matmul: binary(F.matmul, () => [randn([2, 3], 1), randn([3, 4], 2)]),
  conv2d: binary((x, w) => F.conv2d(x, w, conv), () => [x4(), w4()]),
  conv2dInputGrad: binary((g, w) => F.convTranspose2d(g, w, conv), () => [randn([1, 3, 3, 3], 5), randn([3, 2, 3, 3], 6)]),
  conv2dWeightGrad: binary((x, g) => transposeOf((w) => F.conv2d(x, w, conv), w4)(g), () => [x4(), randn([1, 3, 3, 3], 7)]),
  poolSelect: unary((x) => F.maxPool2d(x, { kernelSize: 2 }), () => [separated()]),
  poolScatter: unary(transposeOf((x) => F.maxPool2d(x, { kernelSize: 2 }), separated), () => [randn([1, 1, 2, 2], 9)]),
  resample2d: unary((x) => F.interpolate(x, { size: [5, 3], mode: 'bilinear' }), () => [randn([1, 2, 3, 4], 10)]),
  resample2dTranspose: unary(transposeOf((x) => F.interpolate(x, { size: [5, 3], mode: 'bilinear' }), () => randn([1, 2, 3, 4], 10)), () => [randn([1, 2, 5, 3], 11)]),
  erfInv: unary(erfInv, () => [uniform([2, 3], 12, -0.9, 0.9)]),
  threefry2x32: { none: 'integer bit generator' }, randomBits: { none: 'integer bit generator' },
  unitFloat: { none: 'maps integer bits to floats: no tangent flows from integers' },
  sortByWords: { none: 'permutes by integer keys; integer values only' },
  nms: { none: 'selects integer indices: no derivative (gradients flow through gathering the kept boxes)' },
  roiAlign: unary((x) => F.roiAlign(x, roiRows, { outputSize: 2, spatialScale: 0.5 }), () => [randn([2, 2, 5, 6], 13)]),
  roiAlignBackward: unary(transposeOf((x) => F.roiAlign(x, roiRows, { outputSize: 2, spatialScale: 0.5 }), () => randn([2, 2, 5, 6], 13)), () => [randn([2, 2, 2, 2], 14)]),
  roiAlignRotated: unary((x) => F.roiAlignRotated(x, rotatedRoiRows, { outputSize: 2, spatialScale: 0.5 }), () => [randn([2, 2, 5, 6], 15)]),
  roiAlignRotatedBackward: unary(transposeOf((x) => F.roiAlignRotated(x, rotatedRoiRows, { outputSize: 2, spatialScale: 0.5 }), () => randn([2, 2, 5, 6], 15)), () => [randn([2, 2, 2, 2], 16)]),
  deformSample: binary((x, o) => deformSample(x, o, deformParams), () => [randn([1, 4, 3, 3], 17), deformOffsets()]),
  deformSampleTranspose: binary((c, o) => (F.vjp((x: Tensor) => deformSample(x, o, deformParams), randn([1, 4, 3, 3], 17))[1](c) as Tensor[])[0]!, () => [randn([1, 4, 4, 12], 18), deformOffsets()]),
  pasteMasks: binary((m, b) => F.pasteMasks(m, b, [7, 8], -1), () => [uniform([2, 3, 4], 19), pasteBoxes()]),
  heatmapsToKeypoints: { none: 'decoding is inference-only: detectron2 detaches maps and rois (zero derivative)' },
}

test('every table entry is named after its key', () => {
  for (const [key, rule] of Object.entries(primitives)) assert.is(rule.name, key, `primitives.${key} is named ${rule.name}`)
})

for (const [name, entry] of Object.entries(coverage) as [PrimitiveName, Coverage][]) {
  if ('none' in entry) continue
  test(`${name}: gradient matches finite differences`, async () => {
    await checkGrads(entry.f, entry.args(), { secondOrder: entry.secondOrder ?? false })
  })
}

test.run()
