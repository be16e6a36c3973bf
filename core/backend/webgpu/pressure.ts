/**
 * GPU memory pressure → garbage collection. V8 schedules full collections by JS-heap growth and cannot
 * see GPU bytes, so dropped tensors (tiny JS objects holding large buffers) may never be finalized. Once
 * the bytes that only a collection can free (held by tensors outside every scope) have grown by `step`
 * since the last collection, this asks V8 for a full collection (10–30 ms in a loaded process); the
 * FinalizationRegistry then returns the dropped buffers to the pool when the event loop next turns (a
 * synchronous loop still needs `scope`). The collector is obtained once, without a command-line flag.
 */
import v8 from 'node:v8'
import vm from 'node:vm'

let collect: (() => void) | undefined | null

/** V8's full collection (`gc()`), obtained once without a command-line flag; null where V8 refuses. */
export const collector = (): (() => void) | null => {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc')
      collect = vm.runInNewContext('gc') as () => void
    } catch {
      collect = null
    }
  }
  return collect
}

export type Pressure = { readonly check: (heldBytes: number) => void; readonly collections: () => number }

export const createPressure = (step = 64 << 20): Pressure => {
  let threshold = step
  let count = 0
  return {
    check: (live) => {
      if (live < threshold - 2 * step) threshold = live + step
      if (live < threshold) return
      const gc = collector()
      threshold = live + step
      if (gc === null) return
      gc()
      count++
    },
    collections: () => count,
  }
}
