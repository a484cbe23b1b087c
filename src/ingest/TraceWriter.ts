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
import { TraceEvent, TraceSpan } from "../domain/Trace.js"
import { isTraceSpan } from "../domain/TraceSpanGuard.js"
import * as ConfigFields from "../ConfigFields.js"
import { InvalidInput, type StorageError, validate } from "../StorageError.js"
import { TraceRepository } from "../TraceRepository.js"
import * as DeadLetters from "./DeadLetters.js"

/**
 * Where the writer's batches go: spans that were already validated when they were written.
 * ClickHouseTraceRepository provides one that inserts without validating again;
 * {@link sinkFromRepository} adapts any TraceRepository.
 */
export class TraceSink extends Context.Tag("llmtrace-storage/TraceSink")<TraceSink, {
  readonly storeSpans: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, StorageError>
  /**
   * Stores traces' own records (their createdAt; a trace with no spans exists): what
   * `TraceRepository.storeTrace` stores of a trace without spans, for many traces at once.
   */
  readonly storeTraces: (records: ReadonlyArray<TraceEvent>) => Effect.Effect<void, StorageError>
}>() {}

export const sinkFromRepository: Layer.Layer<TraceSink, never, TraceRepository> = Layer.effect(
  TraceSink,
  Effect.map(TraceRepository, (repo) => ({
    storeSpans: repo.storeSpans,
    // The port has no batch of trace records: one storeTrace each (in-process repositories, cheap).
    storeTraces: (records) => Effect.forEach(records, (r) => repo.storeTrace(r.spans.length === 0 ? r : { ...r, spans: [] }), { discard: true })
  }))
)

/** A trace's own record in the writer's buffer, among its spans (it takes one place of the capacity). */
class PendingTrace {
  constructor(readonly record: TraceEvent) {}
}
type Entry = TraceSpan | PendingTrace

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
  /** Spans appended to the dead-letter file (unavailable after every retry, or refused by the engine). */
  readonly deadLettered: number
  /** Spans neither stored nor dead-lettered: the dead-letter file could not be written either (logged as fatal). */
  readonly lost: number
  /** Spans accepted and not yet settled (buffered or being stored). With the trace records buffered, never more than `capacity`. */
  readonly buffered: number
  /** Trace records taken by `writeTrace`. */
  readonly tracesAccepted: number
  /** Trace records the sink stored. */
  readonly tracesStored: number
  /**
   * Trace records that could not be stored (after the retries, then alone): each logged as fatal
   * with its tenant, id and createdAt. They are not dead-lettered (the file holds spans).
   */
  readonly tracesLost: number
}

export interface TraceWriterShape {
  /** Buffers a span (validated now, so bad input fails here); waits while `capacity` spans are unsettled. */
  readonly write: (span: TraceSpan) => Effect.Effect<void, InvalidInput | WriterClosed>
  /**
   * Buffers spans in order; waits while `capacity` spans are unsettled. Every span is validated
   * before any is accepted: `InvalidInput` (its path starts with the span's index) means none was.
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
   * until every span and trace record accepted before the call has settled: stored, or appended to the dead-letter
   * file. Fails with `FlushTimeout` after `flushTimeout`.
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
  /** Retries of a batch that failed with StorageUnavailable (exponential, jittered; >= 0). Default 5. */
  readonly maxRetries?: number
  /** First retry delay. Default 200 ms. */
  readonly retryDelay?: Duration.DurationInput
  /** Batches that still fail are appended here and replayed when the writer starts. */
  readonly deadLetterPath?: string
  /** Replay the dead-letter file when the writer starts. Default true. */
  readonly replayOnStart?: boolean
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

/** Default dead-letter file. */
export const defaultDeadLetterPath = "./.llmtrace/dead-letters.jsonl"

const defaults = {
  batchSize: 5_000,
  maxRetries: 5,
  concurrency: 2
} as const

const invalidOption = (option: string, message: string) =>
  new InvalidInput({ backend: "storage", operation: "TraceWriter.make", path: [option], message: `${option}: ${message}` })

/** The numeric options, checked: a batch size of 0 or -1 would spin the consumer forever. */
const resolve = (options: Options) =>
  Effect.gen(function*() {
    const batchSize = options.batchSize ?? defaults.batchSize
    const maxRetries = options.maxRetries ?? defaults.maxRetries
    const concurrency = options.concurrency ?? defaults.concurrency
    // Unset, it follows the batch size: the batches being stored and one ready.
    const capacity = options.capacity ?? (concurrency + 1) * batchSize
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) return yield* invalidOption("batchSize", `must be a whole number >= 1, got ${batchSize}`)
    if (!Number.isSafeInteger(capacity) || capacity < 1) return yield* invalidOption("capacity", `must be a whole number >= 1, got ${capacity}`)
    if (capacity < batchSize) return yield* invalidOption("capacity", `must be at least batchSize (${batchSize}), got ${capacity}`)
    if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) return yield* invalidOption("maxRetries", `must be a whole number >= 0, got ${maxRetries}`)
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) return yield* invalidOption("concurrency", `must be a whole number >= 1, got ${concurrency}`)
    return { batchSize, capacity, maxRetries, concurrency }
  })

