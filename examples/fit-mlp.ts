/**
 * An example: fit a small MLP to the two-spirals problem with `valueAndGrad` and plain SGD, on the CPU
 * reference backend. Everything is a pure function of a params pytree and explicit PRNG keys. (The main
 * job, `npm start`, is cli/mnist.ts.)
 *
 *   npx tsx examples/fit-mlp.ts --steps 3000 --lr 0.5
 */
import * as F from '../index.js'
import type { Tensor } from '../index.js'

type Params = { readonly w1: Tensor; readonly b1: Tensor; readonly w2: Tensor; readonly b2: Tensor; readonly w3: Tensor; readonly b3: Tensor }

const argValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

/** Two interleaved spirals: x f32[2n, 2], labels i32[2n]. */
const spirals = (key: Tensor, n: number): [Tensor, Tensor] => {
  const t = F.mul(F.sqrt(F.random.uniform(key, [n])), 3 * Math.PI)
  const noise = F.mul(F.random.normal(F.random.foldIn(key, 1), [2 * n, 2]), 0.15)
  const arm = (sign: number) => F.stack([F.mul(F.mul(t, F.cos(t)), sign / 5), F.mul(F.mul(t, F.sin(t)), sign / 5)], 1)
  const x = F.add(F.concat([arm(1), arm(-1)], 0), noise)
  const y = F.concat([F.zeros([n], 'int32'), F.ones([n], 'int32')], 0)
  return [x, y]
}

/** He-normal init for a dense layer: w f32[in, out], b f32[out]. */
const dense = (key: Tensor, inDim: number, outDim: number): [Tensor, Tensor] =>
  [F.mul(F.random.normal(key, [inDim, outDim]), Math.sqrt(2 / inDim)), F.zeros([outDim])]

const init = (key: Tensor, hidden: number): Params => {
  const [k1, k2, k3] = [0, 1, 2].map((i) => F.random.foldIn(key, i)) as [Tensor, Tensor, Tensor]
  const [w1, b1] = dense(k1, 2, hidden)
  const [w2, b2] = dense(k2, hidden, hidden)
  const [w3, b3] = dense(k3, hidden, 2)
  return { w1, b1, w2, b2, w3, b3 }
}

const logits = (p: Params, x: Tensor): Tensor => {
  const h1 = F.tanh(F.add(F.matmul(x, p.w1), p.b1))
  const h2 = F.tanh(F.add(F.matmul(h1, p.w2), p.b2))
  return F.add(F.matmul(h2, p.w3), p.b3)
}

/** Mean softmax cross-entropy. */
const loss = (p: Params, x: Tensor, y: Tensor): Tensor =>
  F.neg(F.mean(F.sum(F.mul(F.logSoftmax(logits(p, x), -1), F.oneHot(y, 2)), -1)))

const accuracy = async (p: Params, x: Tensor, y: Tensor): Promise<number> =>
  F.item(F.mean(F.cast(F.equal(F.argmax(logits(p, x), -1), y), 'float32')))

const main = async (): Promise<void> => {
  const steps = argValue('steps', 1500)
  const lr = argValue('lr', 1.0)
  const key = F.random.key(0)
  const [dataKey, initKey] = [F.random.foldIn(key, 0), F.random.foldIn(key, 1)]
  const [x, y] = spirals(dataKey, 200)
  let params = init(initKey, 32)
  const step = F.valueAndGrad(loss)
  console.log(`fovea ${F.getBackend()} backend: fitting a 2-32-32-2 MLP to two spirals (${x.shape[0]} points), ${steps} SGD steps, lr ${lr}`)
  const started = performance.now()
  for (let i = 1; i <= steps; i++) {
    const [value, grads] = step(params, x, y)
    params = F.treeMap((w: Tensor, g: Tensor) => F.sub(w, F.mul(g, lr)), params, grads)
    if (i === 1 || i % 150 === 0) console.log(`step ${String(i).padStart(4)}  loss ${(await F.item(value)).toFixed(4)}  accuracy ${(100 * (await accuracy(params, x, y))).toFixed(1)}%`)
  }
  const acc = await accuracy(params, x, y)
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(2)} s; final training accuracy ${(100 * acc).toFixed(1)}%`)
}

await main()
