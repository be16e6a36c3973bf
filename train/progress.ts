/**
 * What the training loop prints: a one-line progress bar redrawn in place on a terminal, or detectron2's
 * `CommonMetricPrinter` lines (`eta: 0:01:23  iter: 19  loss: 0.5  time: 0.0100  lr: 0.01`) when output
 * goes to a file or a pipe, where carriage returns would only make noise.
 */

/** Seconds as `H:MM:SS` (Python's `str(timedelta(seconds=int(s)))`, as detectron2 prints an ETA). */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.floor(seconds)
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60]
  return `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`
}

/** A short, stable rendering of a scalar: 4 significant digits, exponent form when tiny or huge. */
export const formatScalar = (v: number): string => {
  if (!Number.isFinite(v)) return String(v)
  const a = Math.abs(v)
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3)
  return String(Number(v.toPrecision(4)))
}

/** Scalars in detectron2's printing order: losses first, then the rest alphabetically, time and lr last. */
const orderedNames = (names: readonly string[]): string[] => {
  const tail = ['time', 'data_time', 'lr']
  const rest = names.filter((n) => !tail.includes(n)).sort((a, b) => Number(!a.includes('loss')) - Number(!b.includes('loss')) || a.localeCompare(b))
  return [...rest, ...tail.filter((n) => names.includes(n))]
}

/** One `CommonMetricPrinter`-style line for a logged iteration. */
export const metricsLine = (iter: number, values: Readonly<Record<string, number>>, etaSeconds?: number): string => {
  const eta = etaSeconds === undefined ? '' : `eta: ${formatDuration(etaSeconds)}  `
  const fields = orderedNames(Object.keys(values)).map((n) => `${n}: ${n === 'time' || n === 'data_time' ? values[n]!.toFixed(4) : formatScalar(values[n]!)}`)
  return `${eta}iter: ${iter}  ${fields.join('  ')}`
}

/**
 * The terminal progress line: `[#########-----------]  45% 450/1000  loss 0.1234  lr 0.01  12.3 it/s  eta 0:00:45`.
 * `done` counts completed iterations out of `total`.
 */
export const progressLine = (done: number, total: number, values: Readonly<Record<string, number>>, itersPerSecond: number, etaSeconds: number, width = 24): string => {
  const fraction = total === 0 ? 1 : Math.min(1, Math.max(0, done / total))
  const filled = Math.round(fraction * width)
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`
  const fields = orderedNames(Object.keys(values)).filter((n) => n !== 'time' && n !== 'data_time').map((n) => `${n} ${formatScalar(values[n]!)}`)
  const speed = Number.isFinite(itersPerSecond) && itersPerSecond > 0 ? `${itersPerSecond >= 10 ? itersPerSecond.toFixed(0) : itersPerSecond.toFixed(2)} it/s` : ''
  return [`${bar} ${String(Math.round(fraction * 100)).padStart(3)}% ${done}/${total}`, ...fields, speed, `eta ${formatDuration(etaSeconds)}`].filter((s) => s !== '').join('  ')
}
