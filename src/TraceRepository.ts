import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { SpanId, TenantId, TraceId } from "./domain/Ids.js"
import { Timestamp } from "./domain/Primitives.js"
import { TraceQuery, type StorageStats } from "./domain/Query.js"
import { TraceEvent, TraceSpan } from "./domain/Trace.js"
import { isTraceSpan } from "./domain/TraceSpanGuard.js"
import * as ServiceBoundary from "./internal/ServiceBoundary.js"
import type { Backend, StorageError } from "./StorageError.js"

/**
 * Traces and spans of LLM calls. Every call is scoped to one tenant (getGlobalStats aside); storing
 * the same trace or span again is idempotent (a re-stored span replaces the earlier copy); results
 * are newest first.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Option from "effect/Option"
 * import { newTenantId, newTraceId, TraceQuery, TraceRepository, TraceSpan } from "llmtrace-storage"
 * import { MemoryTraceRepository } from "llmtrace-storage/memory"
 *
 * const program = Effect.gen(function*() {
 *   const traces = yield* TraceRepository.TraceRepository
 *   const tenantId = newTenantId()
 *   const span = TraceSpan.make({ traceId: newTraceId(), tenantId, operationName: "chat_completion", provider: "Anthropic", modelName: "claude-sonnet-4", prompt: "Hello" })
 *   yield* traces.storeSpan(span)
 *   const found = yield* traces.getSpan(tenantId, span.spanId)
 *   const anthropic = yield* traces.querySpans(TraceQuery.make({ tenantId, provider: "Anthropic" }))
 *   // Every call is scoped to a tenant: another one sees nothing.
 *   const otherTenant = yield* traces.querySpans(TraceQuery.make({ tenantId: newTenantId() }))
 *   return { found, anthropic, otherTenant }
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(MemoryTraceRepository.layer()))).then(({ found, anthropic, otherTenant }) => {
 *   assert.strictEqual(Option.isSome(found), true)
 *   assert.strictEqual(anthropic.length, 1)
 *   assert.strictEqual(otherTenant.length, 0)
 * })
 * ```
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

/**
 * The trace store ({@link TraceRepositoryShape}), one per engine: `ClickHouseTraceRepository` (embedded or server) and
 * `MemoryTraceRepository`, held to one contract (`llmtrace-storage/testing/vitest`). Bulk ingestion goes through the
 * `TraceWriter`; the repository stores directly and answers the queries.
 */
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
  /**
   * A fast recogniser of a valid span (never true for one the schema refuses), for `storeSpan` and
   * each element of `storeSpans`; the schema still reports what is wrong.
   * Default {@link isTraceSpan}, the hand-written guard.
   */
  readonly spanGuard?: (input: unknown) => boolean
}

/**
 * Wraps a backend's implementation into the service every caller sees ({@link ServiceBoundary}):
 * inputs are validated at the boundary (bad input is an `InvalidInput` with the field's path, the same
 * on every backend), each operation is a span named `TraceRepository.<method>` when the application
 * installed a tracer, and each call is bounded by a timeout unless the backend bounds it.
 */
export const make = (backend: Backend, impl: TraceRepositoryShape, options: MakeOptions = {}): TraceRepositoryShape => {
  const boundary = ServiceBoundary.make({
    backend,
    service: "TraceRepository",
    timeout: options.backendBoundsCalls === true ? undefined : Duration.decode(options.timeout ?? "30 seconds")
  })
  const check = <A, I>(schema: Schema.Schema<A, I>, method: keyof TraceRepositoryShape, guard?: (input: unknown) => boolean) =>
    ServiceBoundary.check(schema, backend, boundary.name(method), guard)

  const spanGuard = options.spanGuard ?? isTraceSpan
  const storeTrace = boundary.operation("storeTrace", check(TraceEvent, "storeTrace"), impl.storeTrace)
  const storeSpan = boundary.operation("storeSpan", check(TraceSpan, "storeSpan", spanGuard), impl.storeSpan)
  const storeSpans = boundary.operation(
    "storeSpans",
    ServiceBoundary.checkArray(TraceSpan, backend, boundary.name("storeSpans"), spanGuard),
    (spans: ReadonlyArray<TraceSpan>) => (spans.length > 0 ? impl.storeSpans(spans) : Effect.void)
  )
  const queryTraces = boundary.operation("queryTraces", check(TraceQuery, "queryTraces"), impl.queryTraces)
  const querySpans = boundary.operation("querySpans", check(TraceQuery, "querySpans"), impl.querySpans)
  const getTrace = boundary.operation(
    "getTrace",
    check(Schema.Tuple(TenantId, TraceId), "getTrace"),
    ([tenantId, traceId]: readonly [TenantId, TraceId]) => impl.getTrace(tenantId, traceId)
  )
  const getSpan = boundary.operation(
    "getSpan",
    check(Schema.Tuple(TenantId, SpanId), "getSpan"),
    ([tenantId, spanId]: readonly [TenantId, SpanId]) => impl.getSpan(tenantId, spanId)
  )
  const deleteTracesBefore = boundary.operation(
    "deleteTracesBefore",
    check(Schema.Tuple(TenantId, Timestamp), "deleteTracesBefore"),
    ([tenantId, before]: readonly [TenantId, Date]) => impl.deleteTracesBefore(tenantId, before)
  )
  const getStats = boundary.operation("getStats", check(TenantId, "getStats"), impl.getStats)
  const getGlobalStats = boundary.operation("getGlobalStats", undefined, impl.getGlobalStats)
  const healthCheck = boundary.operation("healthCheck", undefined, impl.healthCheck)

  return {
    storeTrace,
    storeSpan,
    storeSpans,
    queryTraces,
    querySpans,
    getTrace: (tenantId, traceId) => getTrace([tenantId, traceId]),
    getSpan: (tenantId, spanId) => getSpan([tenantId, spanId]),
    deleteTracesBefore: (tenantId, before) => deleteTracesBefore([tenantId, before]),
    getStats,
    getGlobalStats: () => getGlobalStats(undefined),
    healthCheck: () => healthCheck(undefined)
  }
}
