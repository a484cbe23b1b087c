import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { TenantId, TraceId } from "../../domain/Ids.js"
import type { StorageStats, TraceQuery } from "../../domain/Query.js"
import * as SpanFilters from "../../domain/SpanFilters.js"
import type { TraceEvent } from "../../domain/Trace.js"
import type { StorageError } from "../../StorageError.js"
import type { ClickHouseClientShape, Params } from "../../clickhouse/ClickHouseClient.js"
import { and, binder, currentSpans, insertSpans, spanKey, spansOfCountedTraces, spansOfTrace, spansTable, timeRange } from "./SpanQueries.js"
import { fromDateTime64, toDateTime64 } from "./SpanRows.js"

/**
 * The trace queries of the ClickHouse TraceRepository, one function per query with its row mapping.
 *
 * The `traces` table holds only the createdAt given to storeTrace (migration 2 dropped the view
 * that registered every span insert: its `min` kept the earliest start ever stored, also of spans
 * that moved away). A trace exists while it has that row or at least one current span; its
 * createdAt is the explicit one, else the earliest start among its current spans.
 */

const tracesTable = (ch: ClickHouseClientShape) => `${ch.database}.traces`

/**
 * `(trace_id, created, spans, bytes[, matched])` of every trace in scope, from one pass over the
 * current spans: `tenant` over both tables (`1` for all tenants, and then `tenant_id` leads the
 * key), `traces` a condition over trace_id that narrows the lookup. `spans` and `bytes` count its
 * current spans and their size. Within one tenant the trace id alone is the key (see
 * {@link spanKey}). With `match` (a condition over a span's narrow columns), `matched` is 1 when
 * one of the trace's current spans meets it: the same pass answers which traces a filtered query
 * finds (reading the spans once, rather than again for the filter and its current copies).
 */
const traceCreated = (ch: ClickHouseClientShape, tenant: string, traces = "1", match?: string) => {
  const spans = spansTable(ch)
  const key = tenant === "1" ? "tenant_id, trace_id" : "trace_id"
  const m = match === undefined ? "" : `, toUInt8(ifNull((${match}), 0)) AS m`
  const spanColumns = `${key}, start_time AS t, toUInt8(0) AS explicit, toUInt64(1) AS n, size_bytes AS b${m}`
  // Every span in scope: its current copy is picked in the same SELECT (one level less to plan,
  // which is most of a small tenant's time); a narrowed scope filters the current copies after.
  const current = traces === "1"
    ? `SELECT ${spanColumns} FROM ${spans} WHERE ${tenant} ORDER BY version DESC LIMIT 1 BY ${spanKey(tenant)}`
    : `SELECT ${spanColumns} FROM ${currentSpans(spans, tenant, traces)} WHERE ${traces}`
  return `SELECT ${key}, if(countIf(explicit = 1) > 0, minIf(t, explicit = 1), min(t)) AS created,
      sum(n) AS spans, sum(b) AS bytes${match === undefined ? "" : ", max(m) AS matched"} FROM (
      SELECT ${key}, assumeNotNull(created_at) AS t, toUInt8(1) AS explicit, toUInt64(0) AS n, toUInt64(0) AS b${
    match === undefined ? "" : ", toUInt8(0) AS m"
  }
      FROM ${tracesTable(ch)} WHERE ${tenant} AND ${traces} AND created_at IS NOT NULL
      UNION ALL
      ${current}
    ) GROUP BY ${key}`
}

const tenantScope = "tenant_id = {tenant:String}"

/** Stores traces' own records (their createdAt; a trace with no spans exists) in one insert; their spans are not touched. */
export const storeTraceRecords = (ch: ClickHouseClientShape, operation: string, records: ReadonlyArray<TraceEvent>) =>
  records.length === 0
    ? Effect.void
    : ch.insert(operation, tracesTable(ch), records.map((r) => ({
      tenant_id: r.tenantId,
      trace_id: r.traceId,
      created_at: toDateTime64(r.createdAt),
      span_start: null
    })))

/** Stores a trace: its createdAt as a row of its own (also for a trace without spans), then its spans. */
export const storeTrace = (ch: ClickHouseClientShape, trace: TraceEvent) =>
  Effect.zipRight(
    storeTraceRecords(ch, "TraceRepository.storeTrace", [trace]),
    insertSpans(ch, "TraceRepository.storeTrace", trace.spans)
  )

