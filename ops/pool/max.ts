/**
 * Max pooling as a pair of primitives closed under differentiation.
 *
 * `poolSelect(keys, values)` returns, for every window, the element of `values` at the position where
 * `keys` is largest; `poolScatter(keys, ct)` adds each window's cotangent at that same position. Both are
 * linear in their second operand and piecewise constant in `keys`, so:
 *   maxPool2d(x)                = poolSelect(x, x)
 *   jvp  poolSelect(x, v)·(tx, tv) = poolSelect(x, tv)        (keys get no tangent)
 *   vjp  poolSelect(x, v)ᵀ ct    = poolScatter(x, ct)          (keys get no cotangent)
 *   vjp  poolScatter(x, c)ᵀ g    = poolSelect(x, g)
 * and gradients of any order stay inside the pair. The selected position is the first maximum in
 * row-major window order (a later NaN wins, as in PyTorch's CPU kernel), so on ties the whole gradient
 * goes to one element, as PyTorch routes it; padding is implicit −∞ and never selected.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { CpuArray, Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { describeAll } from '../operand.js'
import { vmapFoldIntoN } from '../resize/fold.js'
import { type PoolGeometry, type PoolOptions, poolGeometry } from './geometry.js'
import { poolScatterGpu, poolSelectGpu } from './wgsl.js'

export type PoolSelectParams = PoolGeometry

/** For every output element, the flat index in `keys` of its window's maximum (−1 if the window is empty). */
const argmaxIndices = (keys: CpuArray, g: PoolGeometry): Int32Array => {
  const [n, c, h, w] = keys.shape as [number, number, number, number]
  const [oh, ow] = g.out
  const [kh, kw] = g.kernel
  const [sh, sw] = g.stride
  const [ph, pw] = g.padding
  const [dh, dw] = g.dilation
  const data = keys.data
  const idx = new Int32Array(n * c * oh * ow)
  let o = 0
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++, o++) {
        let best = -1
        let bestValue = -Infinity
        for (let i = 0; i < kh; i++) {
          const r = y * sh - ph + i * dh
          if (r < 0 || r >= h) continue
          for (let j = 0; j < kw; j++) {
            const col = x * sw - pw + j * dw
            if (col < 0 || col >= w) continue
            const at = base + r * w + col
            const v = data[at]!
            if (best < 0 || v > bestValue || Number.isNaN(v)) {
              best = at
              bestValue = v
            }
          }
        }
        idx[o] = best
      }
    }
  }
  return idx
}

const expectPlanes = (op: string, xs: readonly Aval[], nc: Aval): void => {
  for (const x of xs) {
    if (x.dtype !== 'float32' || x.shape.length !== 4 || x.shape[0] !== nc.shape[0] || x.shape[1] !== nc.shape[1]) {
      fail(op, `expected float32 NCHW operands with the same N and C, got ${describeAll(xs)}`)
    }
  }
}

export const poolSelectRule: Rule<PoolSelectParams> = {
  name: 'poolSelect',
  abstractEval: ([keys, values], g) => {
    expectPlanes('poolSelect', [keys!, values!], keys!)
    if (keys!.shape.join() !== values!.shape.join()) fail('poolSelect', `keys and values must have one shape, got ${describeAll([keys!, values!])}`)
    return [{ shape: [keys!.shape[0]!, keys!.shape[1]!, ...g.out], dtype: 'float32' }]
  },
  cpu: ([keys, values], g) => {
    const idx = argmaxIndices(keys!, g)
    const v = values!.data
    return [Float32Array.from(idx, (i) => (i < 0 ? -Infinity : v[i]!))]
  },
  jvp: ([keys], [, tv], g) => [tv === null ? null : poolSelect(keys!, tv!, g)],
  vjp: ([ct], [keys], g) => [null, ct === null ? null : poolScatter(keys!, ct, g)],
  vmap: (args, dims, g, n) => vmapFoldIntoN(args, dims, n, ([k, v]) => poolSelect(k!, v!, g)),
  webgpu: (ctx, [keys, values], g, [o]) => [poolSelectGpu(ctx, keys!, values!, g, o!)],
}

export const poolScatterRule: Rule<PoolSelectParams> = {
  name: 'poolScatter',
  abstractEval: ([keys, ct], g) => {
    expectPlanes('poolScatter', [keys!, ct!], keys!)
    if (ct!.shape[2] !== g.out[0] || ct!.shape[3] !== g.out[1]) {
      fail('poolScatter', `cotangent ${describeAval(ct!)} does not match the ${g.out.join('x')} pooled output of ${describeAval(keys!)}`)
    }
    return [{ shape: keys!.shape, dtype: 'float32' }]
  },
  cpu: ([keys, ct], g) => {
    const idx = argmaxIndices(keys!, g)
    const c = ct!.data
    const out = new Float32Array(keys!.data.length)
    for (let o = 0; o < idx.length; o++) if (idx[o]! >= 0) out[idx[o]!] += c[o]!
    return [out]
  },
  jvp: ([keys], [, tct], g) => [tct === null ? null : poolScatter(keys!, tct!, g)],
  vjp: ([ct], [keys], g) => [null, ct === null ? null : poolSelect(keys!, ct, g)],
  vmap: (args, dims, g, n) => vmapFoldIntoN(args, dims, n, ([k, c]) => poolScatter(k!, c!, g)),
  webgpu: (ctx, [keys, ct], g, [o]) => [poolScatterGpu(ctx, keys!, ct!, g, o!)],
}

/** In each window, `values` at the argmax of `keys`. keys, values: f32[N,C,H,W] → f32[N,C,OH,OW] */
export const poolSelect = (keys: Tensor, values: Tensor, g: PoolGeometry): Tensor => bind1(poolSelectRule, [keys, values], g)

/** Adds each ct[n,c,oh,ow] at the argmax of its window of `keys`. ct: f32[N,C,OH,OW] → f32[N,C,H,W] */
export const poolScatter = (keys: Tensor, ct: Tensor, g: PoolGeometry): Tensor => bind1(poolScatterRule, [keys, ct], g)

export type MaxPoolOptions = PoolOptions

/**
 * 2-d max pooling with PyTorch's `max_pool2d` semantics: `stride` defaults to `kernelSize`, `padding`
 * (implicit −∞, at most half the kernel) and `dilation` are numbers or [h, w] pairs, and with `ceilMode`
 * the output rounds up as long as the last window starts inside the input or its left padding. The
 * gradient flows to the first maximum of each window. x: f32[N,C,H,W] → f32[N,C,OH,OW]
 */
export const maxPool2d = (x: Tensor, options: MaxPoolOptions): Tensor => {
  const g = poolGeometry('maxPool2d', x, options)
  return poolSelect(x, x, g)
}
