/**
 * Batching. A vmap tracer carries a value with an extra batch axis (`bdim`) or with none (`null`, the
 * same for every element). Primitives with a `vmap` rule handle the batch axis directly; the others are
 * mapped element by element and stacked, which is always correct and used only where no rule exists.
 */
import { fail } from '../errors.js'
import type { BatchDim } from '../rule.js'
import { type Tensor, type Trace, type Tracer } from '../tensor.js'
import type { AdOps } from './ad-ops.js'
import { bind, withTrace } from './stack.js'

type VmapPayload = { readonly value: Tensor; readonly bdim: BatchDim }

const payloadOf = (t: Tracer): VmapPayload => t.payload as VmapPayload

const makeTracer = (trace: Trace, value: Tensor, bdim: BatchDim): Tracer => ({
  kind: 'tracer',
  shape: bdim === null ? value.shape : value.shape.filter((_, i) => i !== bdim),
  dtype: value.dtype,
  trace,
  payload: { value, bdim } satisfies VmapPayload,
})

const vmapTrace = (ops: AdOps, size: number) => (level: number): Trace => {
  const trace: Trace = {
    level,
    name: 'vmap',
    lift: (x) => makeTracer(trace, x, null),
    process: (rule, inputs, params, outAvals) => {
      const values = inputs.map((x) => payloadOf(x).value)
      const dims = inputs.map((x) => payloadOf(x).bdim)
      if (dims.every((d) => d === null)) return bind(rule, values, params).map((o) => makeTracer(trace, o, null))
      if (rule.vmap !== undefined) {
        const [outs, outDims] = rule.vmap(values, dims, params, size)
        return outs.map((o, i) => makeTracer(trace, o, outDims[i]!))
      }
      // No batching rule: apply the primitive to each batch element and stack the results on axis 0.
      if (size === 0) return outAvals.map((a) => makeTracer(trace, ops.zeros([0, ...a.shape], a.dtype), 0))
      const perElement = Array.from({ length: size }, (_, b) =>
        bind(rule, values.map((v, j) => (dims[j] === null ? v : ops.indexAxis(v, b, dims[j]!))), params),
      )
      return outAvals.map((_, k) => makeTracer(trace, ops.stack(perElement.map((outs) => outs[k]!), 0), 0))
    },
  }
  return trace
}

/**
 * Maps `f` over axis `inAxes[i]` of each input (null = not mapped) and puts the mapped axis of each
 * output at `outAxes[i]`.
 */
export const vmapFlat = (
  ops: AdOps,
  f: (inputs: Tensor[]) => Tensor[],
  inputs: readonly Tensor[],
  inAxes: readonly BatchDim[],
  outAxes: (count: number) => readonly number[],
): Tensor[] => {
  const sizes = new Set(inputs.flatMap((x, i) => (inAxes[i] === null ? [] : [x.shape[inAxes[i]!]!])))
  if (sizes.size === 0) fail('vmap', 'no input is mapped: give at least one input a non-null axis')
  if (sizes.size > 1) fail('vmap', `mapped axes have different sizes (${[...sizes].join(', ')})`)
  const size = [...sizes][0]!
  return withTrace(vmapTrace(ops, size), (trace) => {
    const tracers = inputs.map((x, i) => makeTracer(trace, x, inAxes[i]!))
    const outs = f(tracers)
    const axes = outAxes(outs.length)
    return outs.map((o, i) => {
      const mine = o.kind === 'tracer' && o.trace === trace
      const value = mine ? payloadOf(o).value : o
      const bdim = mine ? payloadOf(o).bdim : null
      const target = axes[i]!
      return bdim === null ? ops.broadcastAxis(value, target, size) : bdim === target ? value : ops.moveAxis(value, bdim, target)
    })
  })
}
