import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { TraceEvent, TraceSpan } from "./domain/Trace.js"
import type { SpanVersion } from "./domain/SpanVersion.js"
import type { StorageError } from "./StorageError.js"

/**
 * Where the TraceWriter's batches go: spans that were validated when they were written, each with
 * the version stamped then (`versions[i]` is the version of `spans[i]`; the engine keeps the copy
 * with the highest version, so a retried or replayed older copy never wins over a newer one).
 * Each trace engine provides one beside its TraceRepository (ClickHouseTraceRepository,
 * MemoryTraceRepository).
 */
export class TraceSink extends Context.Tag("llmtrace-storage/TraceSink")<TraceSink, {
  readonly storeSpans: (spans: ReadonlyArray<TraceSpan>, versions: ReadonlyArray<SpanVersion>) => Effect.Effect<void, StorageError>
  /**
   * Stores traces' own records (their createdAt; a trace with no spans exists): what
   * `TraceRepository.storeTrace` stores of a trace without spans, for many traces at once.
   */
  readonly storeTraces: (records: ReadonlyArray<TraceEvent>) => Effect.Effect<void, StorageError>
}>() {}

export type TraceSinkShape = Context.Tag.Service<TraceSink>
