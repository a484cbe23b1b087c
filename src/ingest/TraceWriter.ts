import * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as path from "node:path"
import { TraceEvent, TraceSpan } from "../domain/Trace.js"
import { isTraceSpan } from "../domain/TraceSpanGuard.js"
import * as SpanVersion from "../domain/SpanVersion.js"
import * as ConfigFields from "../ConfigFields.js"
import { InvalidInput, type StorageError, validate } from "../StorageError.js"
import { TraceSink, type TraceSinkShape } from "../TraceSink.js"
import * as CheckedSpans from "./CheckedSpans.js"
import * as DeadLetters from "./DeadLetters.js"
import * as Lines from "./Lines.js"
import { type Batch, type Pending, pendingBytes, PendingTrace, WriterState } from "./WriterState.js"

export { TraceSink } from "../TraceSink.js"

/**
 * `write`/`writeAll` after the writer's scope began to close. The first `accepted` spans of the
 * call were accepted (they will be stored or dead-lettered); the rest were not.
 */
export class WriterClosed extends Schema.TaggedError<WriterClosed>()("WriterClosed", {
  message: Schema.String,
  accepted: Schema.Number
}) {}

/** `flush` did not see every span settle within `flushTimeout`; `unsettled` were still buffered or being stored. */
export class FlushTimeout extends Schema.TaggedError<FlushTimeout>()("FlushTimeout", {
  message: Schema.String,
  unsettled: Schema.Number
}) {}

/** Counters since the writer started. `accepted = stored + deadLettered + lost + buffered`. */
export interface Stats {
  /** Spans taken by `write`/`writeAll`. */
  readonly accepted: number
  /** Spans the sink stored. */
  readonly stored: number
  /** Retries of a batch after `StorageUnavailable`. */
  readonly retried: number
  /** Spans dead-lettered: unavailable after every retry (replayed later), or refused by the engine (in `failed/`). */
  readonly deadLettered: number
  /** Spans neither stored nor dead-lettered: the dead letters could not be written either (logged as fatal). */
  readonly lost: number
  /** Spans accepted and not yet settled (buffered or being stored). */
  readonly buffered: number
  /**
   * Estimated bytes of what is accepted and not yet settled, as `maxBufferBytes` counts them (texts
   * plus 1 KiB a span): at most `maxBufferBytes`, unless one span alone is larger (it is let through alone).
   */
  readonly bufferedBytes: number
  /** Trace records taken by `writeTrace`. */
  readonly tracesAccepted: number
  /** Trace records the sink stored. */
  readonly tracesStored: number
  /** Trace records dead-lettered, as spans are (replayed later, or in `failed/` when refused). */
  readonly tracesDeadLettered: number
  /** Trace records neither stored nor dead-lettered (the dead letters could not be written): each logged as fatal for a human. */
  readonly tracesLost: number
}

export interface TraceWriterShape {
  /**
   * Buffers a span (validated now, so bad input fails here; its version, which decides the last
   * write, is stamped now); waits while `capacity` spans or `maxBufferBytes` are unsettled.
   */
  readonly write: (span: TraceSpan) => Effect.Effect<void, InvalidInput | WriterClosed>
  /**
   * Buffers spans in order; waits while the buffer is full. Every span is validated
   * before any is accepted: `InvalidInput` (its path starts with the span's index) means none was.
   * (A batch the library's CheckedSpans made, by the same rules, is not validated twice.)
   * `WriterClosed` says how many were accepted, in order, before the writer began to close.
   */
  readonly writeAll: (spans: Iterable<TraceSpan>) => Effect.Effect<void, InvalidInput | WriterClosed>
  /**
   * Buffers a whole trace: its spans as `writeAll` does, then its own record (its createdAt; a
   * trace with no spans exists), stored in batches with other traces' records. Everything is
   * validated before anything is accepted (a span of another trace or tenant is `InvalidInput`).
   */
  readonly writeTrace: (trace: TraceEvent) => Effect.Effect<void, InvalidInput | WriterClosed>
  /**
   * Sends what is buffered now (a partial batch does not wait for the flush interval) and waits
   * until every span and trace record accepted before the call has settled: stored, or
   * dead-lettered. Fails with `FlushTimeout` after `flushTimeout`.
   */
  readonly flush: Effect.Effect<void, FlushTimeout>
  readonly stats: Effect.Effect<Stats>
}

