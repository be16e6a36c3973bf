/**
 * How an elementwise kernel finds an operand's element for output index `i`. Four kinds cover nearly
 * every broadcast a model makes, each with its load baked into the source (the kinds, never the sizes):
 *
 *   full   the operand has the output's elements in the output's order      X[i]
 *   one    a single value                                                 X[0]
 *   tail   its non-1 axes are the output's last ones (a bias [C] in [N,C])  X[i % extent]
 *   block  its non-1 axes are one run of output axes (a channel bias [C,1,1] in [N,C,H,W])
 *                                                                          X[(i / inner) % extent]
 *
 * Anything else (a [N,1,W] operand in [N,H,W]) takes the general per-axis walk (`offsetFn` over the
 * collapsed axes of `broadcastWalk`), which costs an integer division per axis — on lavapipe, where they
 * are not vectorised, that walk made a bias-add + relu over a ResNet activation several times slower
 * than the convolution's epilogue.
 */
import type { Shape } from '../../core/shape.js'

export type OperandKind = 'full' | 'one' | 'tail' | 'block'

export type OperandIndexing = { readonly kind: OperandKind; readonly inner: number; readonly extent: number }

/** The indexing of an operand of `shape` broadcast into `out`, or undefined when it needs the axis walk. */
export const operandIndexing = (shape: Shape, out: Shape): OperandIndexing | undefined => {
  const n = out.reduce((p, d) => p * d, 1)
  const count = shape.reduce((p, d) => p * d, 1)
  if (count === n) return { kind: 'full', inner: 1, extent: n }
  if (count === 1) return { kind: 'one', inner: 1, extent: 1 }
  const lead = out.length - shape.length
  const own = (j: number) => (j < lead ? 1 : shape[j - lead]!)
  const run = out.map((_, j) => j).filter((j) => own(j) !== 1)
  const [lo, hi] = [run[0]!, run.at(-1)!]
  // Inside the run every output axis is either the operand's own or of size 1.
  for (let j = lo; j <= hi; j++) if (own(j) !== out[j] && out[j] !== 1) return undefined
  const inner = out.slice(hi + 1).reduce((p, d) => p * d, 1)
  return { kind: inner === 1 ? 'tail' : 'block', inner, extent: count }
}

/** The indexings of all operands, or undefined when any needs the axis walk. */
export const flatIndexings = (shapes: readonly Shape[], out: Shape): OperandIndexing[] | undefined => {
  const all = shapes.map((s) => operandIndexing(s, out))
  return all.every((x) => x !== undefined) ? (all as OperandIndexing[]) : undefined
}

/** Source-cache key of a kind list (one letter each). */
export const kindsKey = (xs: readonly OperandIndexing[]): string => xs.map((x) => x.kind[0]).join('')

/** Uniform words after the element count: (inner, extent) per operand. */
export const indexingWords = (xs: readonly OperandIndexing[]): number[] => xs.flatMap((x) => [x.inner, x.extent])

/**
 * WGSL index of operand `k` at output index `i`, its words at `first + 2k` (by default after the count
 * at word 0).
 */
export const indexExpr = (x: OperandIndexing, k: number, i: string, first = 1): string => {
  const w = first + 2 * k
  switch (x.kind) {
    case 'full':
      return i
    case 'one':
      return '0u'
    case 'tail':
      return `${i} % u(${w + 1}u)`
    case 'block':
      return `(${i} / u(${w}u)) % u(${w + 1}u)`
  }
}
