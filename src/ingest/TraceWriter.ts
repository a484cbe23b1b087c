import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { TraceSpan } from "../domain/Trace.js"
import { InvalidInput, type StorageError, StorageUnavailable, validate } from "../StorageError.js"
import { TraceRepository } from "../TraceRepository.js"
import * as DeadLetters from "./DeadLetters.js"

/**
 * Where the writer's batches go: spans that were already validated when they were written.
 * ClickHouseTraceRepository provides one that inserts without validating again;
 * {@link sinkFromRepository} adapts any TraceRepository.
 */
export class TraceSink extends Context.Tag("llmtrace-storage/TraceSink")<TraceSink, {
  readonly storeSpans: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, StorageError>
}>() {}

export const sinkFromRepository: Layer.Layer<TraceSink, never, TraceRepository> = Layer.effect(
  TraceSink,
  Effect.map(TraceRepository, (repo) => ({ storeSpans: repo.storeSpans }))
)

export interface TraceWriterShape {
  /** Buffers a span (validated now, so bad input fails here); waits while the buffer is full. */
  readonly write: (span: TraceSpan) => Effect.Effect<void, InvalidInput | StorageUnavailable>
  /** Buffers spans in order; waits while the buffer is full. */
  readonly writeAll: (spans: Iterable<TraceSpan>) => Effect.Effect<void, InvalidInput | StorageUnavailable>
  /**
   * Waits until every span accepted before the call has settled: stored, or (after its retries)
   * appended to the dead-letter file. A partial batch leaves after the flush interval.
   */
  readonly flush: Effect.Effect<void>
}

export class TraceWriter extends Context.Tag("llmtrace-storage/TraceWriter")<TraceWriter, TraceWriterShape>() {}

export interface Options {
  /** Spans per insert. Default 10,000 (ClickHouse wants few large inserts). */
  readonly batchSize?: number
  /** A partial batch is flushed after this long. Default 1 second. */
  readonly flushInterval?: Duration.DurationInput
  /** Spans buffered before `write` waits (back-pressure). Default 100,000. */
  readonly capacity?: number
  /** Retries of a batch that failed with StorageUnavailable (exponential, jittered). Default 5. */
  readonly maxRetries?: number
  /** First retry delay. Default 200 ms. */
  readonly retryDelay?: Duration.DurationInput
  /** Batches that still fail are appended here and replayed when the writer starts. */
  readonly deadLetterPath?: string
  /** Replay the dead-letter file when the writer starts. Default true. */
  readonly replayOnStart?: boolean
  /** Inserts running at once: JS prepares the next batch while the engine writes one. Default 2. */
  readonly concurrency?: number
  /**
   * Validate each span against the TraceSpan schema when it is written (default true). Turn off only
   * when every span comes from `TraceSpan.make` or a schema decode, which validated it already:
   * validation is the writer's largest CPU cost (~15 µs a span).
   */
  readonly validate?: boolean
}

/** Default dead-letter file. */
export const defaultDeadLetterPath = "./.llmtrace/dead-letters.jsonl"

const closed = new StorageUnavailable({ backend: "clickhouse", operation: "TraceWriter.write", message: "the TraceWriter is closed" })

/**
 * A buffered writer. Batches leave by size or interval, transient failures are retried with a
 * `Schedule`, a batch that still fails is appended to the dead-letter file (never dropped), and
 * closing the scope flushes everything buffered before it returns. The dead-letter file is
 * replayed when the writer starts.
 */