/**
 * A buffered writer. Batches leave by size, by interval, or on `flush`; transient failures
 * (`StorageUnavailable`) are retried with a `Schedule`; a batch the engine refuses is split until
 * the refused spans are alone (only those are dead-lettered); a batch that is still unavailable
 * after its retries is appended to the dead-letter file (never dropped), each with one log line.
 * A defect while storing (a throwing sink, a row that cannot be converted) is handled the same
 * way, and the writer keeps running. Closing the scope stores everything buffered before it
 * returns (bounded by `flushTimeout`). The dead-letter file is replayed when the writer starts.
 *
 * Memory: at most `capacity` spans are held (buffered plus the `concurrency` batches being
 * stored); a batch is released as soon as it settles.
 */
export const make = (options: Options = {}): Effect.Effect<TraceWriterShape, InvalidInput, TraceSink | Scope.Scope> =>
  Effect.gen(function*() {
    const { batchSize, capacity, concurrency, maxRetries } = yield* resolve(options)
    const sink = yield* TraceSink
    const deadLetterPath = options.deadLetterPath ?? defaultDeadLetterPath
    const intervalMs = Duration.toMillis(Duration.decode(options.flushInterval ?? "1 second"))
    const flushTimeout = Duration.decode(options.flushTimeout ?? "30 seconds")
    const retry = Schedule.exponential(Duration.decode(options.retryDelay ?? "200 millis")).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(maxRetries))
    )

    if (options.replayOnStart ?? true) {
      yield* DeadLetters.replay(deadLetterPath, sink.storeSpans, { batchSize }).pipe(
        Effect.tap((r) => (r.replayed > 0 ? Effect.logInfo(`TraceWriter replayed ${r.replayed} dead-lettered spans`) : Effect.void)),
        Effect.catchAll((e) => Effect.logWarning(`TraceWriter could not replay ${deadLetterPath} yet; it stays for the next start: ${e.message}`))
      )
    }

    // Spans are numbered in acceptance order. `buffer` holds those accepted and not yet taken;
    // `inFlight` holds the batches being stored, by the number of their first span (in order).
    const buffer: Array<Entry> = []
    let accepted = 0
    let taken = 0
    let stored = 0
    let retried = 0
    let deadLettered = 0
    let lost = 0
    let tracesAccepted = 0
    let tracesStored = 0
    let tracesLost = 0
    let flushTo = 0
    let closing = false
    let oldestAt = 0
    const inFlight = new Map<number, ReadonlyArray<Entry>>()
    const queued = () => buffer.length
    /** Every span numbered below this has settled. */
    const watermark = () => {
      for (const start of inFlight.keys()) return start
      return taken
    }

    const room = yield* Effect.makeSemaphore(capacity)
    const slots = yield* Effect.makeSemaphore(concurrency)
    const wake = yield* Effect.makeLatch(false)
    const settled = yield* SubscriptionRef.make(0)
    const fibers = yield* FiberSet.make()

    // Appends of concurrent failing batches must not interleave in the file.
    const appendLock = yield* Effect.makeSemaphore(1)
    const deadLetter = (spans: ReadonlyArray<TraceSpan>, reason: string) =>
      appendLock.withPermits(1)(DeadLetters.append(deadLetterPath, spans, reason)).pipe(
        Effect.zipRight(Effect.sync(() => void (deadLettered += spans.length))),
        Effect.zipRight(Effect.logError(`TraceWriter: ${spans.length} spans dead-lettered to ${deadLetterPath}: ${reason}`)),
        Effect.catchAll((fileError) =>
          Effect.zipRight(
            Effect.sync(() => void (lost += spans.length)),
            Effect.logFatal(`TraceWriter LOST ${spans.length} spans: storing failed (${reason}) and so did the dead-letter file (${fileError.message})`)
          )
        )
      )

    const loseRecords = (records: ReadonlyArray<TraceEvent>, reason: string) =>
      Effect.zipRight(
        Effect.sync(() => void (tracesLost += records.length)),
        Effect.logFatal(
          `TraceWriter LOST ${records.length} trace records (${reason}); store them again with storeTrace: ${
            JSON.stringify(records.map((r) => ({ tenantId: r.tenantId, traceId: r.traceId, createdAt: r.createdAt })))
          }`
        )
      )

    /**
     * Stores a batch's trace records: retried while unavailable; then each alone, so that one the
     * engine refuses does not take the others; what still fails is logged as fatal. Never fails.
     */
    const settleRecords = (records: ReadonlyArray<TraceEvent>) =>
      sink.storeTraces(records).pipe(
        Effect.retry({ schedule: retry, while: (e) => e._tag === "StorageUnavailable" }),
        Effect.zipRight(Effect.sync(() => void (tracesStored += records.length))),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.forEach(records, (r) =>
            sink.storeTraces([r]).pipe(
              Effect.zipRight(Effect.sync(() => void tracesStored++)),
              Effect.catchAllCause((alone) => Cause.isInterruptedOnly(alone) ? Effect.failCause(alone) : loseRecords([r], DeadLetters.describeCause(alone)))
            ), { discard: true })
        )
      )

    /** Stores one batch: retried while unavailable, refused spans isolated, the rest dead-lettered. Never fails. */
    const settle = (start: number, entries: ReadonlyArray<Entry>) => {
      let attempts = 0
      // Trace records are rare among spans: a batch without any is passed on as it is.
      let batch = entries as ReadonlyArray<TraceSpan>
      const records: Array<TraceEvent> = []
      if (entries.some((e) => e instanceof PendingTrace)) {
        const spans: Array<TraceSpan> = []
        for (const e of entries) {
          if (e instanceof PendingTrace) records.push(e.record)
          else spans.push(e)
        }
        batch = spans
      }
      return Effect.suspend(() => {
        attempts++
        return batch.length === 0 ? Effect.succeed([]) : DeadLetters.storeIsolating(sink.storeSpans, batch)
      }).pipe(
        Effect.retry({ schedule: retry, while: (e) => e._tag === "StorageUnavailable" }),
        Effect.matchCauseEffect({
          onFailure: (cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : deadLetter(batch, DeadLetters.describeCause(cause)),
          onSuccess: (refused) => {
            stored += batch.length - refused.length
            return refused.length === 0
              ? Effect.void
              : deadLetter(refused.map((r) => r.span), `refused: ${DeadLetters.summarize(refused)}`)
          }
        }),
        Effect.zipRight(records.length === 0 ? Effect.void : settleRecords(records)),
        Effect.ensuring(Effect.suspend(() => {
          retried += Math.max(0, attempts - 1)
          inFlight.delete(start)
          return Effect.zipRight(
            Effect.zipRight(room.release(entries.length), slots.release(1)),
            SubscriptionRef.set(settled, watermark())
          )
        }))
      )
    }

    const takeBatch = (): ReadonlyArray<Entry> => {
      // Taken spans leave the buffer at once, so a settled batch is held by nothing.
      const batch = buffer.splice(0, Math.min(buffer.length, batchSize))
      taken += batch.length
      oldestAt = Date.now()
      return batch
    }

    const due = () =>
      queued() >= batchSize || (queued() > 0 && (closing || taken < flushTo || Date.now() - oldestAt >= intervalMs))

    const loop = Effect.gen(function*() {
      while (true) {
        yield* wake.close
        if (!due()) {
          if (closing && queued() === 0) return
          if (queued() === 0) yield* wake.await
          else yield* Effect.timeoutOption(wake.await, Math.max(1, intervalMs - (Date.now() - oldestAt)))
          continue
        }
        yield* slots.take(1)
        const start = taken
        const batch = takeBatch()
        inFlight.set(start, batch)
        yield* FiberSet.run(fibers, settle(start, batch))
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
        closing = true
        wake.unsafeOpen()
        const target = accepted
        // Finalizers run uninterruptibly: the waits are made interruptible so their deadlines can fire.
        const done = yield* Effect.timeoutOption(Effect.interruptible(awaitSettled(target)), flushTimeout)
        if (Option.isSome(done)) return
        const unsettled = target - Math.min(target, watermark())
        const entries = [...[...inFlight.values()].flat(), ...buffer]
        const left = entries.filter((e): e is TraceSpan => !(e instanceof PendingTrace))
        const records = entries.flatMap((e) => (e instanceof PendingTrace ? [e.record] : []))
        yield* FiberSet.clear(fibers)
        yield* Effect.logError(
          `TraceWriter: ${unsettled} ${records.length > 0 ? "spans and trace records" : "spans"} still unsettled ${Duration.format(flushTimeout)} after close; dead-lettering ${left.length} buffered and in-flight spans`
        )
        const why = `the writer closed before they were stored (flushTimeout ${Duration.format(flushTimeout)})`
        if (records.length > 0) yield* loseRecords(records, why)
        if (left.length > 0) yield* Effect.timeoutOption(Effect.interruptible(deadLetter(left, why)), flushTimeout)
      })
    )

    const validating = options.validate ?? true
    const checkOne = validate(TraceSpan, "storage", "TraceWriter.write")
    const checkAll = (list: ReadonlyArray<TraceSpan>): Effect.Effect<void, InvalidInput> => {
      if (!validating) return Effect.void
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

    const push = (slice: ReadonlyArray<Entry>) => {
      if (queued() === 0) oldestAt = Date.now()
      for (let i = 0; i < slice.length; i++) {
        const e = slice[i]!
        if (e instanceof PendingTrace) tracesAccepted++
        buffer.push(e)
      }
      accepted += slice.length
      if (queued() >= batchSize) wake.unsafeOpen()
    }
    const closedAfter = (n: number) =>
      new WriterClosed({ accepted: n, message: `the TraceWriter is closing; ${n} spans of this call were accepted, the rest were not` })

    /** Accepts slices of at most batchSize (≤ capacity), each waiting for room, in order. */
    const offer = (list: ReadonlyArray<Entry>) =>
      Effect.gen(function*() {
        let done = 0
        while (done < list.length) {
          if (closing) return yield* closedAfter(done)
          const n = Math.min(batchSize, list.length - done)
          yield* room.take(n)
          if (closing) {
            yield* room.release(n)
            return yield* closedAfter(done)
          }
          push(done === 0 && n === list.length ? list : list.slice(done, done + n))
          done += n
        }
      })

    // `write` is a hot path (the CLI's ingest calls it per line): no generator, no slicing.
    const offerOne = (span: Entry): Effect.Effect<void, WriterClosed> =>
      closing
        ? Effect.fail(closedAfter(0))
        : Effect.flatMap(room.take(1), () =>
          closing ? Effect.zipRight(room.release(1), Effect.fail(closedAfter(0))) : Effect.sync(() => push([span])))

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
      Effect.flatMap(checkTrace(trace), (record) => {
        const entries: Array<Entry> = [...trace.spans, new PendingTrace(record)]
        // The record is the last entry: accepted only when every span was.
        return offer(entries)
      })

    return {
      writeTrace,
      write: (span) =>
        !validating || isTraceSpan(span)
          ? offerOne(span)
          : Effect.flatMap(checkOne(span), offerOne),
      writeAll,
      flush: Effect.suspend(() => {
        const target = accepted
        if (flushTo < target) flushTo = target
        wake.unsafeOpen()
        return Effect.timeoutOption(awaitSettled(target), flushTimeout).pipe(
          Effect.flatMap(Option.match({
            onSome: () => Effect.void,
            onNone: () => {
              const unsettled = target - Math.min(target, watermark())
              return Effect.fail(new FlushTimeout({ unsettled, message: `${unsettled} spans not settled within ${Duration.format(flushTimeout)}` }))
            }
          }))
        )
      }),
      stats: Effect.sync((): Stats => {
        const spans = accepted - tracesAccepted
        return { accepted: spans, stored, retried, deadLettered, lost, buffered: spans - stored - deadLettered - lost, tracesAccepted, tracesStored, tracesLost }
      })
    }
  })

