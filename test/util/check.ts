/**
 * Test helpers: deterministic host data, closeness assertions, and gradient checks.
 *
 * Gradients are checked the way JAX's `check_grads` does, adapted to float32: along a few random
 * directions v, the central difference (L(x+εv) − L(x−εv)) / 2ε of a random projection L of f is
 * compared with ⟨∇L, v⟩ from vjp and with the jvp; and vjp/jvp must agree exactly as adjoints
 * (⟨u, J v⟩ = ⟨Jᵀ u, v⟩).
 */
import * as assert from 'uvu/assert'
import * as F from '../../index.js'
import type { Tensor } from '../../index.js'

/** A small seeded PRNG (mulberry32) for test data that does not depend on fovea's own random module. */
export const rng = (seed: number) => {
  let s = seed >>> 0
  return (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Normal-ish float32 test data (sum of uniforms), deterministic in `seed`. */
export const randn = (shape: readonly number[], seed = 0, scale = 1): F.Concrete => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  const data = new Float32Array(n)
  for (let i = 0; i < n; i++) data[i] = (r() + r() + r() - 1.5) * 2 * scale
  return F.tensor(data, { shape })
}

/** Uniform float32 data in [lo, hi). */
export const uniform = (shape: readonly number[], seed = 0, lo = 0, hi = 1): F.Concrete => {
  const r = rng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return F.tensor(Float32Array.from({ length: n }, () => lo + (hi - lo) * r()), { shape })
}

export type Tolerance = { readonly rtol?: number; readonly atol?: number }

/** Asserts |a - e| <= atol + rtol·|e| elementwise (NaNs must match NaNs). */
export const assertClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, what = 'values'): void => {
  const { rtol = 1e-5, atol = 1e-6 } = tol
  assert.is(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`)
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i])
    const e = Number(expected[i])
    if (Number.isNaN(e) && Number.isNaN(a)) continue
    if (e === a) continue
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.unreachable(`${what}: element ${i} is ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`)
    }
  }
}

/** Asserts the tensor's values are close to `expected` (flat or nested) and, if given, its shape. */
export const expectTensor = async (x: Tensor, expected: ArrayLike<number> | readonly unknown[], tol: Tolerance = {}, shape?: readonly number[]): Promise<void> => {
  if (shape) assert.equal([...x.shape], [...shape], `shape ${x.shape} vs ${shape}`)
  const flat = (Array.isArray(expected) ? (expected as unknown[]).flat(Infinity) : Array.from(expected as ArrayLike<number>)) as number[]
  assertClose(await F.toArray(x), flat.map((v) => Number(v)), tol)
}

/** Asserts `fn` throws a FoveaError whose message contains every fragment. */
export const throwsFovea = (fn: () => unknown, ...fragments: string[]): void => {
  try {
    fn()
  } catch (e) {
    assert.ok(F.isFoveaError(e), `expected a FoveaError, got ${String(e)}`)
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `message "${(e as Error).message}" should contain "${f}"`)
    return
  }
  assert.unreachable(`expected a FoveaError containing ${fragments.map((f) => JSON.stringify(f)).join(', ')}`)
}

/** Asserts `p` rejects with a FoveaError whose message contains every fragment. */
export const rejectsFovea = async (p: Promise<unknown>, ...fragments: string[]): Promise<void> => {
  try {
    await p
  } catch (e) {
    assert.ok(F.isFoveaError(e), `expected a FoveaError, got ${String(e)}`)
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `message "${(e as Error).message}" should contain "${f}"`)
    return
  }
  assert.unreachable(`expected a rejected FoveaError containing ${fragments.map((f) => JSON.stringify(f)).join(', ')}`)
}

const dot = async (a: Tensor, b: Tensor): Promise<number> => {
  const x = await F.toArray(a)
  const y = await F.toArray(b)
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!
  return s
}

export type GradCheckOptions = {
  /** Finite-difference step (relative to the direction's scale). */
  readonly eps?: number
  readonly rtol?: number
  readonly atol?: number
  readonly directions?: number
  readonly seed?: number
  /** Check second order too: the gradient of ⟨∇L, w⟩ against finite differences of ∇L. */
  readonly secondOrder?: boolean
}

/**
 * Checks first derivatives of `f` (any float32 output) with respect to all of `args` (float32 tensors):
 * finite differences vs vjp, jvp vs vjp (adjoint identity); optionally second order via grad of grad.
 */
export const checkGrads = async (f: (...xs: Tensor[]) => Tensor, args: readonly Tensor[], options: GradCheckOptions = {}): Promise<void> => {
  const { eps = 1e-2, rtol = 2e-2, atol = 2e-3, directions = 3, seed = 7, secondOrder = false } = options
  const y0 = f(...args)
  const u = randn(y0.shape, seed + 1000)
  // L(x) = <f(x), u>: a scalar whose gradient is the vjp of u.
  const L = (...xs: Tensor[]): Tensor => F.sum(F.mul(f(...xs), u))
  const [, vjpFn] = F.vjp((...xs: Tensor[]) => f(...xs), ...args)
  const g = vjpFn(u) as Tensor[]
  for (let d = 0; d < directions; d++) {
    const v = args.map((a, i) => randn(a.shape, seed + 17 * d + i))
    const plus = await F.item(L(...args.map((a, i) => F.add(a, F.mul(v[i]!, eps)))))
    const minus = await F.item(L(...args.map((a, i) => F.add(a, F.mul(v[i]!, -eps)))))
    const numeric = (plus - minus) / (2 * eps)
    let analytic = 0
    for (let i = 0; i < args.length; i++) analytic += await dot(g[i]!, v[i]!)
    const scale = Math.max(1, Math.abs(numeric), Math.abs(analytic))
    assert.ok(Math.abs(numeric - analytic) <= atol * scale + rtol * Math.abs(numeric),
      `direction ${d}: finite difference ${numeric} vs vjp ${analytic}`)
    const [, tangentOut] = F.jvp((...xs: Tensor[]) => f(...xs), args, v)
    const viaJvp = await dot(tangentOut as Tensor, u)
    assert.ok(Math.abs(viaJvp - analytic) <= 1e-3 * scale + 1e-4 * Math.abs(analytic), `direction ${d}: <u, J v> = ${viaJvp} but <J^T u, v> = ${analytic}`)
  }
  if (secondOrder) {
    // Second order: the directional derivative of ⟨∇L, w⟩ must match finite differences of it.
    const w = args.map((a, i) => randn(a.shape, seed + 500 + i))
    const gw = (...xs: Tensor[]): Tensor => {
      const gs = F.grad(L, { argnums: xs.map((_, i) => i) })(...xs) as Tensor[]
      return gs.map((gi, i) => F.sum(F.mul(gi, w[i]!))).reduce((a, b) => F.add(a, b))
    }
    await checkGrads(gw, args, { ...options, secondOrder: false, directions: 1 })
  }
}
