/**
 * Training events as immutable records, after detectron2's `EventStorage` and `HistoryBuffer`: each named
 * scalar keeps its recent values (the window a median is taken over), a running total for the global
 * average, its latest value and the iteration that produced it, and whether it should be smoothed when
 * written (detectron2's `smoothing_hint`; a learning rate is written as is, a loss as a median).
 */
export type History = {
  /** The most recent values, oldest first, at most `capacity`. */
  readonly values: readonly number[]
  readonly capacity: number
  readonly total: number
  readonly count: number
  readonly latest: number
  readonly latestIter: number
  readonly smoothingHint: boolean
}

export type EventStorage = {
  /** The iteration new scalars are recorded at. */
  readonly iter: number
  /** Values kept per scalar (detectron2 keeps far more; medians only ever look back a window). */
  readonly capacity: number
  readonly histories: Readonly<Record<string, History>>
}

/** An empty storage at `iter`, keeping `capacity` recent values per scalar. */
export const emptyStorage = (iter = 0, capacity = 100): EventStorage => ({ iter, capacity, histories: {} })

/** The same storage, now recording at `iter`. */
export const atIter = (storage: EventStorage, iter: number): EventStorage => ({ ...storage, iter })

const pushValue = (h: History | undefined, value: number, iter: number, capacity: number, smoothingHint: boolean): History => {
  const previous = h?.values ?? []
  const values = previous.length >= capacity ? [...previous.slice(previous.length - capacity + 1), value] : [...previous, value]
  return { values, capacity, total: (h?.total ?? 0) + value, count: (h?.count ?? 0) + 1, latest: value, latestIter: iter, smoothingHint }
}

/** Records `value` for `name` at the storage's iteration (detectron2 `put_scalar`). */
export const putScalar = (storage: EventStorage, name: string, value: number, smoothingHint = true): EventStorage => ({
  ...storage,
  histories: { ...storage.histories, [name]: pushValue(storage.histories[name], value, storage.iter, storage.capacity, smoothingHint) },
})

/** Records several scalars at once (detectron2 `put_scalars`). */
export const putScalars = (storage: EventStorage, scalars: Readonly<Record<string, number>>, smoothingHint = true): EventStorage =>
  Object.entries(scalars).reduce((s, [name, v]) => putScalar(s, name, v, smoothingHint), storage)

const lastWindow = (h: History, window: number): readonly number[] => h.values.slice(Math.max(0, h.values.length - window))

/** Median of the last `window` values (NumPy's median: the mean of the two middle values for an even count). */
export const median = (h: History, window = 20): number => {
  const sorted = [...lastWindow(h, window)].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Mean of the last `window` values. */
export const average = (h: History, window = 20): number => {
  const w = lastWindow(h, window)
  return w.length === 0 ? Number.NaN : w.reduce((a, b) => a + b, 0) / w.length
}

/** Mean of every value ever recorded. */
export const globalAverage = (h: History): number => (h.count === 0 ? Number.NaN : h.total / h.count)

/**
 * Each scalar's value for writing (detectron2 `latest_with_smoothing_hint`): the median over `window` when
 * its hint says smooth, else the latest value; with the iteration that last updated it.
 */
export const latestWithSmoothing = (storage: EventStorage, window = 20): Record<string, { readonly value: number; readonly iter: number }> =>
  Object.fromEntries(Object.entries(storage.histories).map(([name, h]) => [name, { value: h.smoothingHint ? median(h, window) : h.latest, iter: h.latestIter }]))
