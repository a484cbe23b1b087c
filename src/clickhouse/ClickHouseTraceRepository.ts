import * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { TenantId, TraceId } from "../domain/Ids.js"
import type { StorageStats, TraceQuery } from "../domain/Query.js"
import type { TraceEvent, TraceSpan } from "../domain/Trace.js"
import type { StorageError } from "../StorageError.js"
import { withTimeout } from "../Timeout.js"
import * as TraceRepository from "../TraceRepository.js"
import { ClickHouseClient, type ClickHouseClientShape, type Params } from "./ClickHouseClient.js"
import * as ClickHouseMigrations from "./ClickHouseMigrations.js"
import * as ConfigFields from "../ConfigFields.js"
import { TraceSink } from "../ingest/TraceWriter.js"
import { columns, fromDateTime64, fromRow, nextVersion, type SpanRow, toDateTime64, toRow } from "./SpanRows.js"

export interface Options {
  /** Upper bound of every call. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput
  /** Run pending migrations when the layer is built (else refuse an outdated schema). Default true. */
  readonly autoMigrate?: boolean
  /** Do not look at the schema at all (tools that only write, e.g. against an engine that is down). */
  readonly skipSchemaCheck?: boolean
  readonly retentionDays?: number | undefined
  readonly cluster?: string | undefined
}

/** Span filters of a query as SQL over a span row, with their parameters. `1` when there are none. */
const spanFilters = (q: TraceQuery, params: Params): string => {
  const where: Array<string> = []
  if (q.provider !== undefined) {
    params.provider = q.provider
    where.push("provider = {provider:String}")
  }
  if (q.modelName !== undefined) {
    params.model = q.modelName
    where.push("model_name = {model:String}")
  }
  if (q.operationName !== undefined) {
    params.operation = q.operationName
    where.push("operation_name = {operation:String}")
  }
  // A NULL score compares to NULL, which WHERE treats as false: unscored spans match no score filter.
  if (q.minSecurityScore !== undefined) {
    params.minScore = q.minSecurityScore
    where.push("security_score >= {minScore:UInt8}")
  }
  if (q.maxSecurityScore !== undefined) {
    params.maxScore = q.maxSecurityScore
    where.push("security_score <= {maxScore:UInt8}")
  }
  Object.entries(q.tags).forEach(([key, value], i) => {
    params[`tagKey${i}`] = key
    params[`tagValue${i}`] = value
    where.push(`mapContains(tags, {tagKey${i}:String}) AND tags[{tagKey${i}:String}] = {tagValue${i}:String}`)
  })
  return where.length === 0 ? "1" : where.join(" AND ")
}

/** Inclusive time range over a DateTime64 column. */
const timeRange = (column: string, q: TraceQuery, params: Params): string => {
  const where: Array<string> = []
  if (q.startTime !== undefined) {
    params.from = toDateTime64(q.startTime)
    where.push(`${column} >= {from:DateTime64(3, 'UTC')}`)
  }
  if (q.endTime !== undefined) {
    params.to = toDateTime64(q.endTime)
    where.push(`${column} <= {to:DateTime64(3, 'UTC')}`)
  }
  return where.length === 0 ? "1" : where.join(" AND ")
}

const byStartThenId = (a: TraceSpan, b: TraceSpan) =>
  a.startTime.getTime() - b.startTime.getTime() || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0)

/**
 * The TraceRepository on ClickHouse (a server or the embedded engine, same SQL). See
 * ClickHouseMigrations for the schema. Reads take the newest stored copy of each span (`FINAL` or
 * `ORDER BY version DESC LIMIT 1 BY`), so a re-store is visible at once, before merges.
 */
export const make = (options: Options = {}): Effect.Effect<TraceRepository.TraceRepositoryShape, StorageError, ClickHouseClient> =>
  Effect.flatMap(ClickHouseClient, (ch) => Effect.map(makeWithSink(ch, options), (parts) => parts.repository))

/**
 * The repository and a {@link TraceWriter.TraceSink} over the same tables: the sink inserts spans the
 * TraceWriter already validated, without validating them a second time (it is the ingest hot path).
 */
