/**
 * A seeded generator of small random programs for the CPU/WebGPU parity fuzzer. A program is a list of
 * nodes (host-data inputs, then ops on earlier nodes); it is built on the CPU backend one op at a time,
 * so every choice (axes, broadcast partners, index ranges) fits the actual shapes, and replayed on each
 * backend by `runProgram`.
 *
 * Tolerance without false alarms: every value carries an absolute error bound `err` (0 = the GPU must
 * reproduce the CPU bit for bit). Layout ops, selections (max/min/where/sort/take/pooling max) and
 * correctly rounded arithmetic (+, −, ×) of exact values are exact. Functions whose GPU result may differ
 * by a few ulps (exp, sin, pow, ÷, …) and discontinuous ones (floor, comparisons, argmax, casts) only take
 * exact operands, so no near-tie or amplified error can flip a result; error-accumulating ops (sums,
 * means, scans, matmul) may take inexact operands and add their rounding: `err += 1e-6 · L · max|x|`
 * for L terms (float32 ε is 6e-8: the bound leaves a margin of ~16 per term). One wrong element, index
 * or axis changes a value by O(max|x|) and still fails.
 */
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'
import { cpuData } from '../../core/backend/cpu.js'
import type { Concrete } from '../../core/tensor.js'
import { type PrimitiveName, primitives } from '../../ops/primitives.js'
import { rng } from '../util/check.js'

type DType = 'float32' | 'int32' | 'bool'
type Data = Float32Array | Int32Array | Uint8Array

/** One step: `text` for the failure report, `args` indices of earlier nodes, `run` builds the value. */
export type Node = { readonly text: string; readonly args: readonly number[]; readonly run: (xs: Tensor[]) => Tensor }
export type Program = { readonly nodes: readonly Node[]; readonly err: number; readonly exact: boolean; readonly text: string }

/** A value while generating: its CPU tensor, error bound, and whether it holds NaN/±Inf/huge or wide ints. */
type Val = { readonly id: number; readonly t: Tensor; readonly err: number; readonly special: boolean }

/**
 * Families whose lowerings had landed (git log) when the fuzzer was written or last extended; each also
 * needs every primitive it uses to have a `webgpu` entry, so a family joins only once it is both.
 */
const LANDED = new Set<PrimitiveName>(['cumsum', 'sort', 'take', 'takeAlongAxis', 'poolSelect', 'resample2d'])
const lowered = (...names: PrimitiveName[]): boolean => names.every((n) => LANDED.has(n) && primitives[n].webgpu !== undefined)