/** Traces matching a query (a trace matches through one of its current spans), newest first, one page, with their spans. */
export const queryTraces = (ch: ClickHouseClientShape, q: TraceQuery) =>
  Effect.gen(function*() {
    const params: Params = { tenant: q.tenantId, limit: q.limit, offset: q.offset }
    const bind = binder(params)
    const traceScope = q.traceId === undefined ? "1" : `trace_id = ${bind(q.traceId, "String")}`
    const filters = and(SpanFilters.active(q).flatMap((f) => f.clickhouse(bind)))
    const match = filters === "1" ? undefined : filters
    const rows = yield* ch.query<{ readonly trace_id: string; readonly created: string; readonly spans: number | string }>(
      "TraceRepository.queryTraces",
      `SELECT trace_id, created, spans FROM (${traceCreated(ch, tenantScope, traceScope, match)})
       WHERE ${and([...timeRange("created", q, bind), ...(match === undefined ? [] : ["matched = 1"])])}
       ORDER BY created DESC, trace_id ASC
       LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
      params
    )
    const grouped = yield* spansOfCountedTraces(ch, "TraceRepository.queryTraces", q.tenantId, new Map(rows.map((r) => [r.trace_id, Number(r.spans)])))
    return rows.map((r): TraceEvent => ({
      traceId: r.trace_id as TraceId,
      tenantId: q.tenantId,
      createdAt: fromDateTime64(r.created),
      spans: grouped.get(r.trace_id) ?? []
    }))
  })

/** One trace with its current spans: none when it was never stored or all its spans moved away. */
export const getTrace = (ch: ClickHouseClientShape, tenantId: TenantId, traceId: TraceId) =>
  Effect.gen(function*() {
    const found = yield* spansOfTrace(ch, tenantId, traceId)
    const first = found.spans[0]
    if (first !== undefined) {
      const createdAt = found.explicit === null ? first.startTime : fromDateTime64(found.explicit)
      return Option.some<TraceEvent>({ traceId, tenantId, createdAt, spans: found.spans })
    }
    // No current span: the trace exists only if storeTrace gave it a createdAt.
    const rows = yield* ch.query<{ readonly explicit: string | null }>(
      "TraceRepository.getTrace",
      `SELECT min(created_at) AS explicit FROM ${tracesTable(ch)} WHERE ${tenantScope} AND trace_id = {traceId:String}`,
      { tenant: tenantId, traceId }
    )
    const explicit = rows[0]?.explicit ?? null
    return explicit === null ? Option.none() : Option.some<TraceEvent>({ traceId, tenantId, createdAt: fromDateTime64(explicit), spans: [] })
  })

/** Trace ids deleted per round: each round has its own time bound, so a purge of any size finishes. */
export const deleteChunk = 10_000

/**
 * Deletes the tenant's traces created before `before`, `chunk` traces per round, each round
 * passed through `bound`. With a trace go its rows in both tables and every copy of the spans
 * currently in it (a stale copy elsewhere would otherwise become current again); a span that moved
 * away to a trace that stays keeps its current copy.
 */
export const deleteTracesBefore = (
  ch: ClickHouseClientShape,
  tenantId: TenantId,
  before: Date,
  bound: <A>(round: Effect.Effect<A, StorageError>) => Effect.Effect<A, StorageError>,
  chunk: number = deleteChunk
) =>
  Effect.gen(function*() {
    const operation = "TraceRepository.deleteTracesBefore"
    const spans = spansTable(ch)
    const inTraces = "trace_id IN {traceIds:Array(String)}"
    // Trace ids are read a chunk at a time, in id order after the last one of the previous chunk:
    // the tenant's whole list is never held (nor does a chunk depend on the delete before it being visible).
    let after = ""
    let deleted = 0
    while (true) {
      const rows = yield* bound(ch.query<{ readonly trace_id: string }>(
        operation,
        `SELECT trace_id FROM (${traceCreated(ch, tenantScope)}) WHERE created < {before:DateTime64(3, 'UTC')} AND trace_id > {after:String}
         ORDER BY trace_id LIMIT {chunk:UInt32}`,
        { tenant: tenantId, before: toDateTime64(before), after, chunk }
      ))
      if (rows.length === 0) return deleted
      const traceIds = rows.map((r) => r.trace_id)
      after = traceIds[traceIds.length - 1]!
      const params = { tenant: tenantId, traceIds }
      yield* bound(Effect.gen(function*() {
        // Spans that moved into these traces and left a copy elsewhere (rare): their ids are looked up
        // first, so the DELETE has no subquery (a mutation with one is refused on replicated tables).
        const moved = yield* ch.query<{ readonly span_id: string }>(
          operation,
          `SELECT DISTINCT span_id FROM ${spans}
           WHERE ${tenantScope} AND NOT ${inTraces} AND span_id IN (SELECT span_id FROM ${currentSpans(spans, tenantScope, inTraces)} WHERE ${inTraces})`,
          params
        )
        // Spans first: a trace row outliving its spans after a failure is still deleted by the next call.
        yield* ch.command(
          operation,
          moved.length === 0
            ? `DELETE FROM ${spans} WHERE ${tenantScope} AND ${inTraces}`
            : `DELETE FROM ${spans} WHERE ${tenantScope} AND (${inTraces} OR span_id IN {moved:Array(String)})`,
          { ...params, moved: moved.map((r) => r.span_id) }
        )
        yield* ch.command(operation, `DELETE FROM ${tracesTable(ch)} WHERE ${tenantScope} AND ${inTraces}`, params)
      }))
      deleted += traceIds.length
      if (traceIds.length < chunk) return deleted
    }
  })

/** Counts of one tenant (or of all): traces, current spans, their storage size, oldest and newest trace. */
export const stats = (ch: ClickHouseClientShape, operation: string, tenantId: TenantId | undefined) =>
  Effect.gen(function*() {
    const tenant = tenantId === undefined ? "1" : tenantScope
    const rows = yield* ch.query<{
      readonly traces: number | string
      readonly oldest: string | null
      readonly newest: string | null
      readonly spans: number | string
      readonly bytes: number | string
    }>(
      operation,
      `SELECT count() AS traces, min(created) AS oldest, max(created) AS newest, sum(spans) AS spans, sum(bytes) AS bytes
       FROM (${traceCreated(ch, tenant)})`,
      tenantId === undefined ? {} : { tenant: tenantId }
    )
    const row = rows[0]
    const totalTraces = Number(row?.traces ?? 0)
    const result: StorageStats = {
      totalTraces,
      totalSpans: Number(row?.spans ?? 0),
      storageSizeBytes: Number(row?.bytes ?? 0),
      ...(totalTraces > 0 && row?.oldest ? { oldestTrace: fromDateTime64(row.oldest) } : {}),
      ...(totalTraces > 0 && row?.newest ? { newestTrace: fromDateTime64(row.newest) } : {})
    }
    return result
  })
