import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { SpanId, TenantId } from "../../domain/Ids.js"
import type { TraceQuery } from "../../domain/Query.js"
import * as SpanFilters from "../../domain/SpanFilters.js"
import type { TraceSpan } from "../../domain/Trace.js"
import type { ClickHouseClientShape, Params } from "../../clickhouse/ClickHouseClient.js"
import * as SpanVersion from "../../domain/SpanVersion.js"
import { columns, fromRow, insertFormat, type SpanRow, toDateTime64 } from "./SpanRows.js"

/**
 * The span queries of the ClickHouse TraceRepository, one function per query with its row mapping.
 *
 * A span's identity is (tenant_id, span_id): stored again, under any trace, its newest copy (highest
 * `version`) is the current one and every other copy is ignored. The sorting key is
 * (tenant_id, trace_id, span_id), so `FINAL` and background merges collapse re-stores within a
 * trace only: a span that moved to another trace leaves a stale copy behind, which every read and
 * count skips: they read {@link currentSpans}.
 */

export const spansTable = (ch: ClickHouseClientShape) => `${ch.database}.spans`

/** A {@link SpanFilters.Bind} that adds each value to `params` under a fresh name. */
export const binder = (params: Params): SpanFilters.Bind => {
  let next = 0
  return (value, type) => {
    const name = `p${next++}`
    params[name] = value
    return `{${name}:${type}}`
  }
}

/** `a AND b AND ...`, or `1` for no condition. */
export const and = (conditions: ReadonlyArray<string>): string => (conditions.length === 0 ? "1" : conditions.join(" AND "))

/** The inclusive time range of a query over a DateTime64 column, as conditions. */
export const timeRange = (column: string, q: TraceQuery, bind: SpanFilters.Bind): Array<string> => [
  ...(q.startTime === undefined ? [] : [`${column} >= ${bind(toDateTime64(q.startTime), "DateTime64(3, 'UTC')")}`]),
  ...(q.endTime === undefined ? [] : [`${column} <= ${bind(toDateTime64(q.endTime), "DateTime64(3, 'UTC')")}`])
]

/** The wide text columns, left out where only keys and filters are needed. */
const wide = "prompt, response, error_message, security_findings, events, agent_actions"

/**
 * The key of a span within `tenant` (a condition; `1` for every tenant): within one tenant the
 * span id alone. Grouping by the tenant's id too, constant there, costs the engine a serialized
 * two-string key per row: about half of getStats' time on 100k spans of one tenant (bench/clickhouse.ts).
 */
export const spanKey = (tenant: string): string => (tenant === "1" ? "tenant_id, span_id" : "span_id")

/**
 * A table expression: the current copy of each span in scope, the newest version of its
 * (tenant_id, span_id), with every column but the wide texts (so a filter over any other column
 * applies to it). `tenant` scopes the lookup (`1` for every tenant); `candidates`, a condition the
 * current copies the caller wants all meet (its own WHERE, which it applies again over this),
 * narrows the span ids looked at: a trace's spans are found by key, then their copies by the span
 * id index. (`ORDER BY version DESC LIMIT 1 BY` measured several times faster here than an
 * `IN (… max(version) … GROUP BY span_id)` set.)
 */
export const currentSpans = (spans: string, tenant: string, candidates: string): string =>
  `(SELECT * EXCEPT (${wide}) FROM ${spans} WHERE ${tenant}${
    candidates === "1" ? "" : ` AND span_id IN (SELECT span_id FROM ${spans} WHERE ${tenant} AND ${candidates})`
  } ORDER BY version DESC LIMIT 1 BY ${spanKey(tenant)})`

/**
 * The wide rows of the current copies of the spans in scope that meet `where` (a condition as for
 * {@link currentSpans}): every copy of a candidate span id is read, the newest kept, then `where`
 * applied to it.
 */
const currentRows = (spans: string, where: string): string =>
  `SELECT ${columns} FROM (
     SELECT ${columns} FROM ${spans}
     WHERE tenant_id = {tenant:String} AND span_id IN (SELECT span_id FROM ${spans} WHERE tenant_id = {tenant:String} AND ${where})
     ORDER BY version DESC LIMIT 1 BY span_id
   ) WHERE ${where}`

const tenantScope = "tenant_id = {tenant:String}"

/**
 * Inserts spans, each a copy with its version (`versions[i]` of `list[i]`; stamped now when not
 * given, for a repository call): the highest version of a span is its current copy. `size_bytes`
 * is left to the column's DEFAULT (migration 2): the engine measures the stored text.
 */
export const insertSpans = (
  ch: ClickHouseClientShape,
  operation: string,
  list: ReadonlyArray<TraceSpan>,
  versions: ReadonlyArray<SpanVersion.SpanVersion> = SpanVersion.nextRange(list.length)
) =>
  // Rows are built when the effect runs: a span that cannot be converted is a defect of this call
  // (which the TraceWriter isolates and dead-letters), not a throw out of the caller's hands.
  // Each row is made, stringified into the body and dropped: a batch is never held as an array of rows.
  ch.insertRows(operation, spansTable(ch), list, insertFormat(versions))