export class TraceWriter extends Context.Tag("llmtrace-storage/TraceWriter")<TraceWriter, TraceWriterShape>() {}

export interface Options {
  /**
   * Spans per insert (>= 1). Default 5,000: ClickHouse wants few large inserts, but the cost per
   * row stops falling between 1k and 10k rows (BENCHMARKS.md), while the memory held grows with it.
   */
  readonly batchSize?: number
  /** A partial batch leaves this long after its first span (or at once on `flush`). Default 1 second. */
  readonly flushInterval?: Duration.DurationInput
  /**
   * Spans accepted and not yet settled, buffered or being stored (>= batchSize): `write` waits
   * while there are this many (back-pressure). Default (concurrency + 1) × batchSize, 15,000: the
   * batches being stored and one ready; a deeper buffer only absorbs bursts, and costs memory (see README, "Writer memory").
   */
  readonly capacity?: number
  /**
   * Bytes of spans accepted and not yet settled (their texts, estimated; >= 1 MiB): `write` waits
   * while there are this many, and a batch leaves once it holds maxBufferBytes / (concurrency + 1).
   * Default 16 MiB (batches of ~5.3 MiB): with 1 MB prompts the JS side stays at ~270 MiB heap and
   * ~110 MiB external; the embedded engine's memory grows apart from it (BENCHMARKS.md).
   */
  readonly maxBufferBytes?: number
  /** Retries of a batch that failed with StorageUnavailable (exponential, jittered; >= 0). Default 5. */
  readonly maxRetries?: number
  /** First retry delay. Default 200 ms. */
  readonly retryDelay?: Duration.DurationInput
  /**
   * The dead-letter directory (DeadLetters), shared safely by any number of processes. Required:
   * the lite profile derives it from its data directory. A relative path is resolved once, when the
   * writer starts, and the result logged.
   */
  readonly deadLetterPath?: string
  /** Replay the dead letters when the writer starts. Default true. */
  readonly replayOnStart?: boolean
  /** The longest dead-letter line a replay reads; a longer one is refused by its number. Default 8 MiB. */
  readonly maxLineBytes?: number
  /** Batches being stored at once: JS prepares the next batch while the engine writes one (>= 1). Default 2. */
  readonly concurrency?: number
  /**
   * Validate each span when it is written (default true): a hand-written guard, with the TraceSpan
   * schema only to describe a failure. Turn off only when every span comes from `TraceSpan.make`
   * or a schema decode, which validated it already.
   */
  readonly validate?: boolean
  /**
   * How long `flush`, and closing the writer's scope, wait for buffered spans to settle. Then
   * `flush` fails with `FlushTimeout`; closing logs the count and dead-letters what is left. Default 30 seconds.
   */
  readonly flushTimeout?: Duration.DurationInput
}

const defaults = {
  batchSize: 5_000,
  maxRetries: 5,
  concurrency: 2,
  maxBufferBytes: 16 * 1024 * 1024
} as const

/** The smallest byte budget: a few spans of ordinary size. */
const minBufferBytes = 1024 * 1024

/**
 * The rules between options, in one place (checked by `make` and by a configuration): a problem,
 * named by the option, or none.
 */
