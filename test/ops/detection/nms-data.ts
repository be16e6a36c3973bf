/** Test data for NMS suites (CPU and WebGPU). */
import * as F from '../../../index.js'
import type { Tensor } from '../../../index.js'
import { rng } from '../../util/check.js'

/** Clustered XYXY boxes (a few centres, jittered sizes) and uniform scores, as in a detector's output. */
export const clusteredBoxes = (n: number, seed: number, clusters = Math.max(1, n >> 4), quantize = false): { boxes: Tensor; scores: Tensor } => {
  const r = rng(seed)
  const q = (v: number) => (quantize ? Math.round(v) : v)
  const centres = Array.from({ length: clusters }, () => [r() * 1333, r() * 800] as const)
  const data = new Float32Array(n * 4)
  for (let i = 0; i < n; i++) {
    const [cx, cy] = centres[Math.floor(r() * clusters)]!
    const [w, h] = [8 + r() * 200, 8 + r() * 200]
    const [x, y] = [cx + (r() - 0.5) * 0.3 * w, cy + (r() - 0.5) * 0.3 * h]
    data.set([q(x - w / 2), q(y - h / 2), q(x + w / 2), q(y + h / 2)], i * 4)
  }
  return { boxes: F.tensor(data, { shape: [n, 4] }), scores: F.tensor(Float32Array.from({ length: n }, () => r())) }
}