/** The current spans matching a query, newest start first, one page. */
export const querySpans = (ch: ClickHouseClientShape, q: TraceQuery) =>
  Effect.gen(function*() {
    const spans = spansTable(ch)
    const params: Params = { tenant: q.tenantId, limit: q.limit, offset: q.offset }
    const bind = binder(params)
    const where = and([
      ...SpanFilters.active(q).flatMap((f) => f.clickhouse(bind)),
      ...timeRange("start_time", q, bind),
      ...(q.traceId === undefined ? [] : [`trace_id = ${bind(q.traceId, "String")}`])
    ])
    // Pick the page from narrow columns first, then read the wide ones for that page only.
    const rows = yield* ch.query<SpanRow>(
      "TraceRepository.querySpans",
      `SELECT ${columns} FROM ${spans}
       WHERE ${tenantScope} AND (span_id, version) IN (
         SELECT span_id, version FROM ${currentSpans(spans, tenantScope, where)}
         WHERE ${where}
         ORDER BY start_time DESC, span_id DESC
         LIMIT {limit:UInt32} OFFSET {offset:UInt32}
       )
       ORDER BY start_time DESC, span_id DESC
       LIMIT 1 BY span_id`,
      params
    )
    return rows.map(fromRow)
  })

/** The current copy of one span. */
export const getSpan = (ch: ClickHouseClientShape, tenantId: TenantId, spanId: SpanId) =>
  Effect.map(
    ch.query<SpanRow>(
      "TraceRepository.getSpan",
      `SELECT ${columns} FROM ${spansTable(ch)} WHERE ${tenantScope} AND span_id = {spanId:String} ORDER BY version DESC LIMIT 1`,
      { tenant: tenantId, spanId }
    ),
    (rows) => Option.map(Option.fromNullable(rows[0]), fromRow)
  )

const byStartThenId = (a: TraceSpan, b: TraceSpan) =>
  a.startTime.getTime() - b.startTime.getTime() || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0)

/** Spans grouped by trace id, oldest first in each. */
const groupByTrace = (rows: ReadonlyArray<SpanRow>) => {
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

/** The current spans of the given traces, grouped by trace id, oldest first in each. */
const spansOfTraces = (ch: ClickHouseClientShape, operation: string, tenantId: TenantId, traceIds: ReadonlyArray<string>) => {
  if (traceIds.length === 0) return Effect.succeed(new Map<string, Array<TraceSpan>>())
  return Effect.map(
    ch.query<SpanRow>(operation, currentRows(spansTable(ch), "trace_id IN {traceIds:Array(String)}"), { tenant: tenantId, traceIds }),
    groupByTrace
  )
}

/**
 * The current spans of the given traces, when the caller knows how many current spans each has
 * (`counts`, from the read that found the traces). The newest copy of each span id within each
 * trace is read by the sorting key alone; a trace holding as many span ids as it has current
 * spans kept no copy of a span that moved away since, so those are its current spans. When one
 * trace holds more (a span moved out, or the traces changed since `counts` were read), all are
 * read again the full way ({@link spansOfTraces}, which looks up every copy of their span ids), so
 * that one answer never shows a span in two traces. On 10k spans the key-only read costs about 0.6
 * of the full one (bench/clickhouse.ts, queryTraces).
 */
export const spansOfCountedTraces = (
  ch: ClickHouseClientShape,
  operation: string,
  tenantId: TenantId,
  counts: ReadonlyMap<string, number>
) =>
  Effect.gen(function*() {
    if (counts.size === 0) return new Map<string, Array<TraceSpan>>()
    const rows = yield* ch.query<SpanRow>(
      operation,
      `SELECT ${columns} FROM ${spansTable(ch)} WHERE ${tenantScope} AND trace_id IN {traceIds:Array(String)}
       ORDER BY version DESC LIMIT 1 BY trace_id, span_id`,
      { tenant: tenantId, traceIds: [...counts.keys()] }
    )
    const grouped = groupByTrace(rows)
    for (const [traceId, count] of counts) {
      if ((grouped.get(traceId)?.length ?? 0) !== count) return yield* spansOfTraces(ch, operation, tenantId, [...counts.keys()])
    }
    return grouped
  })

/** The current spans of one trace, oldest first, with the createdAt the trace was stored with (if any). */
export const spansOfTrace = (ch: ClickHouseClientShape, tenantId: TenantId, traceId: string) => {
  const spans = spansTable(ch)
  const inTrace = "trace_id = {traceId:String}"
  return Effect.map(
    ch.query<SpanRow & { readonly explicit: string | null }>(
      "TraceRepository.getTrace",
      // The explicit createdAt rides along as a scalar subquery: one round trip when the trace has spans.
      `SELECT *, (SELECT min(created_at) FROM ${ch.database}.traces WHERE ${tenantScope} AND ${inTrace}) AS explicit
       FROM (${currentRows(spans, inTrace)})`,
      { tenant: tenantId, traceId }
    ),
    (rows) => ({ spans: rows.map(fromRow).sort(byStartThenId), explicit: rows[0]?.explicit ?? null })
  )
}
