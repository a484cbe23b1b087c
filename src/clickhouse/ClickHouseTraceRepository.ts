import * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { InvalidInput, type StorageError } from "../StorageError.js"
import { withTimeout } from "../internal/Timeout.js"
import * as TraceRepository from "../TraceRepository.js"
import { type CallOptions, ClickHouseClient, type ClickHouseClientShape } from "./ClickHouseClient.js"
import * as ClickHouseMigrations from "../internal/clickhouse/ClickHouseMigrations.js"
import * as ConfigFields from "../internal/ConfigFields.js"
import { TraceSink, type TraceSinkShape } from "../TraceSink.js"
import * as SpanQueries from "../internal/clickhouse/SpanQueries.js"
import * as TraceQueries from "../internal/clickhouse/TraceQueries.js"

export interface Options {
  /** Upper bound of every repository call (deleteTracesBefore: of each round of its purge). Default 30 seconds. */
  readonly timeout?: Duration.DurationInput
  /** Run pending migrations when the layer is built (else refuse an outdated schema). Default true. */
  readonly autoMigrate?: boolean
  /** Do not look at the schema at all (tools that only write, e.g. against an engine that is down). */
  readonly skipSchemaCheck?: boolean
  readonly retentionDays?: number | undefined
  readonly cluster?: string | undefined
  /**
   * Traces per round of deleteTracesBefore (>= 1): each round reads at most this many trace ids and
   * deletes them, within its own time bound. Default 10,000.
   */
  readonly deleteChunk?: number
}

/**
 * The TraceRepository on ClickHouse (a server or the embedded engine, same SQL). See
 * ClickHouseMigrations for the schema, SpanQueries and TraceQueries for the queries: a span's
 * identity is (tenant, span id) and reads take its newest stored copy, so a re-store is visible at
 * once, before merges, also when it moved the span to another trace.
 */
export const make = (options: Options = {}): Effect.Effect<TraceRepository.TraceRepositoryShape, StorageError, ClickHouseClient> =>
  Effect.flatMap(ClickHouseClient, (ch) => Effect.map(makeWithSink(ch, options), (parts) => parts.repository))

/**
 * The repository and a {@link TraceSink} over the same tables: the sink inserts spans the
 * TraceWriter already validated, without validating them a second time (it is the ingest hot path).
 */
