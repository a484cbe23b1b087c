import { isSpanId, isTraceId, isUuid } from "./Ids.js"
import { isNonEmptyText, isText, isTimestamp, utf8Length } from "./Primitives.js"
import { MAX_ACTION_RESULT_BYTES, type TraceSpan } from "./Trace.js"

/**
 * A hand-written guard for {@link TraceSpan}, far cheaper than `Schema.is(TraceSpan)` (~9 µs a span). It accepts only what the schema accepts, and may refuse more: callers validate
 * guard first and run the schema only when the guard says no, to produce the error (see
 * `test/domain/TraceSpanGuard.test.ts`, a property test against the schema). It also refuses any
 * plain object that holds an own `__proto__` key (which a decoded object cannot keep), so the
 * separate key walk of `StorageError.validate` runs only on that failure path; and it refuses
 * unknown keys holding objects, which that walk would have to look into.
 */
export const isTraceSpan = (u: unknown): u is TraceSpan => {
  if (!isPlain(u)) return false
  const s = u as Record<string, unknown>
  return (
    isTraceId(s.traceId) && isSpanId(s.spanId) && (s.parentSpanId === undefined || isSpanId(s.parentSpanId)) && isUuid(s.tenantId) &&
    isNonEmptyText(s.operationName) && isTimestamp(s.startTime) && (s.endTime === undefined || isTimestamp(s.endTime)) &&
    isNonEmptyText(s.provider) && isNonEmptyText(s.modelName) && isText(s.prompt) && optional(s.response, isText) &&
    optional(s.promptTokens, isNonNegativeInt) && optional(s.completionTokens, isNonNegativeInt) &&
    optional(s.totalTokens, isNonNegativeInt) && optional(s.timeToFirstTokenMs, isNonNegativeFinite) &&
    optional(s.durationMs, isNonNegativeFinite) && optional(s.statusCode, Number.isSafeInteger) &&
    optional(s.errorMessage, isText) && optional(s.estimatedCostUsd, isNonNegativeFinite) &&
    (s.securityScore === undefined || isIntBetween(s.securityScore, 0, 100)) &&
    isArrayOf(s.securityFindings, isFinding) && isTextMap(s.tags) && isArrayOf(s.events, isEvent) &&
    isArrayOf(s.agentActions, isAction) && onlyKnownObjects(s, spanKeys)
  )
}

const spanKeys = new Set([
  "traceId", "spanId", "parentSpanId", "tenantId", "operationName", "startTime", "endTime", "provider", "modelName",
  "prompt", "response", "promptTokens", "completionTokens", "totalTokens", "timeToFirstTokenMs", "durationMs",
  "statusCode", "errorMessage", "estimatedCostUsd", "securityScore", "securityFindings", "tags", "events", "agentActions"
])
const findingKeys = new Set(["id", "severity", "findingType", "description", "detectedAt", "confidenceScore", "location", "metadata", "requiresAlert"])
const eventKeys = new Set(["id", "timestamp", "eventType", "description", "data"])
const actionKeys = new Set([
  "id", "actionType", "name", "arguments", "result", "durationMs", "success", "exitCode", "httpMethod", "httpStatus",
  "fileOperation", "timestamp", "metadata"
])
const severities = new Set<unknown>(["Info", "Low", "Medium", "High", "Critical"])
const actionTypes = new Set<unknown>(["tool_call", "skill_invocation", "command_execution", "web_access", "file_access"])

/** A plain object (what the schema and the key walk look into) without an own `__proto__` key. */
const isPlain = (u: unknown): u is object => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto: unknown = Object.getPrototypeOf(u)
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(u, "__proto__")
}

/** Keys the schema ignores may hold primitives only: an object there would need the `__proto__` walk. */
const onlyKnownObjects = (o: Record<string, unknown>, known: ReadonlySet<string>): boolean => {
  for (const key in o) {
    if (!known.has(key)) {
      const v = o[key]
      if (typeof v === "object" && v !== null) return false
    }
  }
  return true
}

const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v)
const isNonNegativeInt = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0
const isNonNegativeFinite = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0
const isIntBetween = (v: unknown, min: number, max: number): boolean => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max

const isArrayOf = (v: unknown, item: (v: unknown) => boolean): boolean => {
  if (!Array.isArray(v)) return false
  for (let i = 0; i < v.length; i++) if (!item(v[i])) return false
  return true
}

const isTextMap = (v: unknown): boolean => {
  if (!isPlain(v)) return false
  for (const key of Object.keys(v)) {
    if (!key.isWellFormed() || !isText((v as Record<string, unknown>)[key])) return false
  }
  // for-in would also list inherited enumerable keys; a null-prototype or plain object has none we accept.
  return true
}

const isFinding = (v: unknown): boolean => {
  if (!isPlain(v)) return false
  const f = v as Record<string, unknown>
  return isUuid(f.id) && severities.has(f.severity) && isNonEmptyText(f.findingType) && isText(f.description) &&
    isTimestamp(f.detectedAt) && typeof f.confidenceScore === "number" && Number.isFinite(f.confidenceScore) &&
    f.confidenceScore >= 0 && f.confidenceScore <= 1 && optional(f.location, isText) && isTextMap(f.metadata) &&
    typeof f.requiresAlert === "boolean" && onlyKnownObjects(f, findingKeys)
}

const isEvent = (v: unknown): boolean => {
  if (!isPlain(v)) return false
  const e = v as Record<string, unknown>
  return isUuid(e.id) && isTimestamp(e.timestamp) && isNonEmptyText(e.eventType) && isText(e.description) &&
    isTextMap(e.data) && onlyKnownObjects(e, eventKeys)
}

const isAction = (v: unknown): boolean => {
  if (!isPlain(v)) return false
  const a = v as Record<string, unknown>
  return isUuid(a.id) && actionTypes.has(a.actionType) && isNonEmptyText(a.name) && optional(a.arguments, isText) &&
    optional(a.result, (r) => isText(r) && utf8Length(r) <= MAX_ACTION_RESULT_BYTES) &&
    optional(a.durationMs, isNonNegativeFinite) && typeof a.success === "boolean" &&
    optional(a.exitCode, Number.isSafeInteger) && optional(a.httpMethod, isNonEmptyText) &&
    (a.httpStatus === undefined || isIntBetween(a.httpStatus, 100, 599)) && optional(a.fileOperation, isNonEmptyText) &&
    isTimestamp(a.timestamp) && isTextMap(a.metadata) && onlyKnownObjects(a, actionKeys)
}
