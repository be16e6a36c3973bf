/**
 * The GPU workloads (W1–W5), each written for fovea, tfjs-backend-webgpu and jax-js (webgpu) over the
 * same host float32 inputs. A side's `run` is one repetition: compute, then read every output back to
 * the host, so queued GPU work is always inside the measured interval. Layout changes a peer needs
 * (tfjs's NHWC/HWIO) happen once on the host before timing; `canonical` maps outputs back to fovea's
 * layout only for the agreement check.
 *
 * Memory, per library's own model: fovea runs each repetition in `F.scope` and disposes the returned
 * tensors after readback; tfjs computes inside `tf.tidy` and disposes the outputs after readback; jax-js
 * functions consume their arguments, so long-lived inputs are passed as `.ref` and `data()` consumes the
 * outputs. `leak()` reports what a side holds beyond its inputs after timing (for fovea: growth across
 * repetitions).
 */
import type * as tfType from '@tensorflow/tfjs-core'
import type * as jaxType from '@jax-js/jax'
import * as F from '../index.js'
import { permuteHost, uniformHost } from './harness.js'
import {
  type HostTensor, foveaResnet18, foveaResnet18Params, jaxResnet18, jaxResnet18Params, resnet18HostInput,
  resnet18HostParams, tfjsResnet18, tfjsResnet18Input, tfjsResnet18Params,
} from './resnet18.js'

type TF = typeof tfType
type JAX = typeof jaxType
type JArray = jaxType.numpy.Array

/** One library's side of a workload, built from the host inputs. */
export type GpuSide = {
  /** One repetition: compute and read every output back. */
  readonly run: () => Promise<Float32Array[]>
  /** The outputs of `run` in fovea's layout, for the agreement check (default: unchanged). */
  readonly canonical?: (outs: Float32Array[]) => Float32Array[]
  /** A sentence when the side holds more than it did when built (a leak), else undefined. */
  readonly leak: () => string | undefined
  /** Frees what the side holds. */
  readonly dispose: () => void
}

/** `foveajit` and `jaxjit` are fovea and jax-js with the workload's function compiled by their `jit`. */
export type LibraryName = 'fovea' | 'foveajit' | 'tfjs' | 'jax' | 'jaxjit'

export type Libraries = { readonly tf: TF | null; readonly jax: JAX | null }

export type GpuWorkload = {
  readonly id: string
  readonly title: string
  /** Largest accepted max|a - b| between two libraries, divided by max(1, max|reference output|). */
  readonly tolerance: number
  /** Why the tolerance is what it is. */
  readonly toleranceWhy: string
  /** Generates the host inputs once and returns a builder per library. */
  readonly prepare: () => {
    /** `jit`: the same function under `F.jit`. */
    readonly fovea: (libs: Libraries, jit: boolean) => GpuSide
    readonly tfjs: (libs: Libraries) => GpuSide
    /** `jit`: the same function under `jax.jit`. */
    readonly jax: (libs: Libraries, jit: boolean) => GpuSide
  }
}

// ---------------------------------------------------------------- per-library plumbing

/**
 * fovea side. `fn` gets the inputs as arguments, so under `jit` they are the compiled program's inputs
 * (not constants baked into it); the first run traces and compiles, before anything is timed.
 */
const foveaSide = (jit: boolean, inputs: readonly F.Tensor[], fn: (...xs: F.Tensor[]) => F.Tensor[]): GpuSide => {
  const call = jit ? F.jit(fn) : fn
  // Live bytes are global to fovea (the eager and jitted sides share them), so a leak is measured as
  // growth across each repetition after the first (which compiles, and may keep the program's constants).
  const live = () => F.backendInfo().liveBytes ?? 0
  let runs = 0
  let grown = 0
  return {
    run: async () => {
      const before = live()
      const outs = F.scope(() => call(...inputs))
      const datas = await Promise.all(outs.map(async (t) => (await F.toArray(t)) as Float32Array))
      F.dispose(outs)
      if (runs++ > 0) grown += live() - before
      return datas
    },
    leak: () => (grown > 0 ? `fovea live GPU bytes grew by ${grown} over ${runs - 1} repetitions` : undefined),
    dispose: () => F.dispose(inputs),
  }
}

const tfjsSide = (tf: TF, inputs: readonly tfType.Tensor[], compute: () => tfType.Tensor[], canonical?: GpuSide['canonical']): GpuSide => {
  const tensorsAtStart = tf.memory().numTensors
  return {
    run: async () => {
      const outs = tf.tidy(compute)
      const datas = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>))
      tf.dispose(outs)
      return datas
    },
    ...(canonical === undefined ? {} : { canonical }),
    leak: () => {
      const grown = tf.memory().numTensors - tensorsAtStart
      return grown > 0 ? `tfjs tensor count grew by ${grown}` : undefined
    },
    dispose: () => tf.dispose([...inputs]),
  }
}

