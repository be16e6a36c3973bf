/**
 * fovea alone, eager against `jit`, on the backend `F.initBackend()` picks (FOVEA_BACKEND=cpu|webgpu,
 * default webgpu when an adapter exists), over W1–W5 (the same inputs as ./gpu-workloads.ts and
 * ./resnet18.ts). Each workload is one step function of tensor arguments; the jitted mode compiles that
 * whole function. Reported per workload: eager and jitted median/min (readback included), jit/eager
 * speed-up, the first jitted call's time (trace + optimize + fuse + kernel compile + one run: "compile
 * ms"), the jitted call's kernel count (`lower(...).kernels`) and where one jitted call spends its
 * kernel time (`F.profile`: per kernel name, GPU timestamps on webgpu). Then host overhead: a function of 100
 * small ops on f32[4,4] (reductions between elementwise chains, so it does not fuse into one kernel)
 * called N times without readback, ms per call, eager and jitted.
 *
 *   npm run bench -- [--only W1,W4] [--reps N] [--warmup N] [--calls N] [--out path.json | --out -]
 *
 * Writes bench/results/fovea-<backend>.json (`.only-…` beside it for a partial run).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import * as F from '../index.js'
import { type Timing, commandLine, formatTable, maxAbs, maxAbsDiff, parseCli, timeAsync, uniformHost } from './harness.js'
import { type HostTensor, foveaResnet18, resnet18HostInput, resnet18HostParams } from './resnet18.js'

/** A workload as fovea sees it: a step over tensor arguments, and those arguments. */
type Step = { readonly inputs: readonly F.Tensor[]; readonly step: (...xs: F.Tensor[]) => F.Tensor[] }
type FoveaWorkload = { readonly id: string; readonly title: string; readonly prepare: () => Step }

const tensorOf = (t: HostTensor) => F.tensor(t.data, { shape: t.shape })

const W1: FoveaWorkload = {
  id: 'W1',
  title: 'matmul 1024x1024 · 1024x1024',
  prepare: () => {
    const n = 1024
    return { inputs: [tensorOf({ data: uniformHost(1, n * n), shape: [n, n] }), tensorOf({ data: uniformHost(2, n * n), shape: [n, n] })], step: (a, b) => [F.matmul(a!, b!)] }
  },
}

const W2: FoveaWorkload = {
  id: 'W2',
  title: 'conv2d x(1,64,56,56) · w(64,64,3,3), pad 1',
  prepare: () => ({
    inputs: [tensorOf({ data: uniformHost(3, 64 * 56 * 56), shape: [1, 64, 56, 56] }), tensorOf({ data: uniformHost(4, 64 * 64 * 9, -0.1, 0.1), shape: [64, 64, 3, 3] })],
    step: (x, w) => [F.conv2d(x!, w!, { stride: 1, padding: 1 })],
  }),
}

const W3: FoveaWorkload = {
  id: 'W3',
  title: 'MLP 784-512-512-10 value-and-grad + SGD, batch 256',
  prepare: () => {
    const [batch, classes, lr, sizes] = [256, 10, 0.01, [784, 512, 512, 10]] as const
    // He-uniform weights [in, out] and small biases, the seeds ./gpu-workloads.ts uses.
    const params = sizes.slice(1).flatMap((out, i) => {
      const fanIn = sizes[i]!
      const limit = Math.sqrt(6 / fanIn)
      return [tensorOf({ data: uniformHost(10 + 2 * i, fanIn * out, -limit, limit), shape: [fanIn, out] }), tensorOf({ data: uniformHost(11 + 2 * i, out, -0.01, 0.01), shape: [out] })]
    })
    const labels = uniformHost(6, batch, 0, classes).map(Math.floor)
    const y = new Float32Array(batch * classes)
    labels.forEach((c, i) => { y[i * classes + c] = 1 })
    const loss = ([w1, b1, w2, b2, w3, b3]: readonly F.Tensor[], x: F.Tensor, t: F.Tensor): F.Tensor => {
      const h1 = F.relu(F.add(F.matmul(x, w1!), b1!))
      const h2 = F.relu(F.add(F.matmul(h1, w2!), b2!))
      return F.neg(F.mean(F.sum(F.mul(t, F.logSoftmax(F.add(F.matmul(h2, w3!), b3!), -1)), -1)))
    }
    const valueAndGrad = F.valueAndGrad(loss)
    return {
      inputs: [...params, tensorOf({ data: uniformHost(5, batch * 784, 0, 1), shape: [batch, 784] }), tensorOf({ data: y, shape: [batch, classes] })],
      step: (...xs) => {
        const ps = xs.slice(0, 6)
        const [value, grads] = valueAndGrad(ps, xs[6]!, xs[7]!)
        return [value as F.Tensor, ...ps.map((p, i) => F.sub(p, F.mul((grads as readonly F.Tensor[])[i]!, lr)))]
      },
    }
  },
}