export const generate = (seed: number): Program => {
  const r = rng(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1))
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
  const chance = (p: number): boolean => r() < p
  const nodes: Node[] = []
  const vals: Val[] = []
  const big = chance(0.08)
  const maxSize = big ? 1 << 16 : 2048

  const maxAbs = (t: Tensor): number => {
    let m = 0
    if (t.dtype === 'bool') return 1
    for (const v of cpuData(t as Concrete)) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v))
    return m
  }
  const node = (text: string, args: readonly Val[], run: (xs: Tensor[]) => Tensor, err: (t: Tensor) => number, special = args.some((a) => a.special)): Val => {
    const t = run(args.map((a) => a.t))
    const v: Val = { id: vals.length, t, err: t.dtype === 'float32' ? err(t) : 0, special }
    nodes.push({ text: `v${v.id} = ${args.length > 0 ? text.replaceAll('_', `v${args[0]!.id}`) : text}`, args: args.map((a) => a.id), run })
    vals.push(v)
    return v
  }
  const same = (text: string, args: readonly Val[], run: (xs: Tensor[]) => Tensor): Val => node(text, args, run, () => Math.max(0, ...args.map((a) => a.err)))
  const show = (s: readonly number[]): string => `[${s.join(',')}]`
  const name = (d: DType): string => (d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'bool')

  // ---- inputs --------------------------------------------------------------------------------------
  const randomShape = (): number[] => {
    const shape = Array.from({ length: pick([0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4]) }, () => (chance(0.2) ? 1 : int(2, big ? 300 : 9)))
    if (shape.length > 0 && chance(0.06)) shape[int(0, shape.length - 1)] = 0
    while (shape.reduce((a, b) => a * b, 1) > maxSize) shape[shape.indexOf(Math.max(...shape))] = Math.ceil(Math.max(...shape) / 2)
    return shape
  }
  const hostData = (shape: readonly number[], dtype: DType, allowSpecial: boolean): [Data, string] => {
    const n = shape.reduce((a, b) => a * b, 1)
    if (dtype === 'bool') return [Uint8Array.from({ length: n }, () => (chance(0.5) ? 1 : 0)), 'random']
    if (dtype === 'int32') {
      const wide = allowSpecial && chance(0.15)
      return [Int32Array.from({ length: n }, () => (wide ? int(-(2 ** 30), 2 ** 30) * 2 : int(-20, 20))), wide ? 'wide' : 'small']
    }
    const kind = allowSpecial && chance(0.12) ? 'special' : pick(['randn', 'randn', 'grid'])
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30]
    const gen = kind === 'randn' ? () => (r() + r() + r() - 1.5) * 8 : kind === 'grid' ? () => int(-8, 8) / 2 : () => (chance(0.3) ? pick(specials) : int(-8, 8) / 2)
    return [Float32Array.from({ length: n }, gen), kind]
  }
  const source = (shape: readonly number[], dtype: DType, allowSpecial: boolean): Val => {
    const [data, kind] = hostData(shape, dtype, allowSpecial)
    const special = kind === 'special' || kind === 'wide'
    return node(`input ${name(dtype)}${show(shape)} ${kind}`, [], () => F.tensor(data, { shape, dtype }), () => 0, special)
  }
  /** An input of `shape`, often produced by a layout op from a differently shaped source. */
  const input = (shape: readonly number[], dtype: DType, allowSpecial = true): Val => {
    const rank = shape.length
    const view = chance(0.45) ? pick(['transpose', 'slice', 'flip', 'broadcastTo', 'pad', 'concat']) : 'none'
    if (view === 'transpose' && rank >= 2) {
      const perm = shape.map((_, i) => i).sort(() => r() - 0.5)
      const src = new Array<number>(rank)
      perm.forEach((p, j) => (src[p] = shape[j]!))
      return same(`transpose(_, ${show(perm)})`, [source(src, dtype, allowSpecial)], ([x]) => F.transpose(x!, perm))
    }
    if (view === 'slice' && rank >= 1) {
      const strides = shape.map(() => int(1, 3))
      const begin = shape.map(() => int(0, 2))
      const src = shape.map((d, i) => begin[i]! + Math.max(0, (d - 1) * strides[i]! + 1) + int(0, 2))
      const end = shape.map((d, i) => begin[i]! + Math.max(0, (d - 1) * strides[i]! + 1))
      return same(`slice(_, ${show(begin)}, ${show(end)}, ${show(strides)})`, [source(src, dtype, allowSpecial)], ([x]) => F.slice(x!, begin, end, strides))
    }
    if (view === 'flip' && rank >= 1) {
      const axes = shape.map((_, i) => i).filter(() => chance(0.6))
      return same(`flip(_, ${show(axes)})`, [source(shape, dtype, allowSpecial)], ([x]) => F.flip(x!, axes))
    }
    if (view === 'broadcastTo' && rank >= 1) {
      const src = shape.map((d) => (chance(0.5) ? 1 : d)).slice(int(0, 1))
      return same(`broadcastTo(_, ${show(shape)})`, [source(src, dtype, allowSpecial)], ([x]) => F.broadcastTo(x!, shape))
    }
    if (view === 'pad' && rank >= 1) {
      const pads = shape.map((d) => { const lo = int(0, Math.min(2, d)); return [lo, int(0, Math.min(2, d - lo))] as [number, number] })
      const value = dtype === 'float32' ? pick([0, 1.5, -2]) : dtype === 'int32' ? pick([0, 3]) : pick([0, 1])
      const src = shape.map((d, i) => d - pads[i]![0] - pads[i]![1])
      return same(`pad(_, ${JSON.stringify(pads)}, ${value})`, [source(src, dtype, allowSpecial)], ([x]) => F.pad(x!, pads, value))
    }
    if (view === 'concat' && rank >= 1) {
      const axis = int(0, rank - 1)
      const cut = int(0, shape[axis]!)
      const parts = [cut, shape[axis]! - cut].map((d) => source(shape.map((s, i) => (i === axis ? d : s)), dtype, allowSpecial))
      return same(`concat([v${parts[0]!.id}, v${parts[1]!.id}], ${axis})`, parts, (xs) => F.concat(xs, axis))
    }
    return source(shape, dtype, allowSpecial)
  }
  /** A shape that broadcasts with `shape` (maybe to a larger result). */
  const partnerShape = (shape: readonly number[]): number[] => {
    const lead = chance(0.2) ? [int(1, 3)] : []
    const own = shape.map((d) => (d === 1 && chance(0.3) ? int(2, 3) : chance(0.3) ? 1 : d))
    const full = [...lead, ...own]
    const out = full.slice(int(0, Math.min(full.length, 2)))
    return out.reduce((a, b) => a * b, 1) * shape.reduce((a, b) => a * b, 1) > 4 * maxSize ? [...shape] : out
  }

  // ---- ops -----------------------------------------------------------------------------------------
  const axesOf = (x: Val): number[] | undefined => {
    if (x.t.shape.length === 0 || chance(0.2)) return undefined
    const axes = x.t.shape.map((_, i) => i).filter(() => chance(0.5))
    const chosen = axes.length > 0 ? axes : [int(0, x.t.shape.length - 1)]
    return chosen.map((a) => (chance(0.3) ? a - x.t.shape.length : a))
  }
  const termsOf = (x: Val, axes: readonly number[] | undefined): number => {
    const r = x.t.shape.length
    const norm = axes === undefined ? x.t.shape.map((_, i) => i) : axes.map((a) => (a + r) % r)
    return Math.max(1, norm.reduce((p, a) => p * x.t.shape[a]!, 1))
  }
  const accumulate = (x: Val, terms: number) => (): number => terms * x.err + 1e-6 * terms * Math.max(1, maxAbs(x.t))
  const smooth = (x: Val, c = 4e-6) => (t: Tensor): number => c * Math.max(1, maxAbs(t), maxAbs(x.t))
  const exact = (x: Val): boolean => x.err === 0
  const floatUnary: [string, (x: Tensor) => Tensor][] = [
    ['exp', F.exp], ['sin', F.sin], ['cos', F.cos], ['tanh', F.tanh], ['sigmoid', F.sigmoid], ['erf', F.erf], ['expm1', F.expm1],
    ['gelu', F.gelu], ['silu', F.silu], ['softplus', F.softplus], ['log1p∘abs', (x) => F.log1p(F.abs(x))],
    ['log∘(abs+0.5)', (x) => F.log(F.add(F.abs(x), 0.5))], ['sqrt∘abs', (x) => F.sqrt(F.abs(x))], ['rsqrt∘(abs+0.5)', (x) => F.rsqrt(F.add(F.abs(x), 0.5))],
  ]
  const exactUnary: [string, (x: Tensor) => Tensor][] = [['neg', F.neg], ['abs', F.abs], ['relu', F.relu], ['clip(-2,3)', (x) => F.clip(x, -2, 3)]]
  const stepUnary: [string, (x: Tensor) => Tensor][] = [['floor', F.floor], ['ceil', F.ceil], ['round', F.round], ['sign', F.sign], ['isNan', F.isNan], ['isFinite', F.isFinite]]
  const comparisons: [string, (a: Tensor, b: Tensor | number) => Tensor][] = [
    ['equal', F.equal], ['notEqual', F.notEqual], ['less', F.less], ['lessEqual', F.lessEqual], ['greater', F.greater], ['greaterEqual', F.greaterEqual],
  ]
  type Op = (x: Val) => Val | undefined
  const ops: [number, Op][] = [
    [3, (x) => { const [n, f] = pick(exactUnary); return x.t.dtype === 'bool' ? undefined : same(`${n}(_)`, [x], ([a]) => f(a!)) }],
    [7, (x) => { const [n, f] = pick(floatUnary); return x.t.dtype !== 'float32' || x.special || !exact(x) ? undefined : node(`${n}(_)`, [x], ([a]) => f(a!), smooth(x)) }],
    [2, (x) => { const [n, f] = pick(stepUnary); return x.t.dtype === 'bool' || !exact(x) || (x.t.dtype === 'int32' && n.startsWith('is')) ? undefined : same(`${n}(_)`, [x], ([a]) => f(a!)) }],
    [5, (x) => { // arithmetic with a broadcast partner or a weak scalar
      if (x.t.dtype === 'bool') return undefined
      const [n, f] = pick([['add', F.add], ['sub', F.sub], ['mul', F.mul], ['maximum', F.maximum], ['minimum', F.minimum]] as const)
      const other = chance(0.25) ? undefined : input(partnerShape(x.t.shape), chance(0.15) ? (x.t.dtype === 'float32' ? 'int32' : 'float32') : x.t.dtype)
      const scalar = x.t.dtype === 'float32' ? pick([1.5, -0.25, 3]) : pick([2, -7])
      // +, −, × are correctly rounded on both sides and maximum/minimum select: exact for exact operands.
      const rounding = (t: Tensor, inexact: boolean) => (inexact && n !== 'maximum' && n !== 'minimum' ? 1.2e-7 * maxAbs(t) : 0)
      if (other === undefined) return node(`${n}(_, ${scalar})`, [x], ([a]) => f(a!, scalar), (t) => x.err * Math.abs(n === 'mul' ? scalar : 1) + rounding(t, !exact(x)))
      const bound = (t: Tensor) => (n === 'mul' ? x.err * maxAbs(other.t) + other.err * maxAbs(x.t) : x.err + other.err) + rounding(t, !exact(x) || !exact(other))
      return node(`${n}(_, v${other.id})`, [x, other], ([a, b]) => f(a!, b!), bound)
    }],
    [2, (x) => { // div and pow: inexact, on exact operands, with the divisor and base kept away from 0
      if (x.t.dtype !== 'float32' || x.special || !exact(x)) return undefined
      const other = input(partnerShape(x.t.shape), 'float32', false)
      if (chance(0.5)) return node(`div(_, abs(v${other.id}) + 0.5)`, [x, other], ([a, b]) => F.div(a!, F.add(F.abs(b!), 0.5)), smooth(x))
      return node(`pow(abs(_) + 0.5, clip(v${other.id}, -3, 3))`, [x, other], ([a, b]) => F.pow(F.add(F.abs(a!), 0.5), F.clip(b!, -3, 3)), smooth(x, 3e-5))
    }],
    [3, (x) => { // comparisons and logical ops give bool
      if (!exact(x)) return undefined
      if (x.t.dtype === 'bool') {
        const other = input(partnerShape(x.t.shape), 'bool')
        const [n, f] = pick([['logicalAnd', F.logicalAnd], ['logicalOr', F.logicalOr]] as const)
        return chance(0.3) ? same('logicalNot(_)', [x], ([a]) => F.logicalNot(a!)) : same(`${n}(_, v${other.id})`, [x, other], ([a, b]) => f(a!, b!))
      }
      const [n, f] = pick(comparisons)
      const other = input(partnerShape(x.t.shape), x.t.dtype)
      return chance(0.3) ? same(`${n}(_, 1)`, [x], ([a]) => f(a!, 1)) : same(`${n}(_, v${other.id})`, [x, other], ([a, b]) => f(a!, b!))
    }],
    [1, (x) => { // where(cond, x, other)
      const cond = input(partnerShape(x.t.shape), 'bool')
      const other = input(partnerShape(x.t.shape), x.t.dtype)
      return same(`where(v${cond.id}, v${x.id}, v${other.id})`, [cond, x, other], ([c, a, b]) => F.where(c!, a!, b!))
    }],
    [2, (x) => { // casts: exact where the conversion is exactly specified
      const to = pick(['float32', 'int32', 'bool'] as const)
      if (to === x.t.dtype || (x.t.dtype === 'float32' && !exact(x)) || (x.t.dtype === 'int32' && x.special && to === 'float32')) return undefined
      return same(`cast(_, ${to})`, [x], ([a]) => F.cast(a!, to))
    }],
    [6, (x) => { // reductions
      const axes = axesOf(x)
      const keep = chance(0.5)
      const terms = termsOf(x, axes)
      const at = `${axes === undefined ? 'all' : show(axes)}, ${keep}`
      if (x.t.dtype === 'bool') {
        const [n, f] = pick([['all', F.all], ['any', F.any]] as const)
        return same(`${n}(_, ${at})`, [x], ([a]) => f(a!, axes, keep))
      }
      const choice = pick(['sum', 'sum', 'mean', 'max', 'min', 'prod', 'logsumexp', 'variance'] as const)
      if (choice === 'sum' || (choice === 'mean' && x.t.dtype === 'float32')) {
        return node(`${choice}(_, ${at})`, [x], ([a]) => (choice === 'sum' ? F.sum : F.mean)(a!, axes, keep), accumulate(x, terms))
      }
      if (choice === 'max' || choice === 'min') return same(`${choice}(_, ${at})`, [x], ([a]) => F[choice](a!, axes, keep))
      if (choice === 'prod' && (x.t.dtype === 'int32' || (exact(x) && !x.special && terms <= 12))) {
        return node(`prod(_, ${at})`, [x], ([a]) => F.prod(a!, axes, keep), (t) => 4e-7 * terms * maxAbs(t))
      }
      if ((choice === 'logsumexp' || choice === 'variance') && x.t.dtype === 'float32' && exact(x) && !x.special) {
        const scale = choice === 'variance' ? Math.max(1, maxAbs(x.t)) ** 2 : Math.max(1, maxAbs(x.t))
        return node(`${choice}(_, ${at})`, [x], ([a]) => F[choice](a!, axes, keep), () => 1e-6 * (terms + 2) * scale)
      }
      return undefined
    }],
    [3, (x) => { // one-axis ops: argmax/argmin, cumsum, softmax
      if (x.t.shape.length === 0 || x.t.dtype === 'bool') return undefined
      const axis = int(-x.t.shape.length, x.t.shape.length - 1)
      const n = x.t.shape[(axis + x.t.shape.length) % x.t.shape.length]!
      const choice = pick(['argmax', 'argmin', 'cumsum', 'softmax', 'logSoftmax'] as const)
      if ((choice === 'argmax' || choice === 'argmin') && exact(x) && n > 0) return same(`${choice}(_, ${axis})`, [x], ([a]) => F[choice](a!, axis))
      if (choice === 'cumsum' && lowered('cumsum')) {
        const reverse = chance(0.3)
        return node(`cumsum(_, ${axis}, reverse=${reverse})`, [x], ([a]) => F.cumsum(a!, axis, { reverse }), accumulate(x, n))
      }
      if ((choice === 'softmax' || choice === 'logSoftmax') && x.t.dtype === 'float32' && exact(x) && !x.special) {
        return node(`${choice}(_, ${axis})`, [x], ([a]) => F[choice](a!, axis), (t) => 1e-6 * (n + 2) * Math.max(1, maxAbs(t), maxAbs(x.t)))
      }
      return undefined
    }],
    [2, (x) => { // sorting (values are a permutation: exact; indices need exact keys)
      if (x.t.shape.length === 0 || x.t.dtype === 'bool' || !lowered('sort')) return undefined
      const axis = int(-x.t.shape.length, x.t.shape.length - 1)
      const n = x.t.shape[(axis + x.t.shape.length) % x.t.shape.length]!
      const descending = chance(0.5)
      const choice = pick(['sort', 'argsort', 'topk'] as const)
      if (choice === 'sort') return same(`sort(_, ${axis}, descending=${descending})`, [x], ([a]) => F.sort(a!, axis, { descending }))
      if (!exact(x)) return undefined
      if (choice === 'argsort') return same(`argsort(_, ${axis}, descending=${descending})`, [x], ([a]) => F.argsort(a!, axis, { descending }))
      const k = int(0, n)
      const part = pick(['values', 'indices'] as const)
      return same(`topk(_, ${k}, ${axis}).${part}`, [x], ([a]) => F.topk(a!, k, axis)[part])
    }],
    [2, (x) => { // indexing with in-range indices
      if (x.t.shape.length === 0 || !lowered('take', 'takeAlongAxis')) return undefined
      const axis = int(0, x.t.shape.length - 1)
      const n = x.t.shape[axis]!
      if (n === 0) return undefined
      if (chance(0.5)) {
        const count = int(0, 6)
        const data = Int32Array.from({ length: count }, () => int(0, n - 1))
        const idx = node(`input i32[${count}] in [0,${n})`, [], () => F.tensor(data, { shape: [count] }), () => 0)
        return same(`take(_, v${idx.id}, ${axis})`, [x, idx], ([a, i]) => F.take(a!, i!, axis))
      }
      const shape = x.t.shape.map((d, i) => (i === axis ? int(1, 4) : d))
      const data = Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => int(0, n - 1))
      const idx = node(`input i32${show(shape)} in [0,${n})`, [], () => F.tensor(data, { shape }), () => 0)
      return same(`takeAlongAxis(_, v${idx.id}, ${axis})`, [x, idx], ([a, i]) => F.takeAlongAxis(a!, i!, axis))
    }],
    [2, (x) => { // pooling and resizing on an NCHW view of x
      if (x.t.dtype !== 'float32' || !lowered('poolSelect', 'resample2d') || x.t.shape.reduce((a, b) => a * b, 1) === 0) return undefined
      const hw = x.t.shape.length >= 2 ? x.t.shape.slice(-2) : [1, x.t.shape[0] ?? 1]
      const nchw = [1, x.t.shape.slice(0, -2).reduce((a, b) => a * b, 1), hw[0]!, hw[1]!]
      const k = int(1, Math.min(3, hw[0]!, hw[1]!))
      const opts = { kernelSize: k, stride: int(1, 2), padding: int(0, Math.floor(k / 2)) }
      const choice = pick(['maxPool2d', 'avgPool2d', 'nearest', 'bilinear'] as const)
      if (choice === 'maxPool2d') return same(`maxPool2d(reshape(_, ${show(nchw)}), ${JSON.stringify(opts)})`, [x], ([a]) => F.maxPool2d(F.reshape(a!, nchw), opts))
      if (choice === 'avgPool2d') return node(`avgPool2d(reshape(_, ${show(nchw)}), ${JSON.stringify(opts)})`, [x], ([a]) => F.avgPool2d(F.reshape(a!, nchw), opts), accumulate(x, k * k))
      const size: [number, number] = [int(1, 2 * hw[0]!), int(1, 2 * hw[1]!)]
      const mode = choice
      const alignCorners = mode === 'bilinear' && chance(0.5)
      const run = ([a]: Tensor[]) => F.interpolate(F.reshape(a!, nchw), mode === 'bilinear' ? { size, mode, alignCorners } : { size, mode })
      return mode === 'nearest' ? same(`interpolate(reshape(_, ${show(nchw)}), ${show(size)}, nearest)`, [x], run)
        : node(`interpolate(reshape(_, ${show(nchw)}), ${show(size)}, bilinear, alignCorners=${alignCorners})`, [x], run, accumulate(x, 4))
    }],
    [2, (x) => { // matmul against a fresh operand (joins once its lowering lands)
      if (x.t.dtype !== 'float32' || x.t.shape.length === 0 || !lowered('matmul')) return undefined
      const k = x.t.shape[x.t.shape.length - 1]!
      const other = input(x.t.shape.length >= 2 && chance(0.3) ? [...x.t.shape.slice(0, -2).map((d) => (chance(0.3) ? 1 : d)), k, int(1, 7)] : [k, int(1, 7)], 'float32', false)
      return node(`matmul(_, v${other.id})`, [x, other], ([a, b]) => F.matmul(a!, b!),
        () => k * (x.err * maxAbs(other.t) + 1e-6 * Math.max(1, maxAbs(x.t)) * Math.max(1, maxAbs(other.t))))
    }],
  ]
  const total = ops.reduce((a, [w]) => a + w, 0)
  const applyRandom = (x: Val): Val => {
    for (let attempt = 0; attempt < 40; attempt++) {
      let u = r() * total
      const op = ops.find(([w]) => (u -= w) < 0)![1]
      const mark = nodes.length
      try {
        const y = op(x)
        if (y !== undefined && y.t.shape.reduce((a, b) => a * b, 1) <= 4 * maxSize) return y
      } catch (e) {
        // The CPU refused the combination (e.g. max over an empty axis): a shape-rule error, not a
        // backend difference. Drop the attempt's nodes and choose again.
        if (!F.isFoveaError(e)) throw e
      }
      nodes.length = mark
      vals.length = mark
    }
    return x
  }

  let x = input(randomShape(), pick(['float32', 'float32', 'float32', 'float32', 'int32', 'bool'] as const))
  for (let i = int(1, 4); i > 0; i--) x = applyRandom(x)
  const out = vals[vals.length - 1]!
  return { nodes, err: out.err, exact: out.err === 0, text: nodes.map((n) => n.text).join('\n') }
}

/** Replays the program on the current backend; returns its last value. */
export const runProgram = (p: Program): Tensor => {
  const values: Tensor[] = []
  for (const n of p.nodes) values.push(n.run(n.args.map((i) => values[i]!)))
  return values[values.length - 1]!
}