/**
 * jax-js side. `fn` follows jax-js's ownership rule (it consumes its arguments and returns fresh
 * arrays); each repetition passes it a new reference to every input. With `jit`, the same function is
 * compiled by `jax.jit` on its first call (fused kernels, one recorded graph) — jax-js's fastest form.
 */
const jaxSide = <A extends JArray[]>(jax: JAX, jit: boolean, inputs: A, fn: (...args: A) => JArray[]): GpuSide => {
  const compiled = jit ? jax.jit(fn as (...args: JArray[]) => JArray[]) : null
  const call = compiled === null ? fn : (compiled as unknown as (...args: A) => JArray[])
  return {
    run: async () => Promise.all(call(...(inputs.map((a) => a.ref) as A)).map((a) => a.data() as Promise<Float32Array>)),
    leak: () => {
      const held = inputs.filter((a) => a.refCount !== 1)
      return held.length > 0 ? `jax-js: ${held.length} input(s) with reference count ≠ 1 (${held.map((a) => a.refCount).join(', ')})` : undefined
    },
    dispose: () => {
      compiled?.dispose()
      inputs.forEach((a) => a.dispose())
    },
  }
}

const need = <T>(lib: T | null, name: string): T => {
  if (lib === null) throw new Error(`${name} is not set up`)
  return lib
}

const foveaTensor = (t: HostTensor) => F.tensor(t.data, { shape: t.shape })
const jaxArray = (jax: JAX, t: HostTensor) => jax.numpy.array(t.data).reshape([...t.shape])

// ---------------------------------------------------------------- W1–W4

const W1: GpuWorkload = {
  id: 'W1',
  title: 'matmul 1024x1024 · 1024x1024',
  tolerance: 1e-5,
  toleranceWhy: 'sums of 1024 products accumulated in different orders (tiles, fma) by each library; 1.4e-6 seen on lavapipe',
  prepare: () => {
    const n = 1024
    const a: HostTensor = { data: uniformHost(1, n * n), shape: [n, n] }
    const b: HostTensor = { data: uniformHost(2, n * n), shape: [n, n] }
    return {
      fovea: (_, jit) => {
        const [fa, fb] = [foveaTensor(a), foveaTensor(b)]
        return foveaSide(jit, [fa, fb], (ma, mb) => [F.matmul(ma!, mb!)])
      },
      tfjs: (libs) => {
        const tf = need(libs.tf, 'tfjs')
        const [ta, tb] = [tf.tensor2d(a.data, [n, n]), tf.tensor2d(b.data, [n, n])]
        return tfjsSide(tf, [ta, tb], () => [tf.matMul(ta, tb)])
      },
      jax: (libs, jit) => {
        const jax = need(libs.jax, 'jax-js')
        const [ja, jb] = [jaxArray(jax, a), jaxArray(jax, b)]
        return jaxSide(jax, jit, [ja, jb], (ma, mb) => [jax.numpy.matmul(ma, mb)])
      },
    }
  },
}

const W2: GpuWorkload = {
  id: 'W2',
  title: 'conv2d x(1,64,56,56) · w(64,64,3,3), stride 1, pad 1',
  tolerance: 1e-5,
  toleranceWhy: 'sums of 576 products accumulated in different orders by each library; 1.1e-6 seen on lavapipe',
  prepare: () => {
    const [n, c, h, w, o, k] = [1, 64, 56, 56, 64, 3]
    const x: HostTensor = { data: uniformHost(3, n * c * h * w), shape: [n, c, h, w] }
    const wt: HostTensor = { data: uniformHost(4, o * c * k * k, -0.1, 0.1), shape: [o, c, k, k] }
    return {
      fovea: (_, jit) => {
        const [fx, fw] = [foveaTensor(x), foveaTensor(wt)]
        return foveaSide(jit, [fx, fw], (cx, cw) => [F.conv2d(cx!, cw!, { stride: 1, padding: 1 })])
      },
      tfjs: (libs) => {
        const tf = need(libs.tf, 'tfjs')
        // tfjs wants NHWC activations and HWIO filters: the same numbers, permuted once, outside timing.
        const tx = tf.tensor4d(permuteHost(x.data, x.shape, [0, 2, 3, 1]), [n, h, w, c])
        const tw = tf.tensor4d(permuteHost(wt.data, wt.shape, [2, 3, 1, 0]), [k, k, c, o])
        return tfjsSide(tf, [tx, tw], () => [tf.conv2d(tx, tw, 1, 1)], ([y]) => [permuteHost(y!, [n, h, w, o], [0, 3, 1, 2])])
      },
      jax: (libs, jit) => {
        const jax = need(libs.jax, 'jax-js')
        const [jx, jw] = [jaxArray(jax, x), jaxArray(jax, wt)]
        return jaxSide(jax, jit, [jx, jw], (cx, cw) => [jax.lax.convGeneralDilated(cx, cw, [1, 1], [[1, 1], [1, 1]])])
      },
    }
  },
}