/**
 * Stores the spans of a dead-letter file again through the sink (what the writer does when it
 * starts; a CLI command can call it too). See {@link DeadLetters.replay}.
 */
export const replayDeadLetters = (
  file: string = defaultDeadLetterPath,
  sink?: Context.Tag.Service<TraceSink>,
  batchSize = defaults.batchSize
): Effect.Effect<DeadLetters.ReplayResult, StorageError, TraceSink> =>
  Effect.flatMap(sink === undefined ? TraceSink : Effect.succeed(sink), (s) => DeadLetters.replay(file, s.storeSpans, { batchSize }))

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
  maxRetries: wholeAtLeast(0, defaults.maxRetries),
  retryDelay: Config.duration().pipe(Config.withDefault(Duration.millis(200))),
  deadLetterPath: Config.string().pipe(Config.withDefault(defaultDeadLetterPath)),
  replayOnStart: Config.boolean().pipe(Config.withDefault(true)),
  concurrency: wholeAtLeast(1, defaults.concurrency),
  validate: Config.boolean().pipe(Config.withDefault(true)),
  flushTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30)))
} satisfies ConfigFields.Fields<Options>

/**
 * `capacity >= batchSize`, checked on a configuration of the writer: the error names the
 * capacity under the name the configuration reads it by.
 */
export const checkCapacity = (
  config: Config.Config<Options>,
  names: { readonly capacity: string; readonly batchSize: string } = { capacity: "capacity", batchSize: "batchSize" }
): Config.Config<Options> =>
  Config.mapOrFail(config, (o) =>
    o.capacity !== undefined && o.batchSize !== undefined && o.capacity < o.batchSize
      ? Either.left(ConfigError.InvalidData([names.capacity], `must be at least ${names.batchSize} (${o.batchSize}), got ${o.capacity}`))
      : Either.right(o))

/** The default configuration: each option under its own name (`batchSize`, `capacity`, …), every one optional. */
export const config: Config.Config<Options> = checkCapacity(ConfigFields.named(fields))

/** The writer with these options (reads nothing else). */
export const layer = (options: Options = {}): Layer.Layer<TraceWriter, InvalidInput, TraceSink> => Layer.scoped(TraceWriter, make(options))

/** The writer from a configuration, e.g. {@link config} or `StorageConfig.writer` (the `LLMTRACE_TRACE_WRITER_*` variables). */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<TraceWriter, InvalidInput | ConfigError.ConfigError, TraceSink> => Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
