/**
 * Eager fusion of elementwise ops on WebGPU. An eager elementwise op does not dispatch at once: the
 * runtime holds it in a chain with the elementwise ops that follow over the same domain (output shape),
 * and emits the chain when anything else needs the GPU — another kind of kernel, a readback, a submit.
 * By then a `scope` may have released the intermediates: only outputs still referenced are stored, the
 * rest stay in registers. `tanh(x * 1.5 + 0.5) * sigmoid(x) - x * x` inside `F.scope` is one kernel
 * that reads x and writes the result, as under `jit`.
 *
 * The chain's kernels are emitted as few kernels as the binding limit allows: outputs are grouped so
 * each kernel binds at most 8 storage buffers, and each group computes only the steps its outputs need
 * (reading what an earlier group stored rather than computing it again).
 * A group of one step is the op's own unfused kernel. Scalars uploaded from the host (the 1.5 of
 * `x * 1.5`) travel in the fused kernel's uniforms, so they take no binding and do not end a chain.
 * Every step is the op's own WGSL expression, so results are the unfused ones up to rounding: the shader
 * compiler may contract a multiply and an add into one fma (as in the jit's fused kernels).
 */
import type { DeferredKernel, GpuArray, GpuContext, KernelFuser } from '../../core/rule.js'
import { shapesEqual } from '../../core/shape.js'
import { type ChainBody, type ChainStep, MAX_BINDINGS, MAX_INPUTS, UNIFORM_WORDS, chainWords, constantExpr, describeChain, dispatchChain } from '../wgsl/chain.js'

/** An eager elementwise op waiting in the chain: its WGSL expression and its own kernel. */
export type ElementwiseKernel = DeferredKernel & {
  readonly expr: string
  /** Per input: its u32 word when it is a host scalar (`GpuContext.hostWord`), else undefined. */
  readonly words: readonly (number | undefined)[]
  /** Records the op's unfused kernel into `output`. */
  readonly alone: () => void
}

/** Steps per chain: bounds the source a chain compiles to (and the work one emission can hold back). */
const MAX_STEPS = 32

/** Which chain kernel computes `x` (when one does), else undefined. */
const producerOf = (chain: readonly ElementwiseKernel[], x: GpuArray): number | undefined => indexOf(chain).producers.get(x.buffer)

const sameOperand = (a: GpuArray, b: GpuArray): boolean => a.buffer === b.buffer && shapesEqual(a.shape, b.shape)

/** What a run of kernels reads from outside: buffers (bound, in first-use order) and host scalars (uniform words). */
type Operands = { inputs: GpuArray[]; constants: GpuArray[]; words: number[] }

/** Adds what `k` reads from outside `producers` to `into`. */
const addOperands = (into: Operands, k: ElementwiseKernel, producers: ReadonlyMap<unknown, number>): void => {
  k.inputs.forEach((x, j) => {
    if (producers.has(x.buffer)) return
    const word = k.words[j]
    if (word === undefined) {
      if (!into.inputs.some((s) => sameOperand(s, x))) into.inputs.push(x)
    } else if (!into.constants.some((s) => s.buffer === x.buffer)) {
      into.constants.push(x)
      into.words.push(word)
    }
  })
}

/**
 * A chain's producers and operands, kept per chain array and brought up to date as the runtime appends
 * to it, so `accepts` costs O(inputs of the next kernel) rather than a walk of the chain.
 */
type ChainIndex = { absorbed: number; readonly producers: Map<unknown, number>; readonly operands: Operands }

const indices = new WeakMap<readonly ElementwiseKernel[], ChainIndex>()

const indexOf = (chain: readonly ElementwiseKernel[]): ChainIndex => {
  let index = indices.get(chain)
  if (index === undefined) indices.set(chain, (index = { absorbed: 0, producers: new Map(), operands: { inputs: [], constants: [], words: [] } }))
  for (; index.absorbed < chain.length; index.absorbed++) {
    const k = chain[index.absorbed]!
    addOperands(index.operands, k, index.producers)
    index.producers.set(k.output.buffer, index.absorbed)
  }
  return index
}

/** The operands of the kernels `steps` of `chain` (values computed by other chain kernels count as read from outside). */
const operandsOf = (chain: readonly ElementwiseKernel[], steps: readonly number[]): Operands => {
  const inSteps = new Map(steps.map((i) => [chain[i]!.output.buffer, i]))
  const into: Operands = { inputs: [], constants: [], words: [] }
  for (const i of steps) addOperands(into, chain[i]!, inSteps)
  return into
}

