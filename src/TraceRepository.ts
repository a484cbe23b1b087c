import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { SpanId, TenantId, TraceId } from "./domain/Ids.js"
import { Timestamp } from "./domain/Primitives.js"
import { TraceQuery, type StorageStats } from "./domain/Query.js"
import { TraceEvent, TraceSpan } from "./domain/Trace.js"
import { type Backend, type StorageError, validate } from "./StorageError.js"
import { withTimeout } from "./Timeout.js"

/**
 * Traces and spans of LLM calls. Every call is scoped to one tenant (getGlobalStats aside); storing
 * the same trace or span again is idempotent (a re-stored span replaces the earlier copy); results
 * are newest first.
 */
export interface TraceRepositoryShape {
  readonly storeTrace: (trace: TraceEvent) => Effect.Effect<void, StorageError>
  readonly storeSpan: (span: TraceSpan) => Effect.Effect<void, StorageError>
  readonly storeSpans: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, StorageError>
  /** Traces (with all their spans) that have a span matching every filter, newest createdAt first. */
  readonly queryTraces: (query: TraceQuery) => Effect.Effect<ReadonlyArray<TraceEvent>, StorageError>
  /** Spans matching every filter, newest startTime first. */
  readonly querySpans: (query: TraceQuery) => Effect.Effect<ReadonlyArray<TraceSpan>, StorageError>
  readonly getTrace: (tenantId: TenantId, traceId: TraceId) => Effect.Effect<Option.Option<TraceEvent>, StorageError>
  readonly getSpan: (tenantId: TenantId, spanId: SpanId) => Effect.Effect<Option.Option<TraceSpan>, StorageError>
  /** Removes the tenant's traces created before `before`, with all their spans; returns how many traces went. */
  readonly deleteTracesBefore: (tenantId: TenantId, before: Date) => Effect.Effect<number, StorageError>
  readonly getStats: (tenantId: TenantId) => Effect.Effect<StorageStats, StorageError>
  readonly getGlobalStats: () => Effect.Effect<StorageStats, StorageError>
  readonly healthCheck: () => Effect.Effect<void, StorageError>
}

export class TraceRepository extends Context.Tag("llmtrace-storage/TraceRepository")<
  TraceRepository,
  TraceRepositoryShape
>() {}

export interface MakeOptions {
  /** Upper bound of every call; default 30 seconds. */
  readonly timeout?: Duration.DurationInput
  /**
   * The backend bounds every call itself (driver-level timeouts, or no I/O at all), so `make` adds
   * no timer: an Effect timer per call forks fibers, which costs more than a fast query. Default false.
   */
  readonly backendBoundsCalls?: boolean
}

/**
 * Wraps a backend's implementation into the service every caller sees: inputs are validated at the
 * boundary (bad input is an `InvalidInput` with the field's path, the same on every backend), each
 * operation is a traced span named `TraceRepository.<method>`, and each call is bounded by a timeout.
 */
export const make = (backend: Backend, impl: TraceRepositoryShape, options: MakeOptions = {}): TraceRepositoryShape => {
  const timeout = Duration.decode(options.timeout ?? "30 seconds")
  const check = <A, I>(schema: Schema.Schema<A, I>, method: keyof TraceRepositoryShape) =>
    validate(schema, backend, `TraceRepository.${method}`)
  const bounded = (method: keyof TraceRepositoryShape) => <A>(self: Effect.Effect<A, StorageError>) =>
    options.backendBoundsCalls === true ? self : withTimeout(self, { backend, operation: `TraceRepository.${method}`, timeout })
  // No call-site stack per span: capturing it costs more than many queries take.
  const span = { attributes: { "storage.backend": backend }, captureStackTrace: false }

  const trace = check(TraceEvent, "storeTrace")
  const span1 = check(TraceSpan, "storeSpan")
  const spans = check(Schema.Array(TraceSpan), "storeSpans")
  const traceQuery = check(TraceQuery, "queryTraces")
  const spanQuery = check(TraceQuery, "querySpans")
  const traceKey = check(Schema.Tuple(TenantId, TraceId), "getTrace")
  const spanKey = check(Schema.Tuple(TenantId, SpanId), "getSpan")
  const cutoff = check(Schema.Tuple(TenantId, Timestamp), "deleteTracesBefore")
  const tenant = check(TenantId, "getStats")

  return {
    storeTrace: Effect.fn("TraceRepository.storeTrace", span)(function*(input) {
      return yield* impl.storeTrace(yield* trace(input))
    }, bounded("storeTrace")),
    storeSpan: Effect.fn("TraceRepository.storeSpan", span)(function*(input) {
      return yield* impl.storeSpan(yield* span1(input))
    }, bounded("storeSpan")),
    storeSpans: Effect.fn("TraceRepository.storeSpans", span)(function*(input) {
      const valid = yield* spans(input)
      if (valid.length > 0) yield* impl.storeSpans(valid)
    }, bounded("storeSpans")),
    queryTraces: Effect.fn("TraceRepository.queryTraces", span)(function*(input) {
      return yield* impl.queryTraces(yield* traceQuery(input))
    }, bounded("queryTraces")),
    querySpans: Effect.fn("TraceRepository.querySpans", span)(function*(input) {
      return yield* impl.querySpans(yield* spanQuery(input))
    }, bounded("querySpans")),
    getTrace: Effect.fn("TraceRepository.getTrace", span)(function*(tenantId, traceId) {
      return yield* impl.getTrace(...(yield* traceKey([tenantId, traceId])))
    }, bounded("getTrace")),
    getSpan: Effect.fn("TraceRepository.getSpan", span)(function*(tenantId, spanId) {
      return yield* impl.getSpan(...(yield* spanKey([tenantId, spanId])))
    }, bounded("getSpan")),
    deleteTracesBefore: Effect.fn("TraceRepository.deleteTracesBefore", span)(function*(tenantId, before) {
      return yield* impl.deleteTracesBefore(...(yield* cutoff([tenantId, before])))
    }, bounded("deleteTracesBefore")),
    getStats: Effect.fn("TraceRepository.getStats", span)(function*(tenantId) {
      return yield* impl.getStats(yield* tenant(tenantId))
    }, bounded("getStats")),
    getGlobalStats: Effect.fn("TraceRepository.getGlobalStats", span)(function*() {
      return yield* impl.getGlobalStats()
    }, bounded("getGlobalStats")),
    healthCheck: Effect.fn("TraceRepository.healthCheck", span)(function*() {
      return yield* impl.healthCheck()
    }, bounded("healthCheck"))
  }
}
