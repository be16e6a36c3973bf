/**
 * Randomized CPU/WebGPU parity: seeded random programs (see fuzz-gen.ts) over the ops with WebGPU
 * lowerings — elementwise unary/binary with random broadcasting (size-1 and size-0 axes, weak scalars,
 * mixed dtypes), inputs made by transpose/slice/flip/broadcast/pad/concat, reductions over random axes,
 * where, cast, scans, softmax, sorting, indexing, pooling and resizing — each compared with
 * `expectParity`: bit-exact where the program is exact, else within its tracked error bound.
 *
 * FOVEA_FUZZ_SEED (default 1) and FOVEA_FUZZ_COUNT (default 400, ~2 s on lavapipe) choose the run; FOVEA_FUZZ_ONLY=i
 * replays one case. A failure names the seed, the case and the program.
 */
import { test } from 'uvu'
import * as F from '../../index.js'
import { type Program, generate, runProgram } from './fuzz-gen.js'
import { expectParity, gpuAvailable } from './gpu.js'

const run = await gpuAvailable('fuzz')

const seed = Number(process.env.FOVEA_FUZZ_SEED ?? 1)
const count = Number(process.env.FOVEA_FUZZ_COUNT ?? 400)
const only = process.env.FOVEA_FUZZ_ONLY === undefined ? undefined : Number(process.env.FOVEA_FUZZ_ONLY)

/** Each case has its own seed, so one case replays without generating the others. */
const caseSeed = (i: number): number => (Math.imul(seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0

if (run) {
  await F.setBackend('cpu')
  const cases: [number, Program][] = []
  for (let i = 0; i < count; i++) if (only === undefined || only === i) cases.push([i, generate(caseSeed(i))])
  const ops = new Map<string, number>()
  for (const [, p] of cases) {
    for (const n of p.nodes) {
      const op = n.text.replace(/^v\d+ = /, '').split(/[(\s.]/)[0]!
      ops.set(op, (ops.get(op) ?? 0) + 1)
    }
  }
  const exact = cases.filter(([, p]) => p.exact).length
  console.log(`\n  fuzz: FOVEA_FUZZ_SEED=${seed}, ${cases.length} cases (${exact} bit-exact), ${[...ops.values()].reduce((a, b) => a + b, 0)} nodes: ` +
    [...ops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '))

  // Found by the fuzzer (seed 2, case 118): lavapipe folded NaN != x to false.
  test('regression: float comparisons with NaN and ±Inf', async () => {
    const a = () => F.tensor([NaN, NaN, 1, NaN, 2, Infinity, -Infinity, -0])
    const b = () => F.tensor([NaN, 1, NaN, 0, 2, Infinity, Infinity, 0])
    await expectParity(() => [F.equal, F.notEqual, F.less, F.lessEqual, F.greater, F.greaterEqual].flatMap((f) => [f(a(), b()), f(a(), 1)]))
  })

  for (const [i, p] of cases) {
    test(`fuzz case ${i}`, async () => {
      try {
        await expectParity(() => runProgram(p), p.exact ? { rtol: 0, atol: 0 } : { rtol: 1e-6, atol: p.err }, `fuzz case ${i}`)
      } catch (e) {
        const err = e as Error
        err.message = `FOVEA_FUZZ_SEED=${seed} FOVEA_FUZZ_ONLY=${i} (${p.exact ? 'exact' : `atol ${p.err.toPrecision(3)}`}):\n${p.text}\n${err.message}`
        throw err
      }
    })
  }
}

test.run()
