/**
 * Waiting on Dawn without a busy loop. While any of its promises is pending (a readback's `mapAsync`,
 * `requestDevice`, ...), Dawn's Node binding polls the device from a native callback that it re-arms with
 * `globalThis.setImmediate` on every turn of the event loop: the loop never sleeps and one CPU core runs
 * at 100% for as long as the GPU works. Under a software adapter (lavapipe) that core is taken from the
 * rasterizer's own threads — on 2 cores a 40 ms kernel then takes 65 ms to read back.
 *
 * `quietly(promise)` lets Dawn's poll spin as it likes for the first `SPIN_MS` of a wait (a short wait on
 * a real GPU keeps its latency), then re-arms it with `setTimeout(0)` instead (about 1 ms, during which
 * the event loop sleeps) until every quiet wait has settled; then `setImmediate` is put back as it was.
 * Only Dawn's callbacks are rerouted: a function scheduled by JavaScript code passes straight through.
 * `FOVEA_GPU_WAIT=spin` turns this off.
 */
import { promisify } from 'node:util'

/** How long a wait may poll at full speed before it backs off to timer turns. */
export const SPIN_MS = 2

let depth = 0
let quietSince = 0
let original: typeof setImmediate | undefined
let wrapper: typeof setImmediate | undefined
let rerouted = 0
/** Bumped by `endQuietWaits`: a wait begun before it no longer counts when it settles. */
let generation = 0

/**
 * Dawn's poll callback: a native function with no name and no parameters, a fresh one per poll. A JS
 * function's source is not `[native code]`; a bound function is named `bound …`; a promise's resolve
 * function (as in `new Promise((r) => setImmediate(r))`) takes one parameter.
 */
const isDawnPoll = (fn: unknown): boolean =>
  typeof fn === 'function' && fn.name === '' && fn.length === 0 && Function.prototype.toString.call(fn).includes('[native code]')

const spinRequested = (): boolean => process.env.FOVEA_GPU_WAIT === 'spin'

const enter = (): void => {
  if (depth++ > 0 || spinRequested()) return
  quietSince = performance.now()
  const real = globalThis.setImmediate
  original = real
  const quiet = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (isDawnPoll(callback) && performance.now() - quietSince > SPIN_MS) {
      rerouted++
      return setTimeout(callback, 0, ...args)
    }
    return real(callback, ...args)
  }) as typeof setImmediate
  // `util.promisify(setImmediate)` looks for this; keep it working while the wrapper is installed.
  const custom = (real as unknown as Record<symbol, unknown>)[promisify.custom]
  if (custom !== undefined) Object.defineProperty(quiet, promisify.custom, { value: custom })
  wrapper = quiet
  globalThis.setImmediate = wrapper
}

const restore = (): void => {
  // Someone else (a fake-timer library) replaced it meanwhile: theirs stays.
  if (original !== undefined && globalThis.setImmediate === wrapper) globalThis.setImmediate = original
  original = undefined
  wrapper = undefined
}

const leave = (): void => {
  if (--depth === 0) restore()
}

/** Awaits `promise` (a Dawn promise) with Dawn's poll backed off to timer turns after `SPIN_MS`. */
export const quietly = async <T>(promise: Promise<T>): Promise<T> => {
  enter()
  const mine = generation
  try {
    return await promise
  } finally {
    if (generation === mine) leave()
  }
}

/**
 * Ends every quiet wait now and puts `setImmediate` back: for a lost device, whose pending promises may
 * never settle (the runtime reports the loss to its readers instead). Waits still pending are forgotten.
 */
export const endQuietWaits = (): void => {
  generation++
  depth = 0
  restore()
}

/** Whether a quiet wait is in progress (`setImmediate` is rerouted), for tests. */
export const quietWaitActive = (): boolean => wrapper !== undefined && globalThis.setImmediate === wrapper

/** How many Dawn polls were moved to timer turns since the process started, for tests. */
export const reroutedPolls = (): number => rerouted
