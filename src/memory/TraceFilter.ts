import type { TraceQuery } from "../domain/Query.js"
import type { TraceSpan } from "../domain/Trace.js"

/** Whether a query filters on span fields (a trace then matches only through one of its spans). */
export const hasSpanFilters = (q: TraceQuery): boolean =>
  q.provider !== undefined || q.modelName !== undefined || q.operationName !== undefined ||
  q.minSecurityScore !== undefined || q.maxSecurityScore !== undefined || Object.keys(q.tags).length > 0

/** Inclusive time range of a query. */
export const inRange = (t: Date, q: TraceQuery): boolean =>
  (q.startTime === undefined || t >= q.startTime) && (q.endTime === undefined || t <= q.endTime)

/** The span-field filters of a query (provider, model, operation, score range, tags). */
export const spanMatches = (s: TraceSpan, q: TraceQuery): boolean =>
  (q.provider === undefined || s.provider === q.provider) &&
  (q.modelName === undefined || s.modelName === q.modelName) &&
  (q.operationName === undefined || s.operationName === q.operationName) &&
  (q.minSecurityScore === undefined || (s.securityScore !== undefined && s.securityScore >= q.minSecurityScore)) &&
  (q.maxSecurityScore === undefined || (s.securityScore !== undefined && s.securityScore <= q.maxSecurityScore)) &&
  Object.entries(q.tags).every(([k, v]) => Object.hasOwn(s.tags, k) && s.tags[k] === v)