export const problem = (o: Options): { readonly option: keyof Options; readonly message: string } | undefined => {
  const whole = (option: keyof Options, value: number | undefined, min: number) =>
    value !== undefined && (!Number.isSafeInteger(value) || value < min) ? { option, message: `must be a whole number >= ${min}, got ${value}` } : undefined
  return whole("batchSize", o.batchSize, 1) ?? whole("capacity", o.capacity, 1) ?? whole("maxRetries", o.maxRetries, 0) ??
    whole("concurrency", o.concurrency, 1) ?? whole("maxBufferBytes", o.maxBufferBytes, minBufferBytes) ?? whole("maxLineBytes", o.maxLineBytes, 1024) ??
    (o.capacity !== undefined && o.capacity < (o.batchSize ?? defaults.batchSize)
      ? { option: "capacity", message: `must be at least batchSize (${o.batchSize ?? defaults.batchSize}), got ${o.capacity}` }
      : undefined)
}

/** The numeric options, checked: a batch size of 0 or -1 would spin the consumer forever. */
const resolve = (options: Options) => {
  const found = problem(options)
  if (found !== undefined) {
    return Effect.fail(new InvalidInput({ backend: "storage", operation: "TraceWriter.make", path: [found.option], message: `${found.option}: ${found.message}` }))
  }
  if (options.deadLetterPath === undefined || options.deadLetterPath.trim() === "") {
    return Effect.fail(new InvalidInput({
      backend: "storage",
      operation: "TraceWriter.make",
      path: ["deadLetterPath"],
      message: "deadLetterPath: required (the directory of the dead letters; the lite profile derives it from its data directory)"
    }))
  }
  const batchSize = options.batchSize ?? defaults.batchSize
  const concurrency = options.concurrency ?? defaults.concurrency
  const maxBufferBytes = options.maxBufferBytes ?? defaults.maxBufferBytes
  return Effect.succeed({
    batchSize,
    concurrency,
    // Unset, it follows the batch size: the batches being stored and one ready.
    capacity: options.capacity ?? (concurrency + 1) * batchSize,
    maxRetries: options.maxRetries ?? defaults.maxRetries,
    maxBufferBytes,
    batchBytes: Math.floor(maxBufferBytes / (concurrency + 1)),
    deadLetterPath: options.deadLetterPath
  })
}

/**
 * A buffered writer. Batches leave by size (spans or bytes), by interval, or on `flush`; transient
 * failures (`StorageUnavailable`) are retried with a `Schedule`; a batch the engine refuses is
 * split until the refused spans are alone (only those go to `failed/`); a batch that is still
 * unavailable after its retries is dead-lettered (replayed later, never dropped), each with one
 * log line. Trace records take the same path. A defect while storing (a throwing sink, a row that
 * cannot be converted) is handled the same way, and the writer keeps running. Closing the scope
 * stores everything buffered before it returns (bounded by `flushTimeout`). The dead letters are
 * replayed when the writer starts.
 *
 * Memory: at most `capacity` spans and about `maxBufferBytes` are held (buffered plus the
 * `concurrency` batches being stored); a batch is released as soon as it settles.
 */
