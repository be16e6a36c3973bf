/**
 * The CPU workloads fovea is measured on, each with the same host inputs fed to fovea and to
 * `@tensorflow/tfjs-backend-cpu`. A side's `run` is one repetition: compute, then read every output back
 * to the host. Layout changes tfjs needs (NHWC activations, HWIO filters) happen once, before timing;
 * its outputs are moved back to fovea's layout only for the agreement check.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as F from '../index.js'
import { permuteHost, uniformHost } from './harness.js'

/** One library's side of a workload, built from the host inputs. */
export type Runner = {
  /** One repetition: compute and read every output back. */
  readonly run: () => Promise<Float32Array[]>
  /** The outputs of `run` in fovea's layout, for the agreement check (default: unchanged). */
  readonly canonical?: (outs: Float32Array[]) => Float32Array[]
  /** Frees what the runner holds (tfjs tensors created outside tidy). */
  readonly dispose?: () => void
}

export type Workload = {
  readonly id: string
  readonly title: string
  /** Largest accepted max|fovea - tfjs| divided by max|fovea|. */
  readonly tolerance: number
  /** Generates the host inputs and returns both sides built from them. */
  readonly prepare: () => { readonly fovea: Runner; readonly tfjs: Runner }
}

const f32 = (data: Float32Array, shape: readonly number[]) => F.tensor(data, { shape })

/** Reads tfjs outputs back and frees them; the tensors come from a tf.tidy so intermediates are gone. */
const readTf = async (outs: readonly tf.Tensor[]): Promise<Float32Array[]> => {
  const datas = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>))
  tf.dispose([...outs])
  return datas
}

const W1: Workload = {
  id: 'W1',
  title: 'matmul 1024x1024 · 1024x1024',
  tolerance: 1e-5,
  prepare: () => {
    const n = 1024
    const a = uniformHost(1, n * n)
    const b = uniformHost(2, n * n)
    const fa = f32(a, [n, n])
    const fb = f32(b, [n, n])
    const ta = tf.tensor2d(a, [n, n])
    const tb = tf.tensor2d(b, [n, n])
    return {
      fovea: { run: async () => [await F.toArray(F.matmul(fa, fb)) as Float32Array] },
      tfjs: { run: () => readTf([tf.tidy(() => tf.matMul(ta, tb))]), dispose: () => tf.dispose([ta, tb]) },
    }
  },
}

const W2: Workload = {
  id: 'W2',
  title: 'conv2d x(1,64,56,56) · w(64,64,3,3), stride 1, pad 1',
  tolerance: 1e-5,
  prepare: () => {
    const [n, c, h, w, o, k] = [1, 64, 56, 56, 64, 3]
    const x = uniformHost(3, n * c * h * w)
    const wt = uniformHost(4, o * c * k * k, -0.1, 0.1)
    const fx = f32(x, [n, c, h, w])
    const fw = f32(wt, [o, c, k, k])
    // tfjs wants NHWC activations and HWIO filters: the same numbers, transposed once, outside timing.
    const tx = tf.tensor4d(permuteHost(x, [n, c, h, w], [0, 2, 3, 1]), [n, h, w, c])
    const tw = tf.tensor4d(permuteHost(wt, [o, c, k, k], [2, 3, 1, 0]), [k, k, c, o])
    return {
      fovea: { run: async () => [await F.toArray(F.conv2d(fx, fw, { stride: 1, padding: 1 })) as Float32Array] },
      tfjs: {
        run: () => readTf([tf.tidy(() => tf.conv2d(tx, tw, 1, 1))]),
        canonical: ([y]) => [permuteHost(y!, [n, h, w, o], [0, 3, 1, 2])],
        dispose: () => tf.dispose([tx, tw]),
      },
    }
  },
}

