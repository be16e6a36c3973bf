/**
 * slice (strided), pad (edge and interior padding with a constant) and concat. slice and pad are each
 * other's transposes: a strided slice scatters back by padding with stride-1 interior zeros.
 */
import { allocate } from '../../core/dtype.js'
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { normalizeAxis, size, stridesOf } from '../../core/shape.js'
import { type Tensor, describeAval } from '../../core/tensor.js'
import { forEachRow } from '../elementwise/kernels.js'
import { describeAll } from '../operand.js'
import { batchFirst } from './basic.js'
import { fillGpu, stridedGatherGpu, stridedScatterGpu } from './wgsl.js'

export type SliceParams = { readonly starts: readonly number[]; readonly limits: readonly number[]; readonly strides: readonly number[] }
export type PadParams = { readonly lo: readonly number[]; readonly hi: readonly number[]; readonly interior: readonly number[]; readonly value: number }
export type ConcatParams = { readonly axis: number }

const sliceLength = (start: number, limit: number, stride: number): number => Math.max(0, Math.ceil((limit - start) / stride))

export const sliceRule: Rule<SliceParams> = {
  name: 'slice',
  abstractEval: ([x], { starts, limits, strides }) => {
    const r = x!.shape.length
    if (starts.length !== r || limits.length !== r || strides.length !== r) fail('slice', `expected ${r} starts/limits/strides for ${describeAval(x!)}`)
    const shape = x!.shape.map((d, i) => {
      const [s, l, st] = [starts[i]!, limits[i]!, strides[i]!]
      if (!(Number.isInteger(s) && Number.isInteger(l) && Number.isInteger(st)) || s < 0 || l > d || s > l || st < 1) {
        fail('slice', `invalid range ${s}:${l}:${st} on axis ${i} of ${describeAval(x!)}`)
      }
      return sliceLength(s, l, st)
    })
    return [{ shape, dtype: x!.dtype }]
  },
  cpu: ([x], { starts, strides }, [o]) => {
    const out = allocate(o!.dtype, size(o!.shape))
    const inStrides = stridesOf(x!.shape)
    const data = x!.data
    const base = starts.reduce((a, s, i) => a + s * inStrides[i]!, 0)
    forEachRow(o!.shape, [inStrides.map((s, i) => s * strides[i]!)], (oi, offsets, n, st) => {
      let p = base + offsets[0]!
      const s = st[0]!
      for (let i = 0; i < n; i++, p += s) out[oi + i] = data[p]!
    })
    return [out]
  },
  jvp: (_, [t], params) => [t === null ? null : bind1(sliceRule, [t], params)],
  vjp: ([ct], [x], { starts, strides }) => {
    if (ct === null) return [null]
    const lo = starts
    const hi = x!.shape.map((d, i) => (ct.shape[i] === 0 ? d - starts[i]! : d - (starts[i]! + (ct.shape[i]! - 1) * strides[i]! + 1)))
    return [bind1(padRule, [ct], { lo, hi, interior: strides.map((s, i) => (ct.shape[i] === 0 ? 0 : s - 1)), value: 0 })]
  },
  vmap: ([x], [d], p, n) => [[bind1(sliceRule, [batchFirst(x!, d!, n)], { starts: [0, ...p.starts], limits: [n, ...p.limits], strides: [1, ...p.strides] })], [0]],
  webgpu: (ctx, [x], { starts, strides }, [o]) => {
    const inStrides = stridesOf(x!.shape)
    const base = starts.reduce((a, s, i) => a + s * inStrides[i]!, 0)
    return [stridedGatherGpu(ctx, 'slice', x!, o!, inStrides.map((s, i) => s * strides[i]!), base)]
  },
}

