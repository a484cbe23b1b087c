import type { TraceEvent, TraceSpan } from "../domain/Trace.js"
import type * as SpanVersion from "../domain/SpanVersion.js"

/** A trace's own record in the writer's buffer, among its spans (it takes one place of the capacity). */
export class PendingTrace {
  constructor(readonly record: TraceEvent) {}
}
/** What the buffer holds: a span, or a trace's own record. */
export type Pending = TraceSpan | PendingTrace

/** A batch taken from the buffer: its entries, their versions (`versions[i]` of `entries[i]`) and their estimated bytes. */
export interface Batch {
  readonly start: number
  readonly entries: ReadonlyArray<Pending>
  readonly versions: ReadonlyArray<SpanVersion.SpanVersion>
  readonly bytes: number
}

/**
 * The bytes an entry holds in memory, estimated without allocating: its long texts (a JS string
 * of one-byte characters takes a byte each) and a fixed allowance for the rest of the object.
 */
export const pendingBytes = (e: Pending): number =>
  e instanceof PendingTrace
    ? 256
    : 1024 + e.prompt.length + (e.response === undefined ? 0 : e.response.length) + (e.errorMessage === undefined ? 0 : e.errorMessage.length)

/**
 * Everything the TraceWriter knows, in one value, changed only by the named transitions below.
 * Entries are numbered in acceptance order: `buffer` holds those accepted and not yet taken (with
 * their versions and sizes in parallel arrays: no object per span), `inFlight` the batches being
 * stored, by the number of their first entry. The counters are what `stats` reports.
 */
export class WriterState {
  readonly buffer: Array<Pending> = []
  readonly versions: Array<SpanVersion.SpanVersion> = []
  readonly sizes: Array<number> = []
  bufferedBytes = 0
  readonly inFlight = new Map<number, Batch>()

  accepted = 0
  taken = 0
  stored = 0
  retried = 0
  deadLettered = 0
  lost = 0
  tracesAccepted = 0
  tracesStored = 0
  tracesDeadLettered = 0
  tracesLost = 0
  /** Entries numbered below this are to be sent now (a `flush` asked for them). */
  flushTo = 0
  closing = false
  /** When the oldest entry of the buffer was accepted (ms). */
  oldestAt = 0

  /** Entries still in the buffer. */
  get queued(): number {
    return this.buffer.length
  }

  /** Estimated bytes of the entries accepted and not yet settled: buffered, or in a batch being stored. */
  heldBytes(): number {
    let bytes = this.bufferedBytes
    for (const b of this.inFlight.values()) bytes += b.bytes
    return bytes
  }

  /** Every entry numbered below this has settled. */
  watermark(): number {
    for (const start of this.inFlight.keys()) return start
    return this.taken
  }

  /** An entry accepted by `write*`, with the version stamped now and its size. */
  accept(entry: Pending, version: SpanVersion.SpanVersion, bytes: number, now: number): void {
    if (this.buffer.length === 0) this.oldestAt = now
    if (entry instanceof PendingTrace) this.tracesAccepted++
    this.buffer.push(entry)
    this.versions.push(version)
    this.sizes.push(bytes)
    this.bufferedBytes += bytes
    this.accepted++
  }

  /** Takes the next batch: at most `maxSpans` entries and, beyond the first, at most `maxBytes`. */
  take(maxSpans: number, maxBytes: number, now: number): Batch {
    let n = 0
    let bytes = 0
    const limit = Math.min(this.buffer.length, maxSpans)
    while (n < limit && (n === 0 || bytes + this.sizes[n]! <= maxBytes)) bytes += this.sizes[n++]!
    // Taken entries leave the buffer at once, so a settled batch is held by nothing.
    const batch: Batch = { start: this.taken, entries: this.buffer.splice(0, n), versions: this.versions.splice(0, n), bytes }
    this.sizes.splice(0, n)
    this.bufferedBytes -= bytes
    this.taken += n
    this.oldestAt = now
    this.inFlight.set(batch.start, batch)
    return batch
  }

  /** Whether a batch should leave now: a full one, a flush or close asked for it, or its oldest entry waited `intervalMs`. */
  shouldSendBatch(batchSize: number, batchBytes: number, intervalMs: number, now: number): boolean {
    const queued = this.buffer.length
    return queued >= batchSize || this.bufferedBytes >= batchBytes ||
      (queued > 0 && (this.closing || this.taken < this.flushTo || now - this.oldestAt >= intervalMs))
  }

  /** A batch settled (stored, dead-lettered or lost): it is held by nothing any more. */
  finishBatch(batch: Batch, attempts: number): void {
    this.retried += Math.max(0, attempts - 1)
    this.inFlight.delete(batch.start)
  }

  spansStored(n: number): void {
    this.stored += n
  }
  spansDeadLettered(n: number): void {
    this.deadLettered += n
  }
  spansLost(n: number): void {
    this.lost += n
  }
  recordsStored(n: number): void {
    this.tracesStored += n
  }
  recordsDeadLettered(n: number): void {
    this.tracesDeadLettered += n
  }
  recordsLost(n: number): void {
    this.tracesLost += n
  }

  /** `flush` asks for every entry accepted so far; returns that number. */
  requestFlush(): number {
    if (this.flushTo < this.accepted) this.flushTo = this.accepted
    return this.accepted
  }

  /** Everything neither stored nor settled when the writer closed: in flight, then buffered, in order. */
  drain(): Array<{ readonly entry: Pending; readonly version: SpanVersion.SpanVersion }> {
    const left: Array<{ entry: Pending; version: SpanVersion.SpanVersion }> = []
    for (const b of this.inFlight.values()) b.entries.forEach((entry, i) => left.push({ entry, version: b.versions[i]! }))
    this.buffer.forEach((entry, i) => left.push({ entry, version: this.versions[i]! }))
    return left
  }
}
