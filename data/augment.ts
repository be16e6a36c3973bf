/**
 * Training-time augmentation as pure functions of a PRNG key and a batch (never of global state), so a
 * run is reproducible from its seed on every backend.
 */
import { fail } from '../core/errors.js'
import type { Tensor } from '../core/tensor.js'
import { describeAval } from '../core/tensor.js'
import * as F from '../ops/index.js'

/**
 * Translates each image by its own random whole-pixel offset (dy, dx), each uniform in
 * [−maxShift, maxShift], filling uncovered pixels with `fill` — the small random translations that
 * LeCun et al. (1998) used to augment MNIST. images: f32[N,C,H,W] → f32[N,C,H,W]
 */
export const randomShift = (key: Tensor, images: Tensor, maxShift: number, fill = 0): Tensor => {
  if (!Number.isInteger(maxShift) || maxShift < 0) fail('randomShift', `maxShift must be a non-negative integer, got ${maxShift}`)
  if (images.shape.length !== 4) fail('randomShift', `expected images [N,C,H,W], got ${describeAval(images)}`)
  if (maxShift === 0) return images
  const [n, c, h, w] = images.shape as [number, number, number, number]
  const s = maxShift
  const wide = w + 2 * s
  const padded = F.reshape(F.pad(images, [[0, 0], [0, 0], [s, s], [s, s]], fill), [n, c, (h + 2 * s) * wide])
  // Offsets 0 … 2s into the padded image; the clip guards a uniform draw that rounds up onto 2s + 1.
  const offset = (k: number): Tensor =>
    F.reshape(F.clip(F.cast(F.floor(F.mul(F.random.uniform(F.random.foldIn(key, k), [n]), 2 * s + 1)), 'int32'), 0, 2 * s), [n, 1, 1])
  const rows = F.reshape(F.arange(0, h, 1, 'int32'), [1, h, 1])
  const cols = F.reshape(F.arange(0, w, 1, 'int32'), [1, 1, w])
  const index = F.add(F.mul(F.add(offset(0), rows), wide), F.add(offset(1), cols))
  const perChannel = F.broadcastTo(F.reshape(index, [n, 1, h * w]), [n, c, h * w])
  return F.reshape(F.takeAlongAxis(padded, perChannel, 2), [n, c, h, w])
}
