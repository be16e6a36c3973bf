/**
 * WebGPU lowering of `sortByWords`: a bitonic sort of (word, position) pairs per row. Bitonic networks
 * are not stable, but with the original position as the tie-break every key is distinct, so the result
 * is the stable order the CPU kernel produces. Rows are padded to a power of two P ≥ 16 with keys
 * (0xffffffff, position ≥ n), which sort after every real element.
 *
 * Register blocking: the compare distances j = 8s, 4s, 2s, s of one merge size k only pair elements
 * within groups of 16 spaced s apart, so one thread loads such a group, runs up to four steps in
 * registers and stores it back. A row of 2^20 elements takes 60 passes over memory instead of 210, and
 * no workgroup barriers (which software rasterizers such as lavapipe execute slowly).
 */
import type { GpuArray, GpuContext } from '../../core/rule.js'
import { size } from '../../core/shape.js'
import type { Aval } from '../../core/tensor.js'
import { grid1d, main1d, uniformBlock } from '../wgsl/prelude.js'

const GROUP = 16
const STEPS = 4

// Keys and positions live in int32 scratch arrays; they are declared u32 here (same bits).
const scratch = (first: number, access: string): string => `
@group(0) @binding(${first}) var<storage, ${access}> K: array<u32>;
@group(0) @binding(${first + 1}) var<storage, ${access}> I: array<u32>;`

// Uniform words: [threads, n, P].
const initSource = `${uniformBlock}
@group(0) @binding(1) var<storage, read> W: array<u32>;
${scratch(2, 'read_write')}
${main1d()}
  if (idx >= u(0u)) { return; }
  let j = idx % u(2u);
  K[idx] = select(0xffffffffu, W[(idx / u(2u)) * u(1u) + j], j < u(1u));
  I[idx] = j;
}`

/** Compare-exchange of group members a < b (distance 2^e·s), ascending where bit k of a's position is 0. */
const exchange = (a: number, b: number): string => `
    {
      let up = ((at + ${a}u * s) & k) == 0u;
      let swap = ((kk[${b}] < kk[${a}]) || (kk[${b}] == kk[${a}] && ii[${b}] < ii[${a}])) == up;
      let ka = kk[${a}]; let ia = ii[${a}];
      kk[${a}] = select(ka, kk[${b}], swap); kk[${b}] = select(kk[${b}], ka, swap);
      ii[${a}] = select(ia, ii[${b}], swap); ii[${b}] = select(ii[${b}], ia, swap);
    }`

const stepsCode = (): string => {
  const out: string[] = []
  for (let e = STEPS - 1; e >= 0; e--) {
    const pairs: string[] = []
    for (let m = 0; m < GROUP; m++) if ((m & (1 << e)) === 0) pairs.push(exchange(m, m + (1 << e)))
    out.push(`  if (steps > ${e}u) {${pairs.join('')}\n  }`)
  }
  return out.join('\n')
}

// Uniform words: [threads, P, k, s, steps]. Thread t owns the group at row offset
// (t' / s)·16s + t' % s (t' = t within its row), members spaced s apart; it runs the compare distances
// 2^(steps−1)·s … s of merge size k.
const mergeSource = `${uniformBlock}
${scratch(1, 'read_write')}
${main1d()}
  if (idx >= u(0u)) { return; }
  let p = u(1u);
  let k = u(2u);
  let s = u(3u);
  let steps = u(4u);
  let perRow = p / ${GROUP}u;
  let t = idx % perRow;
  let at = (t / s) * ${GROUP}u * s + t % s;
  let base = (idx / perRow) * p + at;
  var kk: array<u32, ${GROUP}>;
  var ii: array<u32, ${GROUP}>;
  for (var m = 0u; m < ${GROUP}u; m++) { kk[m] = K[base + m * s]; ii[m] = I[base + m * s]; }
${stepsCode()}
  for (var m = 0u; m < ${GROUP}u; m++) { K[base + m * s] = kk[m]; I[base + m * s] = ii[m]; }
}`

// Uniform words: [threads, n, P].
const gatherSource = `${uniformBlock}
@group(0) @binding(1) var<storage, read> V: array<i32>;
@group(0) @binding(2) var<storage, read> I: array<u32>;
@group(0) @binding(3) var<storage, read_write> O: array<i32>;
${main1d()}
  if (idx >= u(0u)) { return; }
  let row = idx / u(1u);
  O[idx] = V[row * u(1u) + I[row * u(2u) + idx % u(1u)]];
}`

/** values reordered along the last axis by ascending unsigned words, stably. i32[..., n] ×2 → i32[..., n] */
export const sortByWordsGpu = (ctx: GpuContext, words: GpuArray, values: GpuArray, out: Aval): GpuArray => {
  const o = ctx.alloc(out)
  const total = size(out.shape)
  if (total === 0) return o
  const n = out.shape[out.shape.length - 1]!
  const rows = total / n
  const p = Math.max(GROUP, 2 ** Math.ceil(Math.log2(n)))
  const keys = ctx.alloc({ shape: [rows * p], dtype: 'int32' })
  const order = ctx.alloc({ shape: [rows * p], dtype: 'int32' })
  ctx.dispatch({ name: 'sortByWords.init', code: initSource, inputs: [words], outputs: [keys, order], uniforms: [rows * p, n, p], workgroups: grid1d(ctx, rows * p) })
  const threads = (rows * p) / GROUP
  for (let k = 2; k <= p; k *= 2) {
    // Distances k/2 … 1 in chunks of up to four, largest first.
    for (let top = k / 2; top >= 1; top /= 2 ** STEPS) {
      const steps = Math.min(STEPS, Math.log2(top) + 1)
      const s = top / 2 ** (steps - 1)
      ctx.dispatch({ name: 'sortByWords.merge', code: mergeSource, inputs: [], outputs: [keys, order], uniforms: [threads, p, k, s, steps], workgroups: grid1d(ctx, threads) })
    }
  }
  ctx.dispatch({ name: 'sortByWords.gather', code: gatherSource, inputs: [values, order], outputs: [o], uniforms: [total, n, p], workgroups: grid1d(ctx, total) })
  return o
}
