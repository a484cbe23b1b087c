/**
 * An OTLP trace export (ExportTraceServiceRequest) after decoding, the same from JSON and from protobuf:
 * ids are lowercase hex (empty when absent), every 64-bit integer is a `bigint` (exact), doubles are numbers.
 * It is what {@link OtelMapping} reads; the decoders live in `src/internal/otlp/`.
 */
export type AnyValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | null
  | { readonly array: ReadonlyArray<AnyValue> }
  | { readonly kvlist: ReadonlyArray<KeyValue> }

export interface KeyValue {
  readonly key: string
  readonly value: AnyValue
}

export interface Event {
  readonly timeUnixNano: bigint
  readonly name: string
  readonly attributes: ReadonlyArray<KeyValue>
}

/** OTLP's status codes: 0 unset, 1 ok, 2 error. */
export interface Status {
  readonly code: number
  readonly message: string
}

export interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  readonly startTimeUnixNano: bigint
  readonly endTimeUnixNano: bigint
  readonly attributes: ReadonlyArray<KeyValue>
  readonly droppedAttributesCount: number
  readonly events: ReadonlyArray<Event>
  readonly status: Status
}

export interface ScopeSpans {
  readonly scope: { readonly name: string; readonly version: string }
  readonly spans: ReadonlyArray<Span>
}

export interface ResourceSpans {
  readonly resource: { readonly attributes: ReadonlyArray<KeyValue> }
  readonly scopeSpans: ReadonlyArray<ScopeSpans>
}

export interface ExportRequest {
  readonly resourceSpans: ReadonlyArray<ResourceSpans>
}

/** The number of spans in a request. */
export const spanCount = (request: ExportRequest): number => {
  let n = 0
  for (const r of request.resourceSpans) for (const s of r.scopeSpans) n += s.spans.length
  return n
}

const isArrayValue = (v: AnyValue): v is { readonly array: ReadonlyArray<AnyValue> } =>
  typeof v === "object" && v !== null && !(v instanceof Uint8Array) && "array" in v

const isKvlistValue = (v: AnyValue): v is { readonly kvlist: ReadonlyArray<KeyValue> } =>
  typeof v === "object" && v !== null && !(v instanceof Uint8Array) && "kvlist" in v

/** A value as JSON text: integers exact (as number literals), bytes as base64, a kvlist as an object. */
export const toJson = (v: AnyValue): string => {
  if (v === null) return "null"
  switch (typeof v) {
    case "string":
      return JSON.stringify(v)
    case "boolean":
      return v ? "true" : "false"
    case "bigint":
      return v.toString()
    case "number":
      return Number.isFinite(v) ? JSON.stringify(v) : JSON.stringify(String(v))
  }
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString("base64"))
  if (isArrayValue(v)) return `[${v.array.map(toJson).join(",")}]`
  if (isKvlistValue(v)) return `{${v.kvlist.map((kv) => `${JSON.stringify(kv.key)}:${toJson(kv.value)}`).join(",")}}`
  return "null"
}

/** A value as tag text: a string as given, a scalar as its literal, anything else as JSON. */
export const toText = (v: AnyValue): string => (typeof v === "string" ? v : typeof v === "number" && !Number.isFinite(v) ? String(v) : toJson(v))