/** MLP 784-512-512-10 parameters, He-uniform weights stored [in, out] so a layer is x·W + b. */
const mlpHostParams = (): HostTensor[] => {
  const sizes = [784, 512, 512, 10]
  return sizes.slice(1).flatMap((out, i) => {
    const fanIn = sizes[i]!
    const limit = Math.sqrt(6 / fanIn)
    return [
      { data: uniformHost(10 + 2 * i, fanIn * out, -limit, limit), shape: [fanIn, out] },
      { data: uniformHost(11 + 2 * i, out, -0.01, 0.01), shape: [out] },
    ]
  })
}

const W3: GpuWorkload = {
  id: 'W3',
  title: 'MLP 784-512-512-10 value-and-grad + SGD, batch 256',
  tolerance: 1e-5,
  toleranceWhy: 'three matmul layers forward and back, each accumulated in its own order; 1.8e-7 seen on lavapipe',
  prepare: () => {
    const [batch, classes, lr] = [256, 10, 0.01]
    const x: HostTensor = { data: uniformHost(5, batch * 784, 0, 1), shape: [batch, 784] }
    const labels = uniformHost(6, batch, 0, classes).map(Math.floor)
    const y: HostTensor = { data: new Float32Array(batch * classes), shape: [batch, classes] }
    labels.forEach((c, i) => { y.data[i * classes + c] = 1 })
    const host = mlpHostParams()
    return {
      fovea: (_, jit) => {
        type Params = readonly F.Tensor[]
        const params: Params = host.map(foveaTensor)
        const [fx, fy] = [foveaTensor(x), foveaTensor(y)]
        // Softmax cross-entropy, mean over the batch: -mean_i sum_c y_ic · log softmax(logits)_ic.
        const loss = ([w1, b1, w2, b2, w3, b3]: Params, bx: F.Tensor, by: F.Tensor): F.Tensor => {
          const h1 = F.relu(F.add(F.matmul(bx, w1!), b1!))
          const h2 = F.relu(F.add(F.matmul(h1, w2!), b2!))
          const logits = F.add(F.matmul(h2, w3!), b3!)
          return F.neg(F.mean(F.sum(F.mul(by, F.logSoftmax(logits, -1)), -1)))
        }
        const valueAndGrad = F.valueAndGrad(loss)
        return foveaSide(jit, [...params, fx, fy], (...args) => {
          const ps = args.slice(0, 6)
          const [value, grads] = valueAndGrad(ps, args[6]!, args[7]!)
          return [value as F.Tensor, ...ps.map((p, i) => F.sub(p, F.mul((grads as Params)[i]!, lr)))]
        })
      },
      tfjs: (libs) => {
        const tf = need(libs.tf, 'tfjs')
        const params = host.map((p) => tf.tensor(p.data, [...p.shape]))
        const [tx, ty] = [tf.tensor2d(x.data, [batch, 784]), tf.tensor2d(y.data, [batch, classes])]
        const loss = (...p: tfType.Tensor[]): tfType.Scalar => {
          const [w1, b1, w2, b2, w3, b3] = p as [tfType.Tensor2D, tfType.Tensor1D, tfType.Tensor2D, tfType.Tensor1D, tfType.Tensor2D, tfType.Tensor1D]
          const h1 = tf.relu(tf.add(tf.matMul(tx, w1), b1))
          const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2))
          const logits = tf.add(tf.matMul(h2, w3), b3)
          return tf.neg(tf.mean(tf.sum(tf.mul(ty, tf.logSoftmax(logits, -1)), -1))) as tfType.Scalar
        }
        const valueAndGrads = tf.valueAndGrads(loss)
        return tfjsSide(tf, [...params, tx, ty], () => {
          const { value, grads } = valueAndGrads(params)
          return [value, ...params.map((p, i) => tf.sub(p, tf.mul(grads[i]!, lr)))]
        })
      },
      jax: (libs, jit) => {
        const jax = need(libs.jax, 'jax-js')
        const { nn, numpy: np } = jax
        const params = host.map((p) => jaxArray(jax, p))
        const [jx, jy] = [jaxArray(jax, x), jaxArray(jax, y)]
        // Everything the step reads is an argument, so `jax.jit` can trace it; gradients are taken
        // with respect to the first argument only (jax-js's default argnums).
        const loss = ([w1, b1, w2, b2, w3, b3]: JArray[], bx: JArray, by: JArray): JArray => {
          const h1 = nn.relu(np.add(np.matmul(bx, w1!), b1!))
          const h2 = nn.relu(np.add(np.matmul(h1, w2!), b2!))
          const logits = np.add(np.matmul(h2, w3!), b3!)
          return np.negative(np.mean(np.sum(np.multiply(by, nn.logSoftmax(logits, -1)), -1)))
        }
        const valueAndGrad = jax.valueAndGrad(loss)
        return jaxSide(jax, jit, [...params, jx, jy], (...args) => {
          const ps = args.slice(0, 6)
          const [value, grads] = valueAndGrad(ps.map((p) => p.ref), args[6]!, args[7]!)
          return [value, ...ps.map((p, i) => np.subtract(p, np.multiply(grads[i]!, lr)))]
        })
      },
    }
  },
}

