/**
 * The CPU reference backend: contiguous row-major typed arrays, kernels from each rule's `cpu` entry.
 * Runs everywhere; every WebGPU kernel is tested against it.
 */
import { type TypedArray, dtypeOfArray, shortName } from '../dtype.js'
import { fail } from '../errors.js'
import { size } from '../shape.js'
import type { Concrete } from '../tensor.js'
import type { Backend, KernelTime } from './backend.js'

const wrap = (data: TypedArray, shape: readonly number[], dtype: Concrete['dtype']): Concrete => ({
  kind: 'tensor',
  backend: 'cpu',
  shape,
  dtype,
  data,
})

// The kernels timed since `startProfile` (wall time of each op's cpu entry), or undefined.
let profiled: KernelTime[] | undefined

export const cpuBackend: Backend = {
  name: 'cpu',
  run: (rule, inputs, params, outAvals) => {
    const args = inputs.map((x) => ({ data: x.data as TypedArray, shape: x.shape, dtype: x.dtype }))
    const start = profiled === undefined ? 0 : performance.now()
    const outs = rule.cpu(args, params, outAvals)
    profiled?.push({ name: rule.name, ms: performance.now() - start })
    return outs.map((data, i) => {
      const aval = outAvals[i]!
      if (data.length !== size(aval.shape) || dtypeOfArray(data) !== aval.dtype) {
        fail(rule.name, `cpu kernel returned ${shortName(dtypeOfArray(data))}[${data.length}] for output ${i}, expected ${shortName(aval.dtype)}[${aval.shape.join(',')}] (internal error)`)
      }
      return wrap(data, aval.shape, aval.dtype)
    })
  },
  fromTypedArray: (data, shape, dtype) => wrap(data, shape, dtype),
  // A copy: tensors are immutable and the caller may write to what it gets back.
  read: (x) => Promise.resolve((x.data as TypedArray).slice()),
  info: () => ({ backend: 'cpu', adapter: 'cpu (TypeScript reference)', liveBytes: 0, limits: {}, features: [] }),
  startProfile: () => {
    if (profiled !== undefined) fail('profile', 'a profile is already running; profiles do not nest')
    profiled = []
  },
  stopProfile: () => {
    const times = profiled ?? []
    profiled = undefined
    return Promise.resolve(times)
  },
}

/** Synchronous access for CPU-resident tensors (used by eager host-side helpers and tests). */
export const cpuData = (x: Concrete): TypedArray => {
  if (x.backend !== 'cpu') fail('cpuData', `tensor lives on ${x.backend}, not cpu`)
  return x.data as TypedArray
}