export const padRule: Rule<PadParams> = {
  name: 'pad',
  abstractEval: ([x], { lo, hi, interior }) => {
    const r = x!.shape.length
    if (lo.length !== r || hi.length !== r || interior.length !== r) fail('pad', `expected ${r} (lo, hi) pairs for ${describeAval(x!)}, got ${lo.length}`)
    if ([...lo, ...hi, ...interior].some((v) => !Number.isInteger(v) || v < 0)) fail('pad', `padding must be non-negative integers, got lo [${lo}] hi [${hi}] for ${describeAval(x!)}`)
    return [{ shape: x!.shape.map((d, i) => lo[i]! + hi[i]! + (d === 0 ? 0 : d + (d - 1) * interior[i]!)), dtype: x!.dtype }]
  },
  cpu: ([x], { lo, interior, value }, [o]) => {
    const out = allocate(o!.dtype, size(o!.shape))
    if (value !== 0) out.fill(value)
    const outStrides = stridesOf(o!.shape)
    const base = lo.reduce((a, l, i) => a + l * outStrides[i]!, 0)
    const step = outStrides.map((s, i) => s * (interior[i]! + 1))
    const data = x!.data
    // Walk the input rows and write each element to its place in the output.
    forEachRow(x!.shape, [step], (xi, offsets, n, st) => {
      let p = base + offsets[0]!
      const s = st[0]!
      for (let i = 0; i < n; i++, p += s) out[p] = data[xi + i]!
    })
    return [out]
  },
  jvp: (_, [t], params) => [t === null ? null : bind1(padRule, [t], { ...params, value: 0 })],
  vjp: ([ct], [x], { lo, interior }) => {
    if (ct === null) return [null]
    const strides = interior.map((v) => v + 1)
    const limits = x!.shape.map((d, i) => (d === 0 ? lo[i]! : lo[i]! + (d - 1) * strides[i]! + 1))
    return [bind1(sliceRule, [ct], { starts: lo, limits, strides })]
  },
  vmap: ([x], [d], p, n) => [[bind1(padRule, [batchFirst(x!, d!, n)], { lo: [0, ...p.lo], hi: [0, ...p.hi], interior: [0, ...p.interior], value: p.value })], [0]],
  webgpu: (ctx, [x], { lo, interior, value }, [o]) => {
    const out = fillGpu(ctx, o!, value)
    const outStrides = stridesOf(o!.shape)
    const base = lo.reduce((a, l, i) => a + l * outStrides[i]!, 0)
    stridedScatterGpu(ctx, 'pad', x!, out, outStrides.map((s, i) => s * (interior[i]! + 1)), base)
    return [out]
  },
}

export const concatRule: Rule<ConcatParams> = {
  name: 'concat',
  abstractEval: (xs, { axis }) => {
    if (xs.length === 0) fail('concat', 'needs at least one tensor')
    const first = xs[0]!
    for (const x of xs) {
      if (x.dtype !== first.dtype || x.shape.length !== first.shape.length || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        fail('concat', `operands must match except on axis ${axis}: ${describeAll(xs)}`)
      }
    }
    const shape = [...first.shape]
    shape[axis] = xs.reduce((a, x) => a + x.shape[axis]!, 0)
    return [{ shape, dtype: first.dtype }]
  },
  cpu: (xs, { axis }, [o]) => {
    const out = allocate(o!.dtype, size(o!.shape))
    const outer = o!.shape.slice(0, axis).reduce((a, b) => a * b, 1)
    const outRow = size(o!.shape.slice(axis))
    let offset = 0
    for (const x of xs) {
      const row = size(x.shape.slice(axis))
      for (let r = 0; r < outer; r++) out.set(x.data.subarray(r * row, (r + 1) * row), r * outRow + offset)
      offset += row
    }
    return [out]
  },
  jvp: (_, ts, params) => [ts.some((t) => t === null) ? null : bind1(concatRule, ts as Tensor[], params)],
  vjp: ([ct], xs, { axis }) => {
    if (ct === null) return xs.map(() => null)
    let start = 0
    return xs.map((x) => {
      const starts = ct.shape.map((_, i) => (i === axis ? start : 0))
      const limits = ct.shape.map((d, i) => (i === axis ? start + x.shape[axis]! : d))
      start += x.shape[axis]!
      return bind1(sliceRule, [ct], { starts, limits, strides: ct.shape.map(() => 1) })
    })
  },
  vmap: (xs, dims, { axis }, n) => [[bind1(concatRule, xs.map((x, i) => batchFirst(x, dims[i]!, n)), { axis: axis + 1 })], [0]],
  webgpu: (ctx, xs, { axis }, [o]) => {
    const out = ctx.alloc(o!)
    const outStrides = stridesOf(o!.shape)
    let start = 0
    for (const x of xs) {
      stridedScatterGpu(ctx, 'concat', x, out, outStrides, start * outStrides[axis]!)
      start += x.shape[axis]!
    }
    return [out]
  },
}

/**
 * Joins tensors along an existing `axis` (default 0). All shapes must agree except on that axis.
 * xs: T[..., d_i, ...] → T[..., Σ d_i, ...]
 */