const W4: FoveaWorkload = {
  id: 'W4',
  title: 'tanh(x*1.5+0.5)*sigmoid(x) - x*x, 2^22',
  prepare: () => ({
    inputs: [tensorOf({ data: uniformHost(7, 1 << 22, -3, 3), shape: [1 << 22] })],
    step: (x) => [F.sub(F.mul(F.tanh(F.add(F.mul(x!, 1.5), 0.5)), F.sigmoid(x!)), F.mul(x!, x!))],
  }),
}

const W5: FoveaWorkload = {
  id: 'W5',
  title: 'ResNet-18 forward 224x224, batch 1 (BN folded)',
  prepare: () => {
    const host = resnet18HostParams()
    const names = Object.keys(host)
    return {
      inputs: [...names.map((n) => tensorOf(host[n]!)), tensorOf(resnet18HostInput())],
      step: (...xs) => [foveaResnet18(Object.fromEntries(names.map((n, i) => [n, xs[i]!])), xs[names.length]!)],
    }
  },
}

const workloads: readonly FoveaWorkload[] = [W1, W2, W3, W4, W5]

/** One repetition: compute in a scope, read every output back, free the outputs. */
const runOnce = async (call: (...xs: F.Tensor[]) => F.Tensor[], inputs: readonly F.Tensor[]): Promise<Float32Array[]> => {
  const outs = F.scope(() => call(...inputs))
  const datas = await Promise.all(outs.map(async (t) => (await F.toArray(t)) as Float32Array))
  F.dispose(outs)
  return datas
}

/**
 * 100 small ops on f32[4,4]: 20 rounds of mul, tanh, sum over the last axis, reshape, add. The sum
 * between elementwise chains keeps the jitted program from collapsing into one kernel, so the
 * per-call cost is dispatch and bookkeeping, which is what host overhead means.
 */
const hundredOps = (x: F.Tensor): F.Tensor => {
  let h = x
  for (let r = 0; r < 20; r++) {
    const y = F.tanh(F.mul(h, 0.9))
    h = F.add(y, F.reshape(F.sum(y, -1), [4, 1]))
  }
  return h
}

