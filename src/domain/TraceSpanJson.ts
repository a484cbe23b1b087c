import { newSpanId, uuid } from "./Ids.js"
import { isTraceSpan } from "./TraceSpanGuard.js"
import type { TraceSpan } from "./Trace.js"

/**
 * A span read from JSON (times as ISO-8601 strings, the fields a constructor fills possibly left out) turned into a
 * {@link TraceSpan} without the schema, or `undefined` when the guard refuses the result: the caller then decodes the
 * same JSON with the schema, which accepts or says why. Schema decoding costs ~32 µs a span of ~1 kB; this costs a
 * copy and the guard (~1.5 µs). What it fills is what decoding the JSON after the CLI's own filling gives: a fresh span
 * id, now as the start time, ids and times of findings, events and actions, and the schema's defaults. Keys the schema
 * does not know are dropped, as decoding drops them. `test/domain/TraceSpanJson.test.ts` holds it to the schema.
 */
export const fromJson = (json: Record<string, unknown>): TraceSpan | undefined => {
  const candidate = read(json, span)
  return isTraceSpan(candidate) ? candidate : undefined
}

/** How one key is read: copied if present; `time` converts an ISO string to a Date; `fill` supplies a missing key; `items` reads each object of a list. */
interface Field {
  readonly key: string
  readonly required?: true
  readonly time?: true
  readonly fill?: () => unknown
  readonly items?: ReadonlyArray<Field>
}

const time = (v: unknown): unknown => (typeof v === "string" ? new Date(v) : v)
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
const emptyMap = () => ({})
const emptyList = () => []
const now = () => new Date()

/** A new object of `fields`, in their order (the schema's, which stored JSON keeps), read from `json`. */
const read = (json: Record<string, unknown>, fields: ReadonlyArray<Field>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    const { key } = field
    if (!Object.hasOwn(json, key)) {
      if (field.fill !== undefined) out[key] = field.fill()
      else if (field.required) out[key] = undefined
      continue
    }
    const v = json[key]
    out[key] = field.time
      ? time(v)
      : field.items !== undefined && Array.isArray(v)
      ? v.map((item: unknown) => (isObject(item) ? read(item, field.items!) : item))
      : v
  }
  return out
}

// Each struct's keys in the schema's order (domain/Trace.ts), with what decoding after the CLI's filling supplies.
const finding: ReadonlyArray<Field> = [
  { key: "id", fill: uuid }, { key: "severity", required: true }, { key: "findingType", required: true },
  { key: "description", required: true }, { key: "detectedAt", time: true, fill: now }, { key: "confidenceScore", required: true },
  { key: "location" }, { key: "metadata", fill: emptyMap }, { key: "requiresAlert", fill: () => false }
]
const event: ReadonlyArray<Field> = [
  { key: "id", fill: uuid }, { key: "timestamp", time: true, fill: now }, { key: "eventType", required: true },
  { key: "description", required: true }, { key: "data", fill: emptyMap }
]
const action: ReadonlyArray<Field> = [
  { key: "id", fill: uuid }, { key: "actionType", required: true }, { key: "name", required: true }, { key: "arguments" },
  { key: "result" }, { key: "durationMs" }, { key: "success", fill: () => true }, { key: "exitCode" }, { key: "httpMethod" },
  { key: "httpStatus" }, { key: "fileOperation" }, { key: "timestamp", time: true, fill: now }, { key: "metadata", fill: emptyMap }
]
const span: ReadonlyArray<Field> = [
  { key: "traceId", required: true }, { key: "spanId", fill: newSpanId }, { key: "parentSpanId" }, { key: "tenantId", required: true },
  { key: "operationName", required: true }, { key: "startTime", time: true, fill: now }, { key: "endTime", time: true },
  { key: "provider", required: true }, { key: "modelName", required: true }, { key: "prompt", required: true }, { key: "response" },
  { key: "promptTokens" }, { key: "completionTokens" }, { key: "totalTokens" }, { key: "timeToFirstTokenMs" }, { key: "durationMs" },
  { key: "statusCode" }, { key: "errorMessage" }, { key: "estimatedCostUsd" }, { key: "securityScore" },
  { key: "securityFindings", fill: emptyList, items: finding }, { key: "tags", fill: emptyMap },
  { key: "events", fill: emptyList, items: event }, { key: "agentActions", fill: emptyList, items: action }
]
