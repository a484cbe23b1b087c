import * as Schema from "effect/Schema"
import { TenantId, TraceId } from "./Ids.js"
import { NonEmptyText, NonNegativeInt, Timestamp } from "./Primitives.js"
import * as SpanFilters from "./SpanFilters.js"

/** Rows a query returns when it names no limit. */
export const DEFAULT_LIMIT = 100
/** The most rows one query may ask for; page with `offset` beyond it. */
export const MAX_LIMIT = 10_000

export const Limit = Schema.Int.pipe(
  Schema.between(1, MAX_LIMIT, { message: () => `must be an integer between 1 and ${MAX_LIMIT}` }),
  Schema.annotations({ identifier: "Limit" })
)

const page = {
  limit: Schema.optionalWith(Limit, { default: () => DEFAULT_LIMIT, exact: true }),
  offset: Schema.optionalWith(NonNegativeInt, { default: () => 0, exact: true })
}

const timeRange = <A extends { readonly startTime?: Date | undefined; readonly endTime?: Date | undefined }>(q: A) =>
  q.startTime === undefined || q.endTime === undefined || q.startTime.getTime() <= q.endTime.getTime() ||
  { path: ["endTime"], message: "endTime must not be before startTime" }

/**
 * Filters over traces and spans of one tenant. Span filters (see SpanFilters.table) select the spans
 * that match all of them; a trace matches when one of its spans does. `startTime`/`endTime` bound a trace's createdAt
 * (queryTraces) or a span's startTime (querySpans), both inclusive.
 */
const TraceQueryFields = Schema.Struct({
  tenantId: TenantId,
  startTime: Schema.optional(Timestamp),
  endTime: Schema.optional(Timestamp),
  traceId: Schema.optional(TraceId),
  // provider, modelName, operationName, minSecurityScore, maxSecurityScore, tags
  ...SpanFilters.fields,
  ...page
})
const TraceQueryChecked = TraceQueryFields.pipe(
  Schema.filter(timeRange),
  Schema.filter((q) =>
    q.minSecurityScore === undefined || q.maxSecurityScore === undefined || q.minSecurityScore <= q.maxSecurityScore ||
    { path: ["maxSecurityScore"], message: "maxSecurityScore must not be below minSecurityScore" }
  ),
  Schema.annotations({ identifier: "TraceQuery" })
)
export const TraceQuery = Object.assign(TraceQueryChecked.annotations({}), {
  make: (props: Parameters<typeof TraceQueryFields.make>[0]): typeof TraceQueryFields.Type =>
    TraceQueryChecked.make(TraceQueryFields.make(props))
})
export type TraceQuery = typeof TraceQueryFields.Type

const AuditQueryFields = Schema.Struct({
  tenantId: TenantId,
  eventType: Schema.optional(NonEmptyText),
  startTime: Schema.optional(Timestamp),
  endTime: Schema.optional(Timestamp),
  ...page
})
const AuditQueryChecked = AuditQueryFields.pipe(Schema.filter(timeRange), Schema.annotations({ identifier: "AuditQuery" }))
export const AuditQuery = Object.assign(AuditQueryChecked.annotations({}), {
  make: (props: Parameters<typeof AuditQueryFields.make>[0]): typeof AuditQueryFields.Type =>
    AuditQueryChecked.make(AuditQueryFields.make(props))
})
export type AuditQuery = typeof AuditQueryFields.Type

export const ReportQuery = Schema.Struct({ tenantId: TenantId, ...page }).annotations({ identifier: "ReportQuery" })
export type ReportQuery = typeof ReportQuery.Type

export const StorageStats = Schema.Struct({
  totalTraces: NonNegativeInt,
  totalSpans: NonNegativeInt,
  storageSizeBytes: NonNegativeInt,
  oldestTrace: Schema.optional(Timestamp),
  newestTrace: Schema.optional(Timestamp)
}).annotations({ identifier: "StorageStats" })
export type StorageStats = typeof StorageStats.Type