export const concat = (xs: readonly Tensor[], axis = 0): Tensor => {
  if (xs.length === 0) fail('concat', 'needs at least one tensor')
  const ax = normalizeAxis('concat', axis, xs[0]!.shape.length)
  return xs.length === 1 ? xs[0]! : bind1(concatRule, xs, { axis: ax })
}

/**
 * Python-style slicing, one entry per leading axis (missing axes are taken whole): `slice(x, [1, 0],
 * [-1, 4], [1, 2])` is `x[1:-1, 0:4:2]`. Negative begin/end count from the end and out-of-range bounds
 * are clipped, as in Python; strides must be positive (reverse with `flip`).
 * x: T[d0..] → T[ceil((end_i - begin_i) / stride_i) ..]
 */
export const slice = (x: Tensor, begin: readonly number[], end?: readonly number[], strides?: readonly number[]): Tensor => {
  const r = x.shape.length
  for (const [what, list] of [['begin', begin], ['end', end ?? []], ['strides', strides ?? []]] as const) {
    if (list.length > r) fail('slice', `${what} has ${list.length} entries for ${describeAval(x)}`)
    if (list.some((v) => !Number.isInteger(v))) fail('slice', `${what} must be integers, got [${list.join(',')}] for ${describeAval(x)}`)
  }
  const clip = (v: number, d: number): number => (v < 0 ? Math.max(0, v + d) : Math.min(v, d))
  const starts = x.shape.map((d, i) => clip(begin[i] ?? 0, d))
  const limits = x.shape.map((d, i) => Math.max(starts[i]!, clip(end?.[i] ?? d, d)))
  const steps = x.shape.map((_, i) => strides?.[i] ?? 1)
  if (steps.some((s) => s < 1)) fail('slice', `strides must be positive, got [${steps.join(',')}] for ${describeAval(x)}; use flip to reverse an axis`)
  if (starts.every((s, i) => s === 0 && limits[i] === x.shape[i] && steps[i] === 1)) return x
  return bind1(sliceRule, [x], { starts, limits, strides: steps })
}

/**
 * Pads every axis with `value` (constant mode): `pads[i] = [before, after]`, one pair per axis.
 * x: T[d0..] → T[d0 + lo0 + hi0, ..]
 */
export const pad = (x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor => {
  if (pads.length !== x.shape.length || pads.some((p) => p.length !== 2)) {
    fail('pad', `expected ${x.shape.length} [before, after] pairs for ${describeAval(x)}, got ${JSON.stringify(pads)}`)
  }
  if (x.dtype !== 'float32' && !Number.isInteger(value)) fail('pad', `value ${value} does not fit ${describeAval(x)}`)
  if (pads.every(([lo, hi]) => lo === 0 && hi === 0)) return x
  const lo = pads.map((p) => p[0])
  const hi = pads.map((p) => p[1])
  return bind1(padRule, [x], { lo, hi, interior: lo.map(() => 0), value: x.dtype === 'bool' ? Number(value !== 0) : value })
}

/**
 * Splits `x` along `axis` into `n` equal parts (a number, which must divide the axis) or into parts of
 * the given sizes (a list summing to the axis length). x: T[.., d, ..] → [T[.., s_i, ..], ...]
 */
export const split = (x: Tensor, sectionsOrSizes: number | readonly number[], axis = 0): Tensor[] => {
  const ax = normalizeAxis('split', axis, x.shape.length)
  const d = x.shape[ax]!
  let sizes: readonly number[]
  if (typeof sectionsOrSizes === 'number') {
    const n = sectionsOrSizes
    if (!Number.isInteger(n) || n < 1 || d % n !== 0) fail('split', `cannot split axis ${ax} of ${describeAval(x)} into ${n} equal sections`)
    sizes = new Array<number>(n).fill(d / n)
  } else {
    sizes = sectionsOrSizes
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== d) {
      fail('split', `sizes [${sizes.join(',')}] must be non-negative integers summing to ${d} (axis ${ax} of ${describeAval(x)})`)
    }
  }
  let start = 0
  return sizes.map((s) => {
    const starts = x.shape.map((_, i) => (i === ax ? start : 0))
    const limits = x.shape.map((e, i) => (i === ax ? start + s : e))
    start += s
    return bind1(sliceRule, [x], { starts, limits, strides: x.shape.map(() => 1) })
  })
}