export const makeWithSink = (
  ch: ClickHouseClientShape,
  options: Options = {}
): Effect.Effect<{ readonly repository: TraceRepository.TraceRepositoryShape; readonly sink: TraceSinkShape }, StorageError> =>
  Effect.gen(function*() {
    const deleteChunk = options.deleteChunk ?? TraceQueries.deleteChunk
    if (!Number.isSafeInteger(deleteChunk) || deleteChunk < 1) {
      return yield* new InvalidInput({
        backend: "clickhouse",
        operation: "ClickHouseTraceRepository.make",
        path: ["deleteChunk"],
        message: `deleteChunk: must be a whole number >= 1, got ${deleteChunk}`
      })
    }
    if (options.skipSchemaCheck !== true) {
      yield* ClickHouseMigrations.ensure(ch, {
        database: ch.database,
        cluster: options.cluster,
        retentionDays: options.retentionDays,
        autoMigrate: options.autoMigrate ?? true
      })
    }
    const timeout = Duration.decode(options.timeout ?? "30 seconds")
    // Each method is bounded here rather than by TraceRepository.make, so that deleteTracesBefore
    // bounds each round of its purge instead of the whole purge.
    const bound = (operation: string) => <A>(self: Effect.Effect<A, StorageError>) =>
      withTimeout(self, { backend: "clickhouse", operation, timeout })
    // A read is only queries: they share the call's bound, each given what is left of it (the
    // client's own timer), instead of an Effect timeout around the call, which forks two fibers
    // (~0.2 ms a call, a sizeable part of a query on a small table: bench/clickhouse.ts).
    const timeoutMs = Duration.toMillis(timeout)
    const read = <A>(f: (ch: ClickHouseClientShape) => Effect.Effect<A, StorageError>) =>
      Effect.suspend(() => {
        const deadline = Date.now() + timeoutMs
        const left = (): CallOptions => ({ timeout: Duration.millis(Math.max(0, deadline - Date.now())) })
        return f({
          ...ch,
          query: (operation, sql, params) => ch.query(operation, sql, params, left()),
          command: (operation, sql, params) => ch.command(operation, sql, params, left())
        })
      })
    const sink: TraceSinkShape = {
      // Not Effect.fn: its per-call Error and retained closure kept each whole batch reachable.
      storeSpans: (list, versions) =>
        bound("TraceWriter.flush")(SpanQueries.insertSpans(ch, "TraceWriter.flush", list, versions)).pipe(
          Effect.withSpan("TraceWriter.flush", { attributes: { "storage.backend": "clickhouse" } })
        ),
      storeTraces: (records) =>
        bound("TraceWriter.flush")(TraceQueries.storeTraceRecords(ch, "TraceWriter.flush", records)).pipe(
          Effect.withSpan("TraceWriter.flush", { attributes: { "storage.backend": "clickhouse", "storage.traces": records.length } })
        )
    }
    const repository = TraceRepository.make("clickhouse", {
      storeTrace: (trace) => bound("TraceRepository.storeTrace")(TraceQueries.storeTrace(ch, trace)),
      storeSpan: (span) => bound("TraceRepository.storeSpan")(SpanQueries.insertSpans(ch, "TraceRepository.storeSpan", [span])),
      storeSpans: (list) => bound("TraceRepository.storeSpans")(SpanQueries.insertSpans(ch, "TraceRepository.storeSpans", list)),
      queryTraces: (q) => read((ch) => TraceQueries.queryTraces(ch, q)),
      querySpans: (q) => read((ch) => SpanQueries.querySpans(ch, q)),
      getTrace: (tenantId, traceId) => read((ch) => TraceQueries.getTrace(ch, tenantId, traceId)),
      getSpan: (tenantId, spanId) => read((ch) => SpanQueries.getSpan(ch, tenantId, spanId)),
      deleteTracesBefore: (tenantId, before) =>
        TraceQueries.deleteTracesBefore(ch, tenantId, before, bound("TraceRepository.deleteTracesBefore"), deleteChunk),
      getStats: (tenantId) => read((ch) => TraceQueries.stats(ch, "TraceRepository.getStats", tenantId)),
      getGlobalStats: () => read((ch) => TraceQueries.stats(ch, "TraceRepository.getGlobalStats", undefined)),
      healthCheck: () => read((ch) => Effect.asVoid(ch.query("TraceRepository.healthCheck", "SELECT 1 AS ok")))
    }, { backendBoundsCalls: true })
    return { repository, sink }
  })

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  timeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30))),
  autoMigrate: Config.boolean().pipe(Config.withDefault(true)),
  skipSchemaCheck: Config.boolean().pipe(Config.withDefault(false)),
  // Empty means unset, so `.env.example` can list the variable without a value.
  retentionDays: Config.string().pipe(
    // validate before withDefault, so an error names the variable
    Config.validate({
      message: "must be a positive whole number of days, or empty",
      validation: (s) => s.trim() === "" || /^[1-9][0-9]*$/.test(s.trim())
    }),
    Config.withDefault(""),
    Config.map((s) => (s.trim() === "" ? undefined : Number(s.trim())))
  ),
  cluster: Config.string().pipe(
    Config.withDefault(""),
    Config.map((s) => (s.trim() === "" ? undefined : s.trim()))
  ),
  deleteChunk: Config.integer().pipe(
    Config.validate({ message: "must be a whole number >= 1", validation: (n) => n >= 1 }),
    Config.withDefault(TraceQueries.deleteChunk)
  )
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`timeout`, `retentionDays`, …), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

const toContext = (parts: Effect.Effect.Success<ReturnType<typeof makeWithSink>>) =>
  Context.make(TraceRepository.TraceRepository, parts.repository).pipe(Context.add(TraceSink, parts.sink))

/** The repository (and the TraceWriter's sink) over the {@link ClickHouseClient} in context, from explicit options. */
export const layer = (
  options: Options = {}
): Layer.Layer<TraceRepository.TraceRepository | TraceSink, StorageError, ClickHouseClient> =>
  Layer.effectContext(Effect.map(Effect.flatMap(ClickHouseClient, (ch) => makeWithSink(ch, options)), toContext))

/** The repository (and the TraceWriter's sink) from a configuration, e.g. {@link config} or `StorageConfig.traces`. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<TraceRepository.TraceRepository | TraceSink, StorageError | ConfigError.ConfigError, ClickHouseClient> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
