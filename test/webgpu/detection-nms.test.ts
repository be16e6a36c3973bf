/**
 * NMS on WebGPU against the CPU reference: indices and counts must match exactly, including pairs whose
 * IoU lands on the threshold to within an ulp (the kernel's exact integer path) and a 10k-box set.
 * Rotated NMS is float32 on the GPU and float64 on the CPU; the random rotated sets are checked for
 * equality too (a pair within ~1e-6 of the threshold would be needed to differ; the seeds have none).
 */
import { test } from 'uvu'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import * as D from '../../ops/detection/index.js'
import { clusteredBoxes } from '../ops/detection/nms-data.js'
import { rng } from '../util/check.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('detection-nms')

const both = (r: D.NmsResult): Tensor[] => [r.indices, r.count]

/**
 * Pairs [0, y, a, y+1] and [0, y, b, y+1] (IoU b/a) with b/a within an ulp or two of t, stacked far
 * apart in y so that only the pair's own decision matters; `fraction` makes a and b non-integers.
 */
const nearThreshold = (pairs: number, t: number, seed: number, fraction: boolean): { boxes: Tensor; scores: Tensor } => {
  const r = rng(seed)
  const rows: number[][] = []
  for (let k = 0; k < pairs; k++) {
    const a = fraction ? Math.fround(1000 + r() * 9000) : 2 ** 22 + Math.floor(r() * 2 ** 22)
    const b = fraction ? Math.fround(a * t * (1 + (r() - 0.5) * 4e-7)) : Math.round(a * t) + Math.floor(r() * 3) - 1
    rows.push([0, 4 * k, a, 4 * k + 1], [0, 4 * k, b, 4 * k + 1])
  }
  const scores = Float32Array.from({ length: 2 * pairs }, (_, i) => (i % 2 === 0 ? 1 : 0.5) - i * 1e-6)
  return { boxes: F.tensor(rows), scores: F.tensor(scores) }
}

if (run) {
  test('hand vectors: threshold equality, ties, NaN scores, zero-area boxes, capacities, 0 boxes', async () => {
    const boxes = () => F.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 5], [20, 20, 30, 30], [0, 0, 2, 1], [0, 0, 1, 1], [5, 5, 5, 5], [5, 5, 5, 5]])
    const scores = () => F.tensor([0.9, 0.8, 0.95, 0.5, 0.3, 0.3, NaN, 0.3])
    for (const t of [0.5, 0.49, 0, -0.1, 1]) await expectParity(() => both(D.nms(boxes(), scores(), t)), {}, `t = ${t}`)
    for (const maxOutput of [0, 1, 3, 12]) await expectParity(() => both(D.nms(boxes(), scores(), 0.5, { maxOutput })), {}, `maxOutput ${maxOutput}`)
    await expectParity(() => both(D.nms(F.zeros([0, 4]), F.zeros([0]), 0.5)), {}, 'empty')
    await expectParity(() => both(D.nms(F.zeros([0, 4]), F.zeros([0]), 0.5, { maxOutput: 3 })), {}, 'empty, capacity 3')
    await expectParity(() => both(D.nms(F.tensor([[1, 2, 3, 4]]), F.tensor([0.5]), 0.5)), {}, 'one box')
    await expectParity(() => both(D.nms(F.broadcastTo(F.tensor([2, 3, 7, 9]), [70, 4]), F.zeros([70]), 0.5)), {}, 'all identical and tied')
  })

  test('IoU within an ulp of the threshold decides as on the CPU (integer and fractional coordinates)', async () => {
    for (const [t, fraction, seed] of [[0.7, false, 1], [0.7, true, 2], [0.5, true, 3], [0.3, false, 4], [0.3, true, 5]] as const) {
      await expectParity(() => {
        const { boxes, scores } = nearThreshold(150, t, seed, fraction)
        return both(D.nms(boxes, scores, t))
      }, {}, `t = ${t}, fractional ${fraction}`)
    }
  })

  test('random clustered sets across block boundaries (1 to 1000 boxes), thresholds, capacities', async () => {
    for (const [i, n] of [1, 2, 63, 64, 65, 127, 129, 300, 1000].entries()) {
      await expectParity(() => {
        const { boxes, scores } = clusteredBoxes(n, 20 + i)
        return [...both(D.nms(boxes, scores, 0.5)), ...both(D.nms(boxes, scores, 0.3, { maxOutput: 10 }))]
      }, {}, `n = ${n}`)
    }
    await expectParity(() => {
      const { boxes, scores } = clusteredBoxes(500, 30, 10, true)
      return [0, 0.25, 0.5, 0.75, 0.9].flatMap((t) => both(D.nms(boxes, scores, t)))
    }, {}, 'integer coordinates')
  })

  test('batchedNms and rotated NMS (plain and per class)', async () => {
    await expectParity(() => {
      const { boxes, scores } = clusteredBoxes(700, 40, 12)
      const r = rng(41)
      const classes = F.tensor(Int32Array.from({ length: 700 }, () => Math.floor(r() * 5)), { dtype: 'int32' })
      return [...both(D.batchedNms(boxes, scores, classes, 0.5)), ...both(D.batchedNms(boxes, scores, classes, 0.6, { maxOutput: 50 }))]
    }, {}, 'batched')
    await expectParity(() => {
      const r = rng(42)
      const n = 200
      const boxes = F.tensor(Array.from({ length: n }, () => [r() * 80, r() * 80, 5 + r() * 20, 5 + r() * 20, r() * 360 - 180]))
      const scores = F.tensor(Array.from({ length: n }, () => r()))
      const classes = F.tensor(Int32Array.from({ length: n }, (_, i) => i % 3), { dtype: 'int32' })
      const hand = F.tensor([[5, 5, 3, 3, 0], [5, 5, 3, 3, 90], [0, 0, 2, 1, 0], [0, 0, 2, 1, 90], [1e4, 1e4, 1, 1, 0], [1e4, 1e4, 1, 1, 45], [9, 9, 0, 2, 0]])
      const handScores = F.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
      return [
        ...both(D.nmsRotated(boxes, scores, 0.3)), ...both(D.batchedNmsRotated(boxes, scores, classes, 0.3, { maxOutput: 40 })),
        ...both(D.nmsRotated(hand, handScores, 0.5)), ...both(D.nmsRotated(hand, handScores, 0.3)),
      ]
    }, {}, 'rotated')
  })

  test('10k clustered boxes: exact indices; under jit too', async () => {
    await expectParity(() => {
      const { boxes, scores } = clusteredBoxes(10_000, 50, 400)
      return [...both(D.nms(boxes, scores, 0.5)), ...both(D.nms(boxes, scores, 0.7, { maxOutput: 1000 }))]
    }, {}, '10k')
    await expectParity(() => {
      const { boxes, scores } = clusteredBoxes(3000, 51)
      return both(F.jit((b: Tensor, s: Tensor) => D.nms(b, s, 0.6, { maxOutput: 300 }))(boxes, scores))
    }, {}, 'jit')
  })
}

test.run()