const W4: GpuWorkload = {
  id: 'W4',
  title: 'tanh(x*1.5+0.5)*sigmoid(x) - x*x, 2^22 elements',
  tolerance: 1e-6,
  toleranceWhy: 'tanh and sigmoid are evaluated by different formulas on the GPU (a few ulp of values up to 9); 1.1e-7 seen on lavapipe',
  prepare: () => {
    const n = 1 << 22
    const x: HostTensor = { data: uniformHost(7, n, -3, 3), shape: [n] }
    return {
      fovea: (_, jit) => {
        const fx = foveaTensor(x)
        return foveaSide(jit, [fx], (v) => [F.sub(F.mul(F.tanh(F.add(F.mul(v!, 1.5), 0.5)), F.sigmoid(v!)), F.mul(v!, v!))])
      },
      tfjs: (libs) => {
        const tf = need(libs.tf, 'tfjs')
        const tx = tf.tensor1d(x.data)
        return tfjsSide(tf, [tx], () => [tf.sub(tf.mul(tf.tanh(tf.add(tf.mul(tx, 1.5), 0.5)), tf.sigmoid(tx)), tf.mul(tx, tx))])
      },
      jax: (libs, jit) => {
        const jax = need(libs.jax, 'jax-js')
        const { nn, numpy: np } = jax
        const jx = jaxArray(jax, x)
        return jaxSide(jax, jit, [jx], (v) => [np.subtract(np.multiply(np.tanh(np.add(np.multiply(v.ref, 1.5), 0.5)), nn.sigmoid(v.ref)), np.multiply(v.ref, v))])
      },
    }
  },
}

// ---------------------------------------------------------------- W5

const W5: GpuWorkload = {
  id: 'W5',
  title: 'ResNet-18 forward 224x224, batch 1, eval (BN folded)',
  tolerance: 1e-4,
  toleranceWhy: 'twenty convolutions in a row, each accumulated in its own order, errors compounding through the residual stages; 7.2e-7 seen on lavapipe',
  prepare: () => {
    const host = resnet18HostParams()
    const x = resnet18HostInput()
    return {
      fovea: (_, jit) => {
        const params = foveaResnet18Params(host)
        const fx = foveaTensor(x)
        const names = Object.keys(params)
        return foveaSide(jit, [...names.map((n) => params[n]!), fx], (...args) =>
          [foveaResnet18(Object.fromEntries(names.map((n, i) => [n, args[i]!])), args[names.length]!)])
      },
      tfjs: (libs) => {
        const tf = need(libs.tf, 'tfjs')
        const params = tfjsResnet18Params(tf, host)
        const tx = tfjsResnet18Input(tf, x)
        return tfjsSide(tf, [...Object.values(params), tx], () => [tfjsResnet18(tf, params, tx)])
      },
      jax: (libs, jit) => {
        const jax = need(libs.jax, 'jax-js')
        const params = jaxResnet18Params(jax, host)
        const jx = jaxArray(jax, x)
        const names = Object.keys(params)
        return jaxSide(jax, jit, [...names.map((n) => params[n]!), jx], (...args) =>
          [jaxResnet18(jax, Object.fromEntries(names.map((n, i) => [n, args[i]!])), args[names.length]!)])
      },
    }
  },
}

export const gpuWorkloads: readonly GpuWorkload[] = [W1, W2, W3, W4, W5]