const accepts = (chain: readonly ElementwiseKernel[], next: ElementwiseKernel): boolean => {
  if (chain.length >= MAX_STEPS || !shapesEqual(next.output.shape, chain[0]!.output.shape)) return false
  const { producers, operands } = indexOf(chain)
  // A chain value is in registers at the domain's shape; a read of its buffer at any other shape waits.
  if (next.inputs.some((x) => producers.has(x.buffer) && !shapesEqual(x.shape, next.output.shape))) return false
  const grown: Operands = { inputs: [...operands.inputs], constants: [...operands.constants], words: [] }
  addOperands(grown, next, producers)
  return grown.inputs.length <= MAX_INPUTS && chainWords(grown.inputs.length) + grown.constants.length <= UNIFORM_WORDS
}

type Plan = { readonly steps: number[]; readonly inputs: GpuArray[]; readonly constants: GpuArray[]; readonly words: number[] }

/**
 * The steps (in order) that the outputs `wanted` need, and what they read: values already `stored` by
 * an earlier kernel of this emission are read back rather than recomputed.
 */
const planOf = (chain: readonly ElementwiseKernel[], wanted: readonly number[], stored: ReadonlySet<number>): Plan => {
  const need = new Set(wanted)
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!need.has(i)) continue
    for (const x of chain[i]!.inputs) {
      const p = producerOf(chain, x)
      if (p !== undefined && !stored.has(p)) need.add(p)
    }
  }
  const steps = [...need].sort((a, b) => a - b)
  return { steps, ...operandsOf(chain, steps) }
}

/** The plan for `wanted` within one kernel's bindings: reading stored values if that fits, else recomputing them. */
const fittingPlan = (chain: readonly ElementwiseKernel[], wanted: readonly number[], stored: ReadonlySet<number>): Plan | undefined => {
  const fits = (p: Plan) => p.inputs.length + wanted.length <= MAX_BINDINGS
  const reuse = planOf(chain, wanted, stored)
  if (fits(reuse)) return reuse
  const recompute = planOf(chain, wanted, new Set())
  return fits(recompute) ? recompute : undefined
}

/**
 * One kernel computing the chain outputs `wanted` (indices into `chain`) by `plan`. Value numbering of
 * the body: the bound inputs, then one step per constant, then the chain's steps.
 */
const emitGroup = (ctx: GpuContext, chain: readonly ElementwiseKernel[], wanted: readonly number[], plan: Plan): void => {
  const { steps, inputs, constants, words } = plan
  if (steps.length === 1) return chain[steps[0]!]!.alone()
  const first = inputs.length + constants.length
  const value = new Map<number, number>(steps.map((i, k) => [i, first + k]))
  const valueOf = (x: GpuArray): number => {
    const p = producerOf(chain, x)
    if (p !== undefined && value.has(p)) return value.get(p)!
    const c = constants.findIndex((s) => s.buffer === x.buffer)
    return c >= 0 ? inputs.length + c : inputs.findIndex((s) => sameOperand(s, x))
  }
  const body: ChainBody = {
    inputs: inputs.map((x) => x.dtype),
    steps: [
      ...constants.map((x, c): ChainStep => ({ op: 'const', gpu: constantExpr(c, x.dtype), dtype: x.dtype, args: [] })),
      ...steps.map((i): ChainStep => {
        const k = chain[i]!
        return { op: k.name, gpu: k.expr, dtype: k.output.dtype, args: k.inputs.map(valueOf) }
      }),
    ],
    outputs: wanted.map((i) => value.get(i)!),
  }
  dispatchChain(ctx, `fused(${describeChain(body)})`, body, inputs, wanted.map((i) => chain[i]!.output), chain[0]!.output.shape, words)
}

/**
 * Live outputs in chain order, grouped greedily into kernels within the binding limit; a later kernel
 * reads what an earlier one stored instead of recomputing it.
 */
const emit = (ctx: GpuContext, chain: readonly ElementwiseKernel[], live: readonly boolean[]): void => {
  const stored = new Set<number>()
  let group: number[] = []
  let plan: Plan | undefined
  const close = () => {
    emitGroup(ctx, chain, group, plan!)
    for (const i of group) stored.add(i)
    group = []
  }
  for (let i = 0; i < chain.length; i++) {
    if (!live[i]) continue
    const wider = group.length > 0 ? fittingPlan(chain, [...group, i], stored) : undefined
    if (group.length > 0 && wider === undefined) close()
    plan = wider ?? fittingPlan(chain, [i], stored)
    group.push(i)
  }
  if (group.length > 0) close()
}

export const elementwiseFuser: KernelFuser<ElementwiseKernel> = { accepts, emit }