export const makeWithSink = (
  ch: ClickHouseClientShape,
  options: Options = {}
): Effect.Effect<{ readonly repository: TraceRepository.TraceRepositoryShape; readonly sink: Context.Tag.Service<TraceSink> }, StorageError> =>
  Effect.gen(function*() {
    const db = ch.database
    if (options.skipSchemaCheck !== true) {
      yield* ClickHouseMigrations.ensure(ch, {
        database: db,
        cluster: options.cluster,
        retentionDays: options.retentionDays,
        autoMigrate: options.autoMigrate ?? true
      })
    }
    const spans = `${db}.spans`
    const traces = `${db}.traces`

    /**
     * Deduplication on read, measured on the benchmark (see BENCHMARKS.md): filters over many spans
     * run on `FINAL` (it collapses copies by the sorting key (tenant_id, trace_id, span_id) across
     * partitions, so a re-store that changes start_time still replaces the earlier copy); reading the
     * spans of known traces uses the primary key and `LIMIT 1 BY`, which is faster there.
     */
    const matchingSpans = (select: string, where: string) =>
      `SELECT ${select} FROM ${spans} FINAL WHERE tenant_id = {tenant:String}${where === "1" ? "" : ` AND ${where}`}`

    const traceCreated = `coalesce(min(created_at), min(span_start))`

    // Span inserts register their traces through the spans_to_traces materialized view; only
    // storeTrace adds a row of its own, for the createdAt it was given (and for a trace without spans).
    const insertSpans = (operation: string, list: ReadonlyArray<TraceSpan>, explicit?: TraceEvent) =>
      Effect.gen(function*() {
        if (explicit !== undefined) {
          yield* ch.insert(operation, traces, [
            { tenant_id: explicit.tenantId, trace_id: explicit.traceId, created_at: toDateTime64(explicit.createdAt), span_start: null }
          ])
        }
        yield* ch.insert(operation, spans, list.map((s) => toRow(s, nextVersion())))
      })

    /** Ids and createdAt of the tenant's traces selected by a query, newest first, one page. */
    const findTraces = (q: TraceQuery) =>
      Effect.gen(function*() {
        const params: Params = { tenant: q.tenantId, limit: q.limit, offset: q.offset }
        const filters = spanFilters(q, params)
        if (q.traceId !== undefined) params.traceId = q.traceId
        const rows = yield* ch.query<{ readonly trace_id: string; readonly created: string }>(
          "TraceRepository.queryTraces",
          `SELECT trace_id, created FROM (
             SELECT trace_id, ${traceCreated} AS created FROM ${traces}
             WHERE tenant_id = {tenant:String}${q.traceId === undefined ? "" : " AND trace_id = {traceId:String}"}
             GROUP BY trace_id
           )
           WHERE ${timeRange("created", q, params)}${filters === "1" ? "" : `
             AND trace_id IN (${matchingSpans("trace_id", filters)})`}
           ORDER BY created DESC, trace_id ASC
           LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
          params
        )
        return rows.map((r) => ({ traceId: r.trace_id as TraceId, createdAt: fromDateTime64(r.created) }))
      })

    /** All spans (newest copy each) of the given traces, oldest first per trace. */
    const spansOf = (operation: string, tenantId: TenantId, traceIds: ReadonlyArray<string>) =>
      traceIds.length === 0
        ? Effect.succeed(new Map<string, Array<TraceSpan>>())
        : Effect.map(
          ch.query<SpanRow>(
            operation,
            `SELECT ${columns} FROM ${spans} WHERE tenant_id = {tenant:String} AND trace_id IN {traceIds:Array(String)}
             ORDER BY version DESC LIMIT 1 BY trace_id, span_id`,
            { tenant: tenantId, traceIds }
          ),
          (rows) => {
            const grouped = new Map<string, Array<TraceSpan>>()
            for (const row of rows) {
              const span = fromRow(row)
              const list = grouped.get(span.traceId)
              if (list === undefined) grouped.set(span.traceId, [span])
              else list.push(span)
            }
            for (const list of grouped.values()) list.sort(byStartThenId)
            return grouped
          }
        )

    const queryTraces = (q: TraceQuery) =>
      Effect.gen(function*() {
        const found = yield* findTraces(q)
        const grouped = yield* spansOf("TraceRepository.queryTraces", q.tenantId, found.map((t) => t.traceId))
        return found.map((t): TraceEvent => ({ traceId: t.traceId, tenantId: q.tenantId, createdAt: t.createdAt, spans: grouped.get(t.traceId) ?? [] }))
      })

    const statsOf = (operation: string, tenantId: TenantId | undefined) =>
      Effect.gen(function*() {
        const params: Params = tenantId === undefined ? {} : { tenant: tenantId }
        const where = tenantId === undefined ? "1" : "tenant_id = {tenant:String}"
        const rows = yield* ch.query<{
          readonly traces: number | string
          readonly oldest: string | null
          readonly newest: string | null
          readonly spans: number | string
          readonly bytes: number | string
        }>(
          operation,
          `SELECT t.traces, t.oldest, t.newest, s.spans, s.bytes FROM
             (SELECT count() AS traces, min(created) AS oldest, max(created) AS newest
                FROM (SELECT ${traceCreated} AS created FROM ${traces} WHERE ${where} GROUP BY tenant_id, trace_id)) AS t
           CROSS JOIN
             (SELECT count() AS spans, sum(size_bytes) AS bytes FROM ${spans} FINAL WHERE ${where}) AS s`,
          params
        )
        const row = rows[0]
        const totalTraces = Number(row?.traces ?? 0)
        const stats: StorageStats = {
          totalTraces,
          totalSpans: Number(row?.spans ?? 0),
          storageSizeBytes: Number(row?.bytes ?? 0),
          ...(totalTraces > 0 && row?.oldest ? { oldestTrace: fromDateTime64(row.oldest) } : {}),
          ...(totalTraces > 0 && row?.newest ? { newestTrace: fromDateTime64(row.newest) } : {})
        }
        return stats
      })

    const timeout = Duration.decode(options.timeout ?? "30 seconds")
    const sink: Context.Tag.Service<TraceSink> = {
      // Not Effect.fn: its per-call Error and retained closure kept each whole batch reachable.
      storeSpans: (list) =>
        withTimeout(insertSpans("TraceWriter.flush", list), { backend: "clickhouse", operation: "TraceWriter.flush", timeout }).pipe(
          Effect.withSpan("TraceWriter.flush", { attributes: { "storage.backend": "clickhouse" } })
        )
    }
    const repository = TraceRepository.make("clickhouse", {
      storeTrace: (trace) => insertSpans("TraceRepository.storeTrace", trace.spans, trace),
      storeSpan: (span) => insertSpans("TraceRepository.storeSpan", [span]),
      storeSpans: (list) => insertSpans("TraceRepository.storeSpans", list),
      queryTraces,
      querySpans: (q) =>
        Effect.gen(function*() {
          const params: Params = { tenant: q.tenantId, limit: q.limit, offset: q.offset }
          const conditions = [spanFilters(q, params), timeRange("start_time", q, params)]
          if (q.traceId !== undefined) {
            params.traceId = q.traceId
            conditions.push("trace_id = {traceId:String}")
          }
          const filters = conditions.filter((c) => c !== "1").join(" AND ") || "1"
          // Pick the page from narrow columns first, then read the wide ones for that page only.
          const rows = yield* ch.query<SpanRow>(
            "TraceRepository.querySpans",
            `SELECT ${columns} FROM ${spans}
             WHERE tenant_id = {tenant:String} AND (span_id, version) IN (
               ${matchingSpans("span_id, version", filters)}
               ORDER BY start_time DESC, span_id DESC
               LIMIT {limit:UInt32} OFFSET {offset:UInt32}
             )
             ORDER BY start_time DESC, span_id DESC
             LIMIT 1 BY trace_id, span_id`,
            params
          )
          return rows.map(fromRow)
        }),
      // One round trip in the common case: the spans, with the trace's createdAt as a scalar subquery.
      // No rows means no spans: the trace may still exist without any, which the second lookup tells.
      getTrace: (tenantId, traceId) =>
        Effect.gen(function*() {
          const rows = yield* ch.query<SpanRow & { readonly created: string | null }>(
            "TraceRepository.getTrace",
            `SELECT ${columns}, (SELECT ${traceCreated} FROM ${traces} WHERE tenant_id = {tenant:String} AND trace_id = {traceId:String}) AS created
             FROM ${spans} WHERE tenant_id = {tenant:String} AND trace_id = {traceId:String}
             ORDER BY version DESC LIMIT 1 BY span_id`,
            { tenant: tenantId, traceId }
          )
          const created = rows[0]?.created
          if (created === undefined || created === null) {
            const found = yield* findTraces({ tenantId, traceId, tags: {}, limit: 1, offset: 0 })
            return Option.map(Option.fromNullable(found[0]), (t): TraceEvent => ({ traceId, tenantId, createdAt: t.createdAt, spans: [] }))
          }
          const list = rows.map(fromRow).sort(byStartThenId)
          return Option.some<TraceEvent>({ traceId, tenantId, createdAt: fromDateTime64(created), spans: list })
        }),
      getSpan: (tenantId, spanId) =>
        Effect.map(
          ch.query<SpanRow>(
            "TraceRepository.getSpan",
            `SELECT ${columns} FROM ${spans} WHERE tenant_id = {tenant:String} AND span_id = {spanId:String} ORDER BY version DESC LIMIT 1`,
            { tenant: tenantId, spanId }
          ),
          (rows) => Option.map(Option.fromNullable(rows[0]), fromRow)
        ),
      deleteTracesBefore: (tenantId, before) =>
        Effect.gen(function*() {
          const operation = "TraceRepository.deleteTracesBefore"
          const rows = yield* ch.query<{ readonly trace_id: string }>(
            operation,
            `SELECT trace_id FROM (SELECT trace_id, ${traceCreated} AS created FROM ${traces} WHERE tenant_id = {tenant:String} GROUP BY trace_id)
             WHERE created < {before:DateTime64(3, 'UTC')}`,
            { tenant: tenantId, before: toDateTime64(before) }
          )
          const ids = rows.map((r) => r.trace_id)
          // Spans first: a trace row outliving its spans after a failure is still deleted by the next call.
          for (let i = 0; i < ids.length; i += 10_000) {
            const traceIds = ids.slice(i, i + 10_000)
            yield* ch.command(operation, `DELETE FROM ${spans} WHERE tenant_id = {tenant:String} AND trace_id IN {traceIds:Array(String)}`, { tenant: tenantId, traceIds })
            yield* ch.command(operation, `DELETE FROM ${traces} WHERE tenant_id = {tenant:String} AND trace_id IN {traceIds:Array(String)}`, { tenant: tenantId, traceIds })
          }
          return ids.length
        }),
      getStats: (tenantId) => statsOf("TraceRepository.getStats", tenantId),
      getGlobalStats: () => statsOf("TraceRepository.getGlobalStats", undefined),
      healthCheck: () => ch.query("TraceRepository.healthCheck", "SELECT 1 AS ok").pipe(Effect.asVoid)
    }, { timeout })
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