/** MLP 784-512-512-10 parameters, He-uniform weights stored [in, out] so a layer is x·W + b. */
const mlpHostParams = () => {
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

const W3: Workload = {
  id: 'W3',
  title: 'MLP 784-512-512-10 value-and-grad + SGD, batch 256',
  tolerance: 1e-5,
  prepare: () => {
    const [batch, classes, lr] = [256, 10, 0.01]
    const x = uniformHost(5, batch * 784, 0, 1)
    const labels = uniformHost(6, batch, 0, classes).map(Math.floor)
    const y = new Float32Array(batch * classes)
    labels.forEach((c, i) => { y[i * classes + c] = 1 })
    const host = mlpHostParams()

    type Params = { readonly w1: F.Tensor; readonly b1: F.Tensor; readonly w2: F.Tensor; readonly b2: F.Tensor; readonly w3: F.Tensor; readonly b3: F.Tensor }
    const [w1, b1, w2, b2, w3, b3] = host.map((p) => f32(p.data, p.shape))
    const params: Params = { w1: w1!, b1: b1!, w2: w2!, b2: b2!, w3: w3!, b3: b3! }
    const fx = f32(x, [batch, 784])
    const fy = f32(y, [batch, classes])
    // Softmax cross-entropy, mean over the batch: -mean_i sum_c y_ic · log softmax(logits)_ic.
    const loss = (p: Params): F.Tensor => {
      const h1 = F.relu(F.add(F.matmul(fx, p.w1), p.b1))
      const h2 = F.relu(F.add(F.matmul(h1, p.w2), p.b2))
      const logits = F.add(F.matmul(h2, p.w3), p.b3)
      return F.neg(F.mean(F.sum(F.mul(fy, F.logSoftmax(logits, -1)), -1)))
    }
    const valueAndGrad = F.valueAndGrad(loss)
    const foveaStep = async (): Promise<Float32Array[]> => {
      const [value, grads] = valueAndGrad(params)
      const updated: Params = F.treeMap((w: F.Tensor, g: F.Tensor) => F.sub(w, F.mul(g, lr)), params, grads)
      const outs = [value as F.Tensor, updated.w1, updated.b1, updated.w2, updated.b2, updated.w3, updated.b3]
      return Promise.all(outs.map(async (t) => await F.toArray(t) as Float32Array))
    }

    const tParams = host.map((p) => tf.tensor(p.data, p.shape))
    const tx = tf.tensor2d(x, [batch, 784])
    const ty = tf.tensor2d(y, [batch, classes])
    const tLoss = (...p: tf.Tensor[]): tf.Scalar => {
      const [tw1, tb1, tw2, tb2, tw3, tb3] = p as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D]
      const h1 = tf.relu(tf.add(tf.matMul(tx, tw1), tb1))
      const h2 = tf.relu(tf.add(tf.matMul(h1, tw2), tb2))
      const logits = tf.add(tf.matMul(h2, tw3), tb3)
      return tf.neg(tf.mean(tf.sum(tf.mul(ty, tf.logSoftmax(logits, -1)), -1))) as tf.Scalar
    }
    const tValueAndGrads = tf.valueAndGrads(tLoss)
    const tfjsStep = () => readTf(tf.tidy(() => {
      const { value, grads } = tValueAndGrads(tParams)
      return [value, ...tParams.map((p, i) => tf.sub(p, tf.mul(grads[i]!, lr)))]
    }))
    return {
      fovea: { run: foveaStep },
      tfjs: { run: tfjsStep, dispose: () => tf.dispose([...tParams, tx, ty]) },
    }
  },
}

const W4: Workload = {
  id: 'W4',
  title: 'tanh(x*1.5+0.5)*sigmoid(x) - x*x, 2^22 elements',
  tolerance: 1e-6,
  prepare: () => {
    const n = 1 << 22
    const x = uniformHost(7, n, -3, 3)
    const fx = f32(x, [n])
    const tx = tf.tensor1d(x)
    return {
      fovea: { run: async () => [await F.toArray(F.sub(F.mul(F.tanh(F.add(F.mul(fx, 1.5), 0.5)), F.sigmoid(fx)), F.mul(fx, fx))) as Float32Array] },
      tfjs: {
        run: () => readTf([tf.tidy(() => tf.sub(tf.mul(tf.tanh(tf.add(tf.mul(tx, 1.5), 0.5)), tf.sigmoid(tx)), tf.mul(tx, tx)))]),
        dispose: () => tf.dispose(tx),
      },
    }
  },
}

export const workloads: readonly Workload[] = [W1, W2, W3, W4]
