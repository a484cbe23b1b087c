/**
 * The version of a stored copy of a span: what decides "last write" between two copies of one
 * (tenant, span id) on every engine (the higher wins). Stamped once, when the application hands
 * the span over (`TraceWriter.write*`, `TraceRepository.storeSpan(s)`), and carried with it through
 * retries, concurrent batches and dead letters: never stamped again. Microseconds since the epoch
 * at the stamp, strictly increasing within a process; across processes the wall clock decides,
 * to the millisecond (docs/DESIGN.md, "What decides last write").
 */
export type SpanVersion = number

let last = 0

/** The next version of this process: `Date.now()` in microseconds, or one more than the last, whichever is higher. */
export const next = (): SpanVersion => {
  const now = Date.now() * 1000
  last = now > last ? now : last + 1
  return last
}

/** `n` consecutive versions (one clock read): the versions of a call that hands over `n` spans at once. */
export const nextRange = (n: number): Array<SpanVersion> => {
  const first = next()
  last = first + Math.max(0, n - 1)
  return Array.from({ length: n }, (_, i) => first + i)
}
