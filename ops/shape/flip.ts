/**
 * flip: reverses the order of elements along some axes. It is a permutation of the elements that is its
 * own inverse, so it is also its own transpose (jvp and vjp are flips).
 */
import { allocate } from '../../core/dtype.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { normalizeAxes, size, stridesOf } from '../../core/shape.js'
import type { Tensor } from '../../core/tensor.js'
import { forEachRow } from '../elementwise/kernels.js'
import { batchFirst } from './basic.js'
import { stridedGatherGpu } from './wgsl.js'

/** `axes`: normalized, sorted, unique. */
export type FlipParams = { readonly axes: readonly number[] }

export const flipRule: Rule<FlipParams> = {
  name: 'flip',
  abstractEval: ([x], { axes }) => {
    normalizeAxes('flip', axes, x!.shape.length)
    return [{ shape: x!.shape, dtype: x!.dtype }]
  },
  cpu: ([x], { axes }, [o]) => {
    const out = allocate(o!.dtype, size(o!.shape))
    if (out.length === 0) return [out]
    // Read x with negative strides on the flipped axes, starting from their last element.
    const own = stridesOf(x!.shape)
    const strides = own.map((s, i) => (axes.includes(i) ? -s : s))
    const base = axes.reduce((a, ax) => a + (x!.shape[ax]! - 1) * own[ax]!, 0)
    const data = x!.data
    forEachRow(x!.shape, [strides], (oi, offsets, n, st) => {
      let p = base + offsets[0]!
      const s = st[0]!
      for (let i = 0; i < n; i++, p += s) out[oi + i] = data[p]!
    })
    return [out]
  },
  jvp: (_, [t], params) => [t === null ? null : bind1(flipRule, [t], params)],
  vjp: ([ct], _, params) => [ct === null ? null : bind1(flipRule, [ct], params)],
  vmap: ([x], [d], { axes }, n) => [[bind1(flipRule, [batchFirst(x!, d!, n)], { axes: axes.map((a) => a + 1) })], [0]],
  // The same negative-stride read as the CPU kernel: the uniforms hold strides as u32 and WGSL's u32
  // arithmetic wraps, so base + Σ i_k·(−s_k) lands on the right element modulo 2^32.
  webgpu: (ctx, [x], { axes }, [o]) => {
    const own = stridesOf(x!.shape)
    const base = axes.reduce((a, ax) => a + Math.max(0, x!.shape[ax]! - 1) * own[ax]!, 0)
    return [stridedGatherGpu(ctx, 'flip', x!, o!, own.map((s, i) => (axes.includes(i) ? -s : s)), base)]
  },
}

/**
 * Reverses `x` along `axes` (a number, a list, or every axis when undefined; negative axes allowed).
 * x: T[...] → T[...]
 */
export const flip = (x: Tensor, axes?: number | readonly number[]): Tensor => {
  const normalized = normalizeAxes('flip', axes, x.shape.length)
  return normalized.length === 0 ? x : bind1(flipRule, [x], { axes: normalized })
}
