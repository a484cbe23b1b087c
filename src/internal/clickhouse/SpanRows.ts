import type { SpanId, TenantId, TraceId } from "../../domain/Ids.js"
import { isStorableDate } from "../../domain/Primitives.js"
import type { AgentAction, SecurityFinding, SpanEvent, TraceSpan } from "../../domain/Trace.js"
import type { RowFormat } from "./JsonLines.js"

/** A span as stored: snake_case columns, NULL for an absent optional, nested lists as JSON text. */
export interface SpanRow {
  readonly tenant_id: string
  readonly trace_id: string
  readonly span_id: string
  readonly parent_span_id: string | null
  readonly operation_name: string
  readonly start_time: string
  readonly end_time: string | null
  readonly provider: string
  readonly model_name: string
  readonly prompt: string
  readonly response: string | null
  readonly prompt_tokens: number | string | null
  readonly completion_tokens: number | string | null
  readonly total_tokens: number | string | null
  readonly time_to_first_token_ms: number | null
  readonly duration_ms: number | null
  readonly status_code: number | string | null
  readonly error_message: string | null
  readonly estimated_cost_usd: number | null
  readonly security_score: number | null
  readonly security_findings: string
  readonly tags: Readonly<Record<string, string>>
  readonly events: string
  readonly agent_actions: string
}

/** A row as inserted; `size_bytes` is the column's DEFAULT, computed by the engine (migration 2). */
export interface SpanInsertRow extends SpanRow {
  readonly version: number
}

/** The columns a span is read back from, in table order. */
export const columns =
  "tenant_id, trace_id, span_id, parent_span_id, operation_name, start_time, end_time, provider, model_name, prompt, response, " +
  "prompt_tokens, completion_tokens, total_tokens, time_to_first_token_ms, duration_ms, status_code, error_message, " +
  "estimated_cost_usd, security_score, security_findings, tags, events, agent_actions"

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/**
 * A DateTime64(3) value as ClickHouse parses it on every version: `YYYY-MM-DD hh:mm:ss.SSS` in UTC.
 * (A JS Date loses its milliseconds as a parameter and ISO strings with `Z` are rejected.) Built
 * from the UTC fields, not by slicing `toISOString()`, whose year has six digits and a sign outside
 * 0000..9999: every date of the storable range (`isStorableDate`) comes out exact. Any other date
 * throws (the services refuse it as InvalidInput first; only unvalidated input gets here), so it
 * never reaches an engine as text ClickHouse would misread.
 */
export const toDateTime64 = (d: Date): string => {
  if (!isStorableDate(d)) {
    throw new RangeError(Number.isNaN(d.getTime()) ? "Invalid time value" : `date outside 1900-01-01..2299-12-31: ${d.toISOString()}`)
  }
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
  `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
}

/** Reads a DateTime64(3, 'UTC') column back into a Date. */
export const fromDateTime64 = (s: string): Date => new Date(`${s.replace(" ", "T")}Z`)

const nullable = <A, B>(a: A | undefined, f: (a: A) => B): B | null => (a === undefined ? null : f(a))

export const toRow = (s: TraceSpan, version: number): SpanInsertRow => {
  const findings = JSON.stringify(s.securityFindings)
  const events = JSON.stringify(s.events)
  const actions = JSON.stringify(s.agentActions)
  return {
    tenant_id: s.tenantId,
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId ?? null,
    operation_name: s.operationName,
    start_time: toDateTime64(s.startTime),
    end_time: nullable(s.endTime, toDateTime64),
    provider: s.provider,
    model_name: s.modelName,
    prompt: s.prompt,
    response: s.response ?? null,
    prompt_tokens: s.promptTokens ?? null,
    completion_tokens: s.completionTokens ?? null,
    total_tokens: s.totalTokens ?? null,
    time_to_first_token_ms: s.timeToFirstTokenMs ?? null,
    duration_ms: s.durationMs ?? null,
    status_code: s.statusCode ?? null,
    error_message: s.errorMessage ?? null,
    estimated_cost_usd: s.estimatedCostUsd ?? null,
    security_score: s.securityScore ?? null,
    security_findings: findings,
    tags: s.tags,
    events,
    agent_actions: actions,
    version
  }
}

/**
 * The rows of `spans` as inserted: the same values as {@link toRow}, in column order (see `JsonLines`), `version` last; `size_bytes` is left to its DEFAULT.
 */
export const insertFormat = (versions: ReadonlyArray<number>): RowFormat<TraceSpan> => ({
  columns: insertColumns,
  values: (s, i) => [
    s.tenantId,
    s.traceId,
    s.spanId,
    s.parentSpanId ?? null,
    s.operationName,
    toDateTime64(s.startTime),
    s.endTime === undefined ? null : toDateTime64(s.endTime),
    s.provider,
    s.modelName,
    s.prompt,
    s.response ?? null,
    s.promptTokens ?? null,
    s.completionTokens ?? null,
    s.totalTokens ?? null,
    s.timeToFirstTokenMs ?? null,
    s.durationMs ?? null,
    s.statusCode ?? null,
    s.errorMessage ?? null,
    s.estimatedCostUsd ?? null,
    s.securityScore ?? null,
    JSON.stringify(s.securityFindings),
    s.tags,
    JSON.stringify(s.events),
    JSON.stringify(s.agentActions),
    versions[i]!
  ]
})

const insertColumns = [...columns.split(", "), "version"]

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

const withDate = <K extends string>(key: K) => <A extends Record<K, unknown>>(a: A): A => ({ ...a, [key]: new Date(a[key] as string) })

/** Rebuilds a span from its row; a NULL column becomes an absent key, as it was stored. */
export const fromRow = (r: SpanRow): TraceSpan => {
  const span: Mutable<TraceSpan> = {
    traceId: r.trace_id as TraceId,
    spanId: r.span_id as SpanId,
    tenantId: r.tenant_id as TenantId,
    operationName: r.operation_name,
    startTime: fromDateTime64(r.start_time),
    provider: r.provider,
    modelName: r.model_name,
    prompt: r.prompt,
    securityFindings: (JSON.parse(r.security_findings) as Array<SecurityFinding>).map(withDate("detectedAt")),
    tags: r.tags,
    events: (JSON.parse(r.events) as Array<SpanEvent>).map(withDate("timestamp")),
    agentActions: (JSON.parse(r.agent_actions) as Array<AgentAction>).map(withDate("timestamp"))
  }
  if (r.parent_span_id !== null) span.parentSpanId = r.parent_span_id as SpanId
  if (r.end_time !== null) span.endTime = fromDateTime64(r.end_time)
  if (r.response !== null) span.response = r.response
  if (r.prompt_tokens !== null) span.promptTokens = Number(r.prompt_tokens)
  if (r.completion_tokens !== null) span.completionTokens = Number(r.completion_tokens)
  if (r.total_tokens !== null) span.totalTokens = Number(r.total_tokens)
  if (r.time_to_first_token_ms !== null) span.timeToFirstTokenMs = r.time_to_first_token_ms
  if (r.duration_ms !== null) span.durationMs = r.duration_ms
  if (r.status_code !== null) span.statusCode = Number(r.status_code)
  if (r.error_message !== null) span.errorMessage = r.error_message
  if (r.estimated_cost_usd !== null) span.estimatedCostUsd = r.estimated_cost_usd
  if (r.security_score !== null) span.securityScore = r.security_score
  return span
}