/** ms per call over `calls` calls with no readback in between (one readback after, untimed, to drain). */
const hostMsPerCall = async (fn: (x: F.Tensor) => F.Tensor, x: F.Tensor, calls: number): Promise<number> => {
  const loop = (n: number) => {
    for (let i = 0; i < n; i++) F.dispose(F.scope(() => fn(x)))
  }
  loop(Math.max(1, calls >> 3))
  await F.toArray(F.scope(() => fn(x)))
  const t0 = performance.now()
  loop(calls)
  const ms = performance.now() - t0
  await F.toArray(F.scope(() => fn(x)))
  return ms / calls
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits))
const summary = (t: Timing) => ({ medianMs: round(t.medianMs), minMs: round(t.minMs), samplesMs: t.samplesMs.map((s) => round(s, 1)) })

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2)
  const loadAtStart = os.loadavg().map((v) => round(v))
  const backend = await F.initBackend()
  const adapter = F.backendInfo().adapter ?? 'unknown'
  const only = parseCli(argv, { reps: 3, warmup: 1, out: '' }).only
  const here = dirname(fileURLToPath(import.meta.url))
  const cli = parseCli(argv, { reps: 3, warmup: 1, out: resolve(here, `results/fovea-${backend}${only === null ? '' : `.only-${only.join('-')}`}.json`) })
  const callsArg = argv.indexOf('--calls')
  const calls = callsArg >= 0 ? Number(argv[callsArg + 1]) : 1000
  const unknown = (cli.only ?? []).filter((id) => !workloads.some((w) => w.id === id))
  if (unknown.length > 0) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${workloads.map((w) => w.id).join(', ')}`)
  console.log(`fovea ${backend} (${adapter}): node ${process.version}, warm-up ${cli.warmup}, reps ${cli.reps}`)

  const results = []
  for (const w of workloads.filter((x) => cli.only === null || cli.only.includes(x.id))) {
    console.log(`${w.id} ${w.title}`)
    const { inputs, step } = w.prepare()
    const eager = await timeAsync(() => runOnce(step, inputs), cli)
    console.log(`  eager  ${eager.medianMs.toFixed(1)} ms (min ${eager.minMs.toFixed(1)})`)
    const jitted = F.jit(step)
    const t0 = performance.now()
    // The first call traces outside any F.scope: a scope would release constants the trace creates
    // (e.g. f32[256,10] in W3's backward) that the cached program keeps using (a fovea bug, reported).
    const firstOuts = jitted(...inputs)
    const jitOut = await Promise.all(firstOuts.map(async (t) => (await F.toArray(t)) as Float32Array))
    F.dispose(firstOuts)
    const compileMs = performance.now() - t0
    const kernels = jitted.lower(...inputs).kernels
    const jit = await timeAsync(() => runOnce(jitted, inputs), cli)
    const profiled = await F.profile(() => runOnce(jitted, inputs))
    const kernelMs = profiled.summary.slice(0, 6).map((k) => ({ name: k.name.slice(0, 100), count: k.count, ms: round(k.ms) }))
    console.log(`  kernels: ${round(profiled.totalMs, 1)} ms in all; ${kernelMs.map((k) => `${k.name.slice(0, 40)} ×${k.count} ${k.ms} ms`).join('; ')}`)
    // The jitted step must compute what the eager one does (fusion reorders float work a little).
    const eagerOut = await runOnce(step, inputs)
    const relDiff = maxAbsDiff(eagerOut, jitOut) / Math.max(1, maxAbs(eagerOut))
    console.log(`  jit    ${jit.medianMs.toFixed(1)} ms (min ${jit.minMs.toFixed(1)}), compile ${compileMs.toFixed(0)} ms, ${kernels} kernels, max rel |eager - jit| ${relDiff.toExponential(1)}`)
    F.dispose(inputs)
    results.push({
      id: w.id, title: w.title, eager: summary(eager), jit: summary(jit), speedup: round(eager.medianMs / jit.medianMs, 3),
      compileMs: round(compileMs, 1), kernels, maxRelDiffEagerJit: relDiff, traces: jitted.traceCount(),
      kernelMsTotal: round(profiled.totalMs, 1), kernelMsTop: kernelMs,
    })
  }

  const x = tensorOf({ data: uniformHost(8, 16, -1, 1), shape: [4, 4] })
  const jittedOps = F.jit(hundredOps)
  const host = {
    ops: 100, shape: [4, 4], calls,
    kernels: jittedOps.lower(x).kernels,
    eagerMsPerCall: round(await hostMsPerCall(hundredOps, x, calls), 4),
    jitMsPerCall: round(await hostMsPerCall(jittedOps, x, calls), 4),
  }
  console.log(`host overhead, 100 ops on f32[4,4] × ${calls} calls: eager ${host.eagerMsPerCall} ms/call, jit ${host.jitMsPerCall} ms/call (${host.kernels} kernels)`)

  console.log()
  console.log(formatTable(
    ['workload', 'eager med', 'eager min', 'jit med', 'jit min', 'jit/eager', 'compile ms', 'kernels'],
    [
      ...results.map((r) => [`${r.id} ${r.title}`, r.eager.medianMs.toFixed(1), r.eager.minMs.toFixed(1), r.jit.medianMs.toFixed(1), r.jit.minMs.toFixed(1), `${r.speedup.toFixed(2)}x`, r.compileMs.toFixed(0), String(r.kernels)]),
      [`host: 100 ops f32[4,4], ms/call`, host.eagerMsPerCall.toFixed(3), '', host.jitMsPerCall.toFixed(3), '', `${(host.eagerMsPerCall / host.jitMsPerCall).toFixed(2)}x`, '', String(host.kernels)],
    ],
  ))
  console.log('times in ms (median and min over the timed reps, readback included); jit/eager = eager median / jit median, above 1 = jit faster; compile = first jitted call')

  if (cli.out !== null) {
    const report = {
      benchmark: 'fovea', date: new Date().toISOString(), backend, adapter, node: process.version,
      platform: `${os.platform()} ${os.arch()}`, cpu: os.cpus()[0]?.model ?? 'unknown', cpuCount: os.cpus().length,
      loadAverageAtStart: loadAtStart, warmup: cli.warmup, reps: cli.reps,
      command: commandLine('bench/fovea.ts', argv),
      workloads: results, hostOverhead: host,
    }
    mkdirSync(dirname(cli.out), { recursive: true })
    writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`\nwrote ${cli.out}`)
  }
}

await main()