export const make = (options: Options = {}): Effect.Effect<TraceWriterShape, never, TraceSink | Scope.Scope> =>
  Effect.gen(function*() {
    const sink = yield* TraceSink
    const batchSize = options.batchSize ?? 10_000
    const deadLetterPath = options.deadLetterPath ?? defaultDeadLetterPath
    const retry = Schedule.exponential(Duration.decode(options.retryDelay ?? "200 millis")).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(options.maxRetries ?? 5))
    )

    if (options.replayOnStart ?? true) yield* replayDeadLetters(deadLetterPath, sink, batchSize).pipe(
      Effect.tap((r) => (r.replayed > 0 ? Effect.logInfo(`TraceWriter replayed ${r.replayed} dead-lettered spans`) : Effect.void)),
      Effect.catchAll((e) => Effect.logWarning(`TraceWriter could not replay ${deadLetterPath} yet; it stays for the next start: ${e.message}`))
    )

    // Appends of concurrent failing batches must not interleave in the file.
    const appendLock = yield* Effect.makeSemaphore(1)
    const flush = (batch: Chunk.Chunk<TraceSpan>) => {
      const spans = Chunk.toReadonlyArray(batch)
      return sink.storeSpans(spans).pipe(
        Effect.retry({ schedule: retry, while: (e) => e._tag === "StorageUnavailable" }),
        Effect.catchAll((error) =>
          appendLock.withPermits(1)(DeadLetters.append(deadLetterPath, spans)).pipe(
            Effect.zipRight(Effect.logError(`TraceWriter: ${spans.length} spans dead-lettered to ${deadLetterPath}: ${error.message}`)),
            Effect.catchAll((fileError) =>
              Effect.logFatal(`TraceWriter LOST ${spans.length} spans: storing failed (${error.message}) and so did the dead-letter file (${fileError.message})`)
            )
          )
        )
      )
    }

    const mailbox = yield* Mailbox.make<TraceSpan>({ capacity: options.capacity ?? 100_000 })
    // Spans accepted, and spans settled (stored or dead-lettered) in acceptance order: mapEffect
    // emits in order even when batches run concurrently, so `settled` is a low watermark.
    let accepted = 0
    const settled = yield* SubscriptionRef.make(0)
    const consumer = yield* Mailbox.toStream(mailbox).pipe(
      Stream.groupedWithin(batchSize, Duration.decode(options.flushInterval ?? "1 second")),
      Stream.mapEffect((batch) => Effect.as(flush(batch), batch.length), { concurrency: options.concurrency ?? 2 }),
      Stream.runForEach((n) => SubscriptionRef.update(settled, (total) => total + n)),
      Effect.forkScoped
    )
    // Added after forkScoped, so it runs first on close: stop taking spans, then drain what is buffered.
    yield* Effect.addFinalizer(() => Effect.zipRight(mailbox.end, consumer.await))

    const validating = options.validate ?? true
    const checkOne = validate(TraceSpan, "clickhouse", "TraceWriter.write")
    const checkMany = validate(Schema.Array(TraceSpan), "clickhouse", "TraceWriter.writeAll")
    const offer = (span: TraceSpan) =>
      Effect.flatMap(mailbox.offer(span), (ok) => (ok ? Effect.sync(() => void accepted++) : Effect.fail(closed)))
    // offerAll waits for room (back-pressure) and returns what it could not add only once the mailbox ended.
    const offerAll = (spans: ReadonlyArray<TraceSpan>) =>
      Effect.flatMap(mailbox.offerAll(spans), (rest) =>
        Chunk.isEmpty(rest) ? Effect.sync(() => void (accepted += spans.length)) : Effect.fail(closed))
    return {
      write: (span) => (validating ? Effect.flatMap(checkOne(span), offer) : offer(span)),
      writeAll: (spans) =>
        Effect.suspend(() => {
          // Whole slices at a time: one validation call and one offer per slice, not per span.
          const list = Array.isArray(spans) ? (spans as ReadonlyArray<TraceSpan>) : [...spans]
          const slices = Math.ceil(list.length / batchSize)
          return Effect.forEach(Array.from({ length: slices }, (_, i) => i * batchSize), (from) => {
            const slice = list.slice(from, from + batchSize)
            return validating
              ? Effect.flatMap(
                checkMany(slice).pipe(Effect.mapError((e) => (typeof e.path[0] === "number" ? new InvalidInput({ ...e, path: [from + e.path[0], ...e.path.slice(1)] }) : e))),
                offerAll
              )
              : offerAll(slice)
          }, { discard: true })
        }),
      flush: Effect.suspend(() => {
        const target = accepted
        return settled.changes.pipe(Stream.takeUntil((n) => n >= target), Stream.runDrain)
      })
    }
  })

/**
 * Stores the spans of a dead-letter file again through the sink (what the writer does when it
 * starts; a CLI command can call it too). Returns how many were replayed.
 */
export const replayDeadLetters = (
  file: string = defaultDeadLetterPath,
  sink?: Context.Tag.Service<TraceSink>,
  batchSize = 10_000
): Effect.Effect<DeadLetters.ReplayResult, StorageError, TraceSink> =>
  Effect.flatMap(sink === undefined ? TraceSink : Effect.succeed(sink), (s) => DeadLetters.replay(file, s.storeSpans, { batchSize }))

/** Writer options from the environment (see `.env.example`). */
export const config: Config.Config<Options> = Config.all({
  batchSize: Config.integer("LLMTRACE_TRACE_WRITER_BATCH_SIZE").pipe(Config.withDefault(10_000)),
  flushInterval: Config.duration("LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
  capacity: Config.integer("LLMTRACE_TRACE_WRITER_CAPACITY").pipe(Config.withDefault(100_000)),
  maxRetries: Config.integer("LLMTRACE_TRACE_WRITER_MAX_RETRIES").pipe(Config.withDefault(5)),
  deadLetterPath: Config.string("LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH").pipe(Config.withDefault(defaultDeadLetterPath)),
  replayOnStart: Config.boolean("LLMTRACE_TRACE_WRITER_REPLAY_ON_START").pipe(Config.withDefault(true)),
  validate: Config.boolean("LLMTRACE_TRACE_WRITER_VALIDATE").pipe(Config.withDefault(true))
})

export const layerWith = (options: Options = {}): Layer.Layer<TraceWriter, never, TraceSink> => Layer.scoped(TraceWriter, make(options))

/** The writer configured from the environment. */
export const layer: Layer.Layer<TraceWriter, ConfigError.ConfigError, TraceSink> = Layer.scoped(
  TraceWriter,
  Effect.flatMap(config, make)
)