export const make = (options: Options = {}): Effect.Effect<TraceWriterShape, InvalidInput, TraceSink | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = yield* resolve(options)
    const { batchBytes, batchSize, capacity, concurrency, maxBufferBytes, maxRetries } = resolved
    const sink = yield* TraceSink
    const fs = yield* FileSystem.FileSystem
    const withFs = Effect.provideService(FileSystem.FileSystem, fs)
    // Resolved once: a later change of the working directory does not move the dead letters.
    const deadLetterPath = path.resolve(resolved.deadLetterPath)
    if (deadLetterPath !== resolved.deadLetterPath) {
      yield* Effect.logInfo(`TraceWriter: dead letters in ${deadLetterPath} (the relative path ${resolved.deadLetterPath}, resolved at start)`)
    }
    const intervalMs = Duration.toMillis(Duration.decode(options.flushInterval ?? "1 second"))
    const flushTimeout = Duration.decode(options.flushTimeout ?? "30 seconds")
    const retry = Schedule.exponential(Duration.decode(options.retryDelay ?? "200 millis")).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(maxRetries))
    )

    if (options.replayOnStart ?? true) {
      yield* DeadLetters.replay(deadLetterPath, sink, { batchSize, ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }) }).pipe(
        withFs,
        Effect.tap((r) => (r.replayed + r.tracesReplayed > 0 ? Effect.logInfo(`TraceWriter replayed ${r.replayed} dead-lettered spans and ${r.tracesReplayed} trace records`) : Effect.void)),
        Effect.catchAll((e) => Effect.logWarning(`TraceWriter could not replay ${deadLetterPath} yet; it stays for the next start: ${e.message}`))
      )
    }

    const state = new WriterState()
    const freeEntries = yield* Effect.makeSemaphore(capacity)
    const freeBytes = yield* Effect.makeSemaphore(maxBufferBytes)
    const batchPermits = yield* Effect.makeSemaphore(concurrency)
    const batchMayBeDue = yield* Effect.makeLatch(false)
    const settled = yield* SubscriptionRef.make(0)
    const fibers = yield* FiberSet.make()

    const loseAll = (letters: DeadLetters.Letters, why: string) =>
      Effect.zipRight(
        Effect.sync(() => {
          state.spansLost(letters.spans.length)
          state.recordsLost(letters.records?.length ?? 0)
        }),
        Effect.logFatal(
          `TraceWriter LOST ${letters.spans.length} spans and ${letters.records?.length ?? 0} trace records: ${why}` +
            ((letters.records?.length ?? 0) > 0
              ? `; the trace records (store them again with storeTrace): ${JSON.stringify(letters.records!.map((r) => ({ tenantId: r.tenantId, traceId: r.traceId, createdAt: r.createdAt })))}`
              : "")
        )
      )

    /** Unavailable after every retry: a new dead-letter segment, replayed later. */
    const deadLetter = (letters: DeadLetters.Letters, reason: string) =>
      DeadLetters.append(deadLetterPath, letters, reason).pipe(
        withFs,
        Effect.zipRight(Effect.sync(() => {
          state.spansDeadLettered(letters.spans.length)
          state.recordsDeadLettered(letters.records?.length ?? 0)
        })),
        Effect.zipRight(Effect.logError(`TraceWriter: ${letters.spans.length} spans and ${letters.records?.length ?? 0} trace records dead-lettered to ${deadLetterPath}: ${reason}`)),
        Effect.catchAll((fileError) => loseAll(letters, `storing failed (${reason}) and so did the dead letters (${fileError.message})`))
      )

    /** Refused by the engine: to `failed/`, each with its reason (replayed only on purpose). */
    const deadLetterFailed = (refused: ReadonlyArray<DeadLetters.Refused>, refusedRecords: ReadonlyArray<DeadLetters.RefusedRecord>) =>
      DeadLetters.appendFailed(deadLetterPath, refused, refusedRecords).pipe(
        withFs,
        Effect.zipRight(Effect.sync(() => {
          state.spansDeadLettered(refused.length)
          state.recordsDeadLettered(refusedRecords.length)
        })),
        Effect.zipRight(Effect.logError(`TraceWriter: ${refused.length + refusedRecords.length} refused spans and trace records moved to ${DeadLetters.failedDir(deadLetterPath)}: ${DeadLetters.summarize([...refused, ...refusedRecords])}`)),
        Effect.catchAll((fileError) =>
          loseAll({ spans: refused.map((r) => r.span), versions: refused.map((r) => r.version), records: refusedRecords.map((r) => r.record) }, `refused (${DeadLetters.summarize([...refused, ...refusedRecords])}) and the dead letters failed (${fileError.message})`))
      )

    const retried = <A>(attempt: Effect.Effect<A, StorageError>, count: () => void) =>
      Effect.suspend(() => {
        count()
        return attempt
      }).pipe(Effect.retry({ schedule: retry, while: (e) => e._tag === "StorageUnavailable" }))

    /** Stores one batch: retried while unavailable, refused spans and records isolated, the rest dead-lettered. Never fails. */
    const storeBatch = (batch: Batch) => {
      let attempts = 0
      const count = () => void attempts++
      // Trace records are rare among spans: a batch without any is passed on as it is.
      let spans = batch.entries as ReadonlyArray<TraceSpan>
      let versions = batch.versions
      const records: Array<TraceEvent> = []
      if (batch.entries.some((e) => e instanceof PendingTrace)) {
        const s: Array<TraceSpan> = []
        const v: Array<number> = []
        batch.entries.forEach((e, i) => {
          if (e instanceof PendingTrace) records.push(e.record)
          else {
            s.push(e)
            v.push(batch.versions[i]!)
          }
        })
        spans = s
        versions = v
      }
      const storeSpans = spans.length === 0 ? Effect.void : retried(DeadLetters.storeIsolating(sink.storeSpans, spans, versions), count).pipe(
        Effect.matchCauseEffect({
          onFailure: (cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : deadLetter({ spans, versions }, DeadLetters.describeCause(cause)),
          onSuccess: (refused) =>
            Effect.zipRight(
              Effect.sync(() => state.spansStored(spans.length - refused.length)),
              refused.length === 0 ? Effect.void : deadLetterFailed(refused, [])
            )
        })
      )
      const storeRecords = records.length === 0 ? Effect.void : retried(DeadLetters.storeRecordsIsolating(sink.storeTraces, records), count).pipe(
        Effect.matchCauseEffect({
          onFailure: (cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : deadLetter({ spans: [], versions: [], records }, DeadLetters.describeCause(cause)),
          onSuccess: (refused) =>
            Effect.zipRight(
              Effect.sync(() => state.recordsStored(records.length - refused.length)),
              refused.length === 0 ? Effect.void : deadLetterFailed([], refused)
            )
        })
      )
      return Effect.zipRight(storeSpans, storeRecords).pipe(
        Effect.ensuring(Effect.suspend(() => {
          state.finishBatch(batch, attempts - (spans.length > 0 ? 1 : 0) - (records.length > 0 ? 1 : 0) + 1)
          return Effect.zipRight(
            Effect.all([freeEntries.release(batch.entries.length), freeBytes.release(Math.min(batch.bytes, maxBufferBytes)), batchPermits.release(1)], { discard: true }),
            SubscriptionRef.set(settled, state.watermark())
          )
        }))
      )
    }

    const loop = Effect.gen(function*() {
      while (true) {
        yield* batchMayBeDue.close
        if (!state.shouldSendBatch(batchSize, batchBytes, intervalMs, Date.now())) {
          if (state.closing && state.queued === 0) return
          if (state.queued === 0) yield* batchMayBeDue.await
          else yield* Effect.timeoutOption(batchMayBeDue.await, Math.max(1, intervalMs - (Date.now() - state.oldestAt)))
          continue
        }
        yield* batchPermits.take(1)
        yield* FiberSet.run(fibers, storeBatch(state.take(batchSize, batchBytes, Date.now())))
      }
    })
    // Supervised: a defect in the loop itself is logged and the loop starts again (the state it
    // works on is consistent between steps), so `flush` never waits on a dead consumer.
    const consumer: Effect.Effect<void> = loop.pipe(
      Effect.catchAllDefect((defect) =>
        Effect.logError(`TraceWriter: the consumer failed and restarts: ${String(defect)}`).pipe(
          Effect.zipRight(Effect.sleep("100 millis")),
          Effect.zipRight(Effect.suspend(() => consumer))
        )
      )
    )
    yield* FiberSet.run(fibers, consumer)

    const awaitSettled = (target: number) =>
      settled.changes.pipe(Stream.takeUntil((n) => n >= target), Stream.runDrain)

    // Registered after the FiberSet, so it runs first on close: stop taking spans, store what is
    // buffered, and if that does not finish in time, dead-letter what is left rather than hang.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        state.closing = true
        batchMayBeDue.unsafeOpen()
        const target = state.accepted
        // Finalizers run uninterruptibly: the waits are made interruptible so their deadlines can fire.
        const done = yield* Effect.timeoutOption(Effect.interruptible(awaitSettled(target)), flushTimeout)
        if (Option.isSome(done)) return
        const unsettled = target - Math.min(target, state.watermark())
        const left = state.drain()
        yield* FiberSet.clear(fibers)
        const spans: Array<TraceSpan> = []
        const versions: Array<number> = []
        const records: Array<TraceEvent> = []
        for (const { entry, version } of left) {
          if (entry instanceof PendingTrace) records.push(entry.record)
          else {
            spans.push(entry)
            versions.push(version)
          }
        }
        yield* Effect.logError(
          `TraceWriter: ${unsettled} ${records.length > 0 ? "spans and trace records" : "spans"} still unsettled ${Duration.format(flushTimeout)} after close; dead-lettering ${spans.length} spans and ${records.length} trace records buffered or in flight`
        )
        const why = `the writer closed before they were stored (flushTimeout ${Duration.format(flushTimeout)})`
        if (left.length > 0) yield* Effect.timeoutOption(Effect.interruptible(deadLetter({ spans, versions, records }, why)), flushTimeout)
      })
    )

    const validating = options.validate ?? true
    const checkOne = validate(TraceSpan, "storage", "TraceWriter.write")
    const checkAll = (list: ReadonlyArray<TraceSpan>): Effect.Effect<void, InvalidInput> => {
      // A batch CheckedSpans made was checked by the same rules where it was built (the OTLP receiver's).
      if (!validating || CheckedSpans.isChecked(list)) return Effect.void
      for (let i = 0; i < list.length; i++) {
        if (isTraceSpan(list[i])) continue
        // The guard may refuse what the schema accepts: only the schema's verdict counts.
        const result = Effect.runSync(Effect.either(checkOne(list[i]!)))
        if (Either.isLeft(result)) {
          const e = result.left
          return Effect.fail(new InvalidInput({ backend: e.backend, operation: "TraceWriter.writeAll", path: [i, ...e.path], message: `spans.${i}: ${e.message}` }))
        }
      }
      return Effect.void
    }

    const closedAfter = (n: number) =>
      new WriterClosed({ accepted: n, message: `the TraceWriter is closing; ${n} spans of this call were accepted, the rest were not` })
    /** Bytes an entry takes of the byte budget: one larger than the whole budget takes all of it. */
    const budget = (bytes: number) => Math.min(bytes, maxBufferBytes)

    /** Accepts one entry (`write`) after waiting for room in spans and bytes; its version is the one stamped when it was written. */
    const acceptOne = (entry: Pending, version: SpanVersion.SpanVersion): Effect.Effect<void, WriterClosed> => {
      if (state.closing) return Effect.fail(closedAfter(0))
      const bytes = pendingBytes(entry)
      return Effect.flatMap(freeEntries.take(1), () =>
        Effect.flatMap(freeBytes.take(budget(bytes)), () => {
          if (state.closing) return Effect.zipRight(Effect.zipRight(freeEntries.release(1), freeBytes.release(budget(bytes))), Effect.fail(closedAfter(0)))
          state.accept(entry, version, bytes, Date.now())
          if (state.queued >= batchSize || state.bufferedBytes >= batchBytes) batchMayBeDue.unsafeOpen()
          return Effect.void
        }))
    }

    /**
     * Entries `from`.. that are taken together: at most a quarter of a batch and, beyond the first,
     * at most a batch's bytes. Room is taken for the whole chunk at once (one wait, not one a span),
     * in amounts that settling batches give back whole, so a chunk never waits long for a few places.
     */
    const chunkEnd = (list: ReadonlyArray<Pending>, sizes: ReadonlyArray<number>, from: number) => {
      const most = Math.min(list.length, from + Math.max(1, Math.floor(batchSize / 4)))
      let end = from + 1
      let bytes = budget(sizes[from]!)
      while (end < most && bytes + budget(sizes[end]!) <= batchBytes) bytes += budget(sizes[end++]!)
      return { end, bytes }
    }

    /** Accepts entries in order, a chunk at a time, each chunk after waiting for room in spans and bytes; versions were stamped when the call was made. */
    const offer = (list: ReadonlyArray<Pending>) =>
      Effect.suspend(() => {
        const versions = SpanVersion.nextRange(list.length)
        const sizes = list.map(pendingBytes)
        let done = 0
        const next: Effect.Effect<void, WriterClosed> = Effect.suspend(() => {
          if (done === list.length) return Effect.void
          if (state.closing) return Effect.fail(closedAfter(done))
          const { bytes, end } = chunkEnd(list, sizes, done)
          return Effect.flatMap(freeEntries.take(end - done), () =>
            Effect.flatMap(freeBytes.take(bytes), () => {
              if (state.closing) return Effect.zipRight(Effect.zipRight(freeEntries.release(end - done), freeBytes.release(bytes)), Effect.fail(closedAfter(done)))
              const now = Date.now()
              for (; done < end; done++) state.accept(list[done]!, versions[done]!, sizes[done]!, now)
              if (state.queued >= batchSize || state.bufferedBytes >= batchBytes) batchMayBeDue.unsafeOpen()
              return next
            }))
        })
        return next
      })

    const writeAll = (spans: Iterable<TraceSpan>) =>
      Effect.suspend(() => {
        const list = Array.isArray(spans) ? (spans as ReadonlyArray<TraceSpan>) : [...spans]
        return Effect.zipRight(checkAll(list), offer(list))
      })
    const checkRecord = validate(TraceEvent, "storage", "TraceWriter.writeTrace")
    /** The trace's own fields by the schema, its spans by the guard, and that each span belongs to it. */
    const checkTrace = (trace: TraceEvent): Effect.Effect<TraceEvent, InvalidInput> => {
      const spans = trace.spans ?? []
      for (let i = 0; i < spans.length; i++) {
        const s = spans[i]
        if (s !== null && typeof s === "object" && (s.traceId !== trace.traceId || s.tenantId !== trace.tenantId)) {
          return Effect.fail(new InvalidInput({
            backend: "storage",
            operation: "TraceWriter.writeTrace",
            path: ["spans", i],
            message: `spans.${i}: every span must carry the trace's traceId and tenantId`
          }))
        }
      }
      return Effect.zipRight(
        Effect.mapError(checkAll(spans), (e) => new InvalidInput({ ...e, operation: "TraceWriter.writeTrace", path: ["spans", ...e.path], message: e.message })),
        checkRecord({ traceId: trace.traceId, tenantId: trace.tenantId, createdAt: trace.createdAt, spans: [] })
      )
    }
    const writeTrace = (trace: TraceEvent) =>
      Effect.flatMap(checkTrace(trace), (record) =>
        // The record is the last entry: accepted only when every span was.
        offer([...trace.spans, new PendingTrace(record)]))

    // `write` is a hot path (the CLI's ingest calls it per line): no generator, no array; the version is stamped here.
    const writeOne = (span: TraceSpan) => acceptOne(span, SpanVersion.next())

    return {
      writeTrace,
      write: (span) =>
        !validating || isTraceSpan(span)
          ? writeOne(span)
          : Effect.flatMap(checkOne(span), writeOne),
      writeAll,
      flush: Effect.suspend(() => {
        const target = state.requestFlush()
        batchMayBeDue.unsafeOpen()
        return Effect.timeoutOption(awaitSettled(target), flushTimeout).pipe(
          Effect.flatMap(Option.match({
            onSome: () => Effect.void,
            onNone: () => {
              const unsettled = target - Math.min(target, state.watermark())
              return Effect.fail(new FlushTimeout({ unsettled, message: `${unsettled} spans not settled within ${Duration.format(flushTimeout)}` }))
            }
          }))
        )
      }),
      stats: Effect.sync((): Stats => {
        const spans = state.accepted - state.tracesAccepted
        return {
          accepted: spans,
          stored: state.stored,
          retried: state.retried,
          deadLettered: state.deadLettered,
          lost: state.lost,
          buffered: spans - state.stored - state.deadLettered - state.lost,
          bufferedBytes: state.heldBytes(),
          tracesAccepted: state.tracesAccepted,
          tracesStored: state.tracesStored,
          tracesDeadLettered: state.tracesDeadLettered,
          tracesLost: state.tracesLost
        }
      })
    }
  })

