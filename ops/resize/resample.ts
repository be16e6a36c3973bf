/**
 * `resample2d` applies a separable linear map (taps.ts) to every (n, c) plane of an NCHW tensor;
 * `resample2dTranspose` applies its transpose. Each is the other's vjp, and both are linear, so their
 * jvps are themselves: gradients of any order stay inside this pair. avgPool2d, adaptiveAvgPool2d and
 * interpolate are all this one primitive with different axis maps, so a GPU backend lowers one kernel
 * (a gather over per-axis tap tables) for all four.
 */
import { fail } from '../../core/errors.js'
import { bind1 } from '../../core/interpreters/stack.js'
import type { Rule } from '../../core/rule.js'
import { type Aval, type Tensor, describeAval } from '../../core/tensor.js'
import { vmapFoldIntoN } from './fold.js'
import { type AxisMap, applySeparable, axisTaps, transposeTaps } from './taps.js'
import { resampleGpu } from './wgsl.js'

/** The map of the H axis and of the W axis. */
export type ResampleParams = { readonly h: AxisMap; readonly w: AxisMap }

const planeShape = (op: string, x: Aval, h: number, w: number): [number, number] => {
  if (x.dtype !== 'float32' || x.shape.length !== 4 || x.shape[2] !== h || x.shape[3] !== w) {
    fail(op, `expected f32[N,C,${h},${w}], got ${describeAval(x)} (internal error)`)
  }
  return [x.shape[0]!, x.shape[1]!]
}

export const resample2dRule: Rule<ResampleParams> = {
  name: 'resample2d',
  abstractEval: ([x], { h, w }) => {
    const [n, c] = planeShape('resample2d', x!, h.inSize, w.inSize)
    return [{ shape: [n, c, h.outSize, w.outSize], dtype: 'float32' }]
  },
  cpu: ([x], { h, w }) => [applySeparable(x!.data, x!.shape[0]! * x!.shape[1]!, axisTaps(h), axisTaps(w))],
  jvp: (_, [t], params) => [t === null ? null : resample2d(t, params)],
  vjp: ([ct], _, params) => [ct === null ? null : resample2dTranspose(ct, params)],
  vmap: (args, dims, params, n) => vmapFoldIntoN(args, dims, n, ([x]) => resample2d(x!, params)),
  webgpu: (ctx, [x], params, [o]) => [resampleGpu(ctx, x!, params, false, o!)],
}

export const resample2dTransposeRule: Rule<ResampleParams> = {
  name: 'resample2dTranspose',
  abstractEval: ([ct], { h, w }) => {
    const [n, c] = planeShape('resample2dTranspose', ct!, h.outSize, w.outSize)
    return [{ shape: [n, c, h.inSize, w.inSize], dtype: 'float32' }]
  },
  cpu: ([ct], { h, w }) => [applySeparable(ct!.data, ct!.shape[0]! * ct!.shape[1]!, transposeTaps(axisTaps(h)), transposeTaps(axisTaps(w)))],
  jvp: (_, [t], params) => [t === null ? null : resample2dTranspose(t, params)],
  vjp: ([ct], _, params) => [ct === null ? null : resample2d(ct, params)],
  vmap: (args, dims, params, n) => vmapFoldIntoN(args, dims, n, ([x]) => resample2dTranspose(x!, params)),
  webgpu: (ctx, [ct], params, [o]) => [resampleGpu(ctx, ct!, params, true, o!)],
}

/** x: f32[N,C,h.inSize,w.inSize] → f32[N,C,h.outSize,w.outSize] */
export const resample2d = (x: Tensor, params: ResampleParams): Tensor => bind1(resample2dRule, [x], params)

/** ct: f32[N,C,h.outSize,w.outSize] → f32[N,C,h.inSize,w.inSize] (the adjoint of resample2d). */
export const resample2dTranspose = (ct: Tensor, params: ResampleParams): Tensor => bind1(resample2dTransposeRule, [ct], params)