/**
 * Stores the dead letters of a directory again through the sink (what the writer does when it
 * starts; the CLI's `replay-dead-letters` calls it too). See {@link DeadLetters.replay}.
 */
export const replayDeadLetters = (
  dir: string,
  options: DeadLetters.ReplayOptions = {}
): Effect.Effect<DeadLetters.ReplayResult, StorageError, TraceSink | FileSystem.FileSystem> =>
  Effect.flatMap(TraceSink, (sink) => DeadLetters.replay(dir, sink, options))

const wholeAtLeast = (min: number, fallback: number) =>
  Config.integer().pipe(
    // validate before withDefault, so the error names the variable
    Config.validate({ message: `must be a whole number >= ${min}`, validation: (n) => n >= min }),
    Config.withDefault(fallback)
  )

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  batchSize: wholeAtLeast(1, defaults.batchSize),
  flushInterval: Config.duration().pipe(Config.withDefault(Duration.seconds(1))),
  // Unset: the writer derives it from the batch size.
  capacity: Config.integer().pipe(
    Config.validate({ message: "must be a whole number >= 1", validation: (n) => n >= 1 }),
    Config.option,
    Config.map(Option.getOrUndefined)
  ),
  maxBufferBytes: wholeAtLeast(minBufferBytes, defaults.maxBufferBytes),
  maxRetries: wholeAtLeast(0, defaults.maxRetries),
  retryDelay: Config.duration().pipe(Config.withDefault(Duration.millis(200))),
  // No default: the lite profile derives it from its data directory, the production profile requires it.
  deadLetterPath: Config.string().pipe(Config.option, Config.map(Option.getOrUndefined)),
  replayOnStart: Config.boolean().pipe(Config.withDefault(true)),
  maxLineBytes: wholeAtLeast(1024, Lines.defaultMaxLineBytes),
  concurrency: wholeAtLeast(1, defaults.concurrency),
  validate: Config.boolean().pipe(Config.withDefault(true)),
  flushTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30)))
} satisfies ConfigFields.Fields<Options>

/**
 * The rules between options ({@link problem}), checked on a configuration of the writer: the
 * error names the option under the name the configuration reads it by.
 */
export const checkOptions = (
  config: Config.Config<Options>,
  names: Partial<Record<keyof Options, string>> = {}
): Config.Config<Options> =>
  Config.mapOrFail(config, (o) => {
    const found = problem(o)
    return found === undefined ? Either.right(o) : Either.left(ConfigError.InvalidData([names[found.option] ?? found.option], found.message))
  })

/** The default configuration: each option under its own name (`batchSize`, `capacity`, …), every one optional. */
export const config: Config.Config<Options> = checkOptions(ConfigFields.named(fields))

/** The writer with these options (reads nothing else); dead letters on the FileSystem in context. */
export const layer = (options: Options = {}): Layer.Layer<TraceWriter, InvalidInput, TraceSink | FileSystem.FileSystem> =>
  Layer.scoped(TraceWriter, make(options))

/** The writer from a configuration, e.g. {@link config} or `StorageConfig.writer`. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<TraceWriter, InvalidInput | ConfigError.ConfigError, TraceSink | FileSystem.FileSystem> => Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

export type { TraceSinkShape }
