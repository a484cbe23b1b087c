import { createHash } from "node:crypto"
import type { SpanId, TenantId, TraceId } from "./Ids.js"
import { type AnyValue, type Event, type KeyValue, type Span, toJson, toText } from "./OtlpModel.js"
import { truncateUtf8, utf8Length } from "./Primitives.js"
import type { SpanEvent, TraceSpan } from "./Trace.js"

/**
 * OpenTelemetry → TraceSpan: one table (like SpanFilters.table) says where each field of a TraceSpan comes from, in a
 * fixed precedence across the conventions clients send today (docs/DESIGN.md "OpenTelemetry ids and attributes"):
 *
 * 1. GenAI semconv v1.37+ (`gen_ai.provider.name`, `gen_ai.input.messages`, `gen_ai.output.messages`, …)
 * 2. GenAI semconv v1.36 (`gen_ai.system`, the `gen_ai.*.message` / `gen_ai.choice` span events)
 * 3. Traceloop / OpenLLMetry (`gen_ai.prompt.N.*`, `gen_ai.completion.N.*`, `gen_ai.usage.prompt_tokens`, …)
 * 4. OpenInference (`llm.*`, `input.value`, `output.value`)
 *
 * The first source that is present wins, and only its attributes are consumed; every other attribute (lower-ranked
 * alternatives too) stays a tag, bounded by {@link limits}. The result is not validated: the caller runs the
 * TraceSpan check (guard, then schema) and reports a refused span.
 */

/** Bounds on what one span keeps as tags and events; what goes beyond is counted in a tag, never a failure. */
export const limits = {
  /** Tags per span, the reserved ones (service.name, otel.*) included. */
  maxTags: 128,
  /** A longer key is dropped (a cut key could collide with another). */
  maxKeyBytes: 256,
  /** A longer value is cut to this many UTF-8 bytes. */
  maxValueBytes: 8192,
  /** Span events kept (beyond the ones the table consumed). */
  maxEvents: 128,
  /** Data entries per kept event (same key and value bounds as tags). */
  maxEventData: 32
} as const

/** Tags the mapping itself writes. */
export const reservedTags = {
  serviceName: "service.name",
  scope: "otel.scope.name",
  spanName: "otel.span.name",
  status: "otel.status_code",
  dropped: "otel.dropped_attributes_count",
  truncated: "otel.truncated_attributes_count",
  droppedEvents: "otel.dropped_events_count"
} as const

/** One span with its attributes by key, read by the table. */
export interface View {
  readonly span: Span
  readonly attributes: ReadonlyMap<string, AnyValue>
}

/** What a source found: the value, and the attributes and events it took (removed from tags and events). */
export interface Found<A> {
  readonly value: A
  readonly keys: ReadonlyArray<string>
  readonly events?: ReadonlyArray<number>
}

export interface Source<A> {
  readonly convention: "GenAI v1.37" | "GenAI v1.36" | "Traceloop" | "OpenInference" | "OpenLIT" | "OTel"
  readonly read: (view: View) => Found<A> | undefined
}

// ---- readers ------------------------------------------------------------------------------------------------------

const text = (convention: Source<string>["convention"], key: string): Source<string> => ({
  convention,
  read: (v) => {
    const value = v.attributes.get(key)
    if (value === undefined || value === null) return undefined
    const s = toText(value)
    return s.length === 0 ? undefined : { value: s, keys: [key] }
  }
})

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER)
const digits = /^\d{1,20}$/

/** A non-negative integer attribute that fits a safe integer; a larger one stays a tag, exact. */
const count = (convention: Source<number>["convention"], key: string): Source<number> => ({
  convention,
  read: (v) => {
    const value = v.attributes.get(key)
    // A number needs no bigint (-0 is 0).
    if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? { value: value + 0, keys: [key] } : undefined
    const n = typeof value === "bigint" ? value : typeof value === "string" && digits.test(value) ? BigInt(value) : undefined
    return n !== undefined && n >= 0n && n <= maxSafe ? { value: Number(n), keys: [key] } : undefined
  }
})

const finite = (convention: Source<number>["convention"], key: string): Source<number> => ({
  convention,
  read: (v) => {
    const value = v.attributes.get(key)
    const n = typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : undefined
    return n !== undefined && Number.isFinite(n) && n >= 0 ? { value: n, keys: [key] } : undefined
  }
})

/** A messages attribute: a JSON string as given, a structured value as JSON. */
const messages = (key: string): Source<string> => ({
  convention: "GenAI v1.37",
  read: (v) => {
    const value = v.attributes.get(key)
    if (value === undefined || value === null) return undefined
    return { value: typeof value === "string" ? value : toJson(value), keys: [key] }
  }
})

/**
 * Flattened indexed messages (`gen_ai.prompt.0.role`, `llm.input_messages.0.message.content`): one JSON object per
 * index, in index order, each holding its sub-keys (`role`, `content`, `tool_calls.0.…`) with their values.
 */
const indexed = (convention: Source<string>["convention"], prefix: string, infix: string): Source<string> => ({
  convention,
  read: (v) => {
    const byIndex = new Map<number, Array<KeyValue>>()
    const keys: Array<string> = []
    for (const [key, value] of v.attributes) {
      if (!key.startsWith(prefix)) continue
      const rest = key.slice(prefix.length)
      const dot = rest.indexOf(".")
      if (dot <= 0 || !/^\d+$/.test(rest.slice(0, dot)) || !rest.startsWith(infix, dot + 1)) continue
      const index = Number(rest.slice(0, dot))
      const sub = rest.slice(dot + 1 + infix.length)
      if (sub.length === 0) continue
      const list = byIndex.get(index) ?? []
      list.push({ key: sub, value })
      byIndex.set(index, list)
      keys.push(key)
    }
    if (keys.length === 0) return undefined
    const ordered = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, kvlist]) => toJson({ kvlist }))
    return { value: `[${ordered.join(",")}]`, keys }
  }
})

const messageEvents: Record<string, string> = {
  "gen_ai.system.message": "system",
  "gen_ai.user.message": "user",
  "gen_ai.assistant.message": "assistant",
  "gen_ai.tool.message": "tool"
}

/** v1.36 message events: one JSON object per event, `role` from the event's name unless an attribute gives it. */
const eventMessages = (accept: (name: string) => string | undefined): Source<string> => ({
  convention: "GenAI v1.36",
  read: (v) => {
    const taken: Array<number> = []
    const objects: Array<string> = []
    v.span.events.forEach((e, i) => {
      const role = accept(e.name)
      if (role === undefined) return
      taken.push(i)
      const kvlist = e.attributes.some((a) => a.key === "role") || role === "" ? e.attributes : [{ key: "role", value: role }, ...e.attributes]
      objects.push(toJson({ kvlist }))
    })
    return taken.length === 0 ? undefined : { value: `[${objects.join(",")}]`, keys: [], events: taken }
  }
})

/** An older v1.36 shape: one event holding the whole prompt or completion in one attribute. */
const contentEvent = (name: string, key: string): Source<string> => ({
  convention: "GenAI v1.36",
  read: (v) => {
    const i = v.span.events.findIndex((e) => e.name === name && e.attributes.some((a) => a.key === key))
    if (i < 0) return undefined
    const value = v.span.events[i]!.attributes.find((a) => a.key === key)!.value
    return { value: toText(value), keys: [], events: [i] }
  }
})

const spanName: Source<string> = {
  convention: "OTel",
  read: (v) => (v.span.name.length > 0 ? { value: v.span.name, keys: [] } : undefined)
}

/** The error text of a span whose status is ERROR: the status message, an exception event's message, or `error.type`. */
const statusError: Source<string> = {
  convention: "OTel",
  read: (v) => {
    if (v.span.status.code !== 2) return undefined
    if (v.span.status.message.length > 0) return { value: v.span.status.message, keys: [] }
    for (const e of v.span.events) {
      const message = e.name === "exception" ? e.attributes.find((a) => a.key === "exception.message") : undefined
      if (message !== undefined) return { value: toText(message.value), keys: [] }
    }
    const type = v.attributes.get("error.type")
    return { value: type === undefined || type === null ? "error" : toText(type), keys: [] }
  }
}

// ---- the table ----------------------------------------------------------------------------------------------------

/** The mapped fields of a TraceSpan, each with its sources in precedence order (first present wins). */
export const table = {
  provider: [
    text("GenAI v1.37", "gen_ai.provider.name"),
    text("GenAI v1.36", "gen_ai.system"),
    text("OpenInference", "llm.provider"),
    text("OpenInference", "llm.system")
  ],
  modelName: [
    text("GenAI v1.37", "gen_ai.response.model"),
    text("GenAI v1.37", "gen_ai.request.model"),
    text("OpenInference", "llm.model_name")
  ],
  operationName: [text("GenAI v1.37", "gen_ai.operation.name"), text("OpenInference", "openinference.span.kind"), spanName],
  prompt: [
    messages("gen_ai.input.messages"),
    eventMessages((name) => messageEvents[name]),
    contentEvent("gen_ai.content.prompt", "gen_ai.prompt"),
    indexed("Traceloop", "gen_ai.prompt.", ""),
    indexed("OpenInference", "llm.input_messages.", "message."),
    text("OpenInference", "input.value")
  ],
  response: [
    messages("gen_ai.output.messages"),
    eventMessages((name) => (name === "gen_ai.choice" ? "" : undefined)),
    contentEvent("gen_ai.content.completion", "gen_ai.completion"),
    indexed("Traceloop", "gen_ai.completion.", ""),
    indexed("OpenInference", "llm.output_messages.", "message."),
    text("OpenInference", "output.value")
  ],
  promptTokens: [
    count("GenAI v1.37", "gen_ai.usage.input_tokens"),
    count("Traceloop", "gen_ai.usage.prompt_tokens"),
    count("OpenInference", "llm.token_count.prompt")
  ],
  completionTokens: [
    count("GenAI v1.37", "gen_ai.usage.output_tokens"),
    count("Traceloop", "gen_ai.usage.completion_tokens"),
    count("OpenInference", "llm.token_count.completion")
  ],
  totalTokens: [
    count("GenAI v1.37", "gen_ai.usage.total_tokens"),
    count("Traceloop", "llm.usage.total_tokens"),
    count("OpenInference", "llm.token_count.total")
  ],
  statusCode: [count("OTel", "http.response.status_code"), count("OTel", "http.status_code")],
  errorMessage: [statusError],
  estimatedCostUsd: [finite("OpenLIT", "gen_ai.usage.cost"), finite("OpenInference", "llm.cost.total")]
} satisfies Record<string, ReadonlyArray<Source<string> | Source<number>>>

/** What stands in for a required field no source gave (a span that is not an LLM call, e.g. an agent step). */
export const fallback = { provider: "unknown", modelName: "unknown", operationName: "span", prompt: "" } as const

/** Semconv provider names → this library's well-known provider names; any other name is kept as sent. */
export const providerNames: Readonly<Record<string, string>> = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  "aws.bedrock": "Bedrock",
  "azure.ai.openai": "AzureOpenAI",
  "az.ai.openai": "AzureOpenAI",
  ollama: "Ollama",
  vllm: "VLLm",
  sglang: "SGLang",
  tgi: "TGI"
}

const first = <A>(sources: ReadonlyArray<Source<A>>, view: View): Found<A> | undefined => {
  for (const source of sources) {
    const found = source.read(view)
    if (found !== undefined) return found
  }
  return undefined
}

/** Nanoseconds since the epoch → a Date (milliseconds, floored). */
const dateOf = (nanos: bigint): Date => new Date(Number(nanos / 1_000_000n))

/** A UUID derived from a span id and an index: the same export stored twice gives the same event ids. */
const eventId = (spanId: string, index: number): string => {
  const h = createHash("sha256").update(`${spanId}/event/${index}`).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** A bounded string map: keys and values capped by {@link limits}; counts what it cut and dropped. */
class BoundedMap {
  readonly map: Record<string, string> = {}
  private size = 0
  dropped = 0
  truncated = 0
  constructor(private readonly maxEntries: number) {}

  add(key: string, value: string): void {
    // A key of at most a third of the bound in UTF-16 units fits it in UTF-8 whatever it holds: no need to count.
    if (key === "__proto__" || (key.length * 3 > limits.maxKeyBytes && utf8Length(key) > limits.maxKeyBytes)) {
      this.dropped++
      return
    }
    const known = Object.hasOwn(this.map, key)
    if (!known && this.size >= this.maxEntries) {
      this.dropped++
      return
    }
    if (!known) this.size++
    const cut = value.length > limits.maxValueBytes / 3 ? truncateUtf8(value, limits.maxValueBytes) : value
    if (cut.length !== value.length) this.truncated++
    this.map[key] = cut
  }
}

export interface Resource {
  /** `service.name` of the resource, when given. */
  readonly serviceName?: string | undefined
  readonly scopeName?: string | undefined
}

/** The resource's `service.name`, the one resource attribute a span keeps. */
export const serviceNameOf = (attributes: ReadonlyArray<KeyValue>): string | undefined => {
  const found = attributes.find((a) => a.key === "service.name")
  return found === undefined || found.value === null ? undefined : toText(found.value)
}

/**
 * One OTLP span as a TraceSpan of `tenantId` (unvalidated: ids or dates out of range are left for the TraceSpan
 * check to refuse). The tenant comes from the caller, never from the span.
 */
export const toTraceSpan = (tenantId: TenantId, resource: Resource, span: Span): TraceSpan => {
  const attributes = new Map<string, AnyValue>()
  for (const a of span.attributes) attributes.set(a.key, a.value)
  const view: View = { span, attributes }
  const consumedKeys = new Set<string>()
  const consumedEvents = new Set<number>()
  const take = <A>(sources: ReadonlyArray<Source<A>>): A | undefined => {
    const found = first(sources, view)
    if (found === undefined) return undefined
    for (const k of found.keys) consumedKeys.add(k)
    for (const e of found.events ?? []) consumedEvents.add(e)
    return found.value
  }

  const provider = take(table.provider)
  const modelName = take(table.modelName)
  const operationName = take(table.operationName)
  const prompt = take(table.prompt)
  const response = take(table.response)
  const promptTokens = take(table.promptTokens)
  const completionTokens = take(table.completionTokens)
  const totalTokens = take(table.totalTokens)
  const statusCode = take(table.statusCode)
  const errorMessage = take(table.errorMessage)
  const estimatedCostUsd = take(table.estimatedCostUsd)

  // Room is kept for the counters, so they are never the ones dropped.
  const tags = new BoundedMap(limits.maxTags - 3)
  if (resource.serviceName !== undefined) tags.add(reservedTags.serviceName, resource.serviceName)
  if (resource.scopeName !== undefined && resource.scopeName.length > 0) tags.add(reservedTags.scope, resource.scopeName)
  if (span.name.length > 0) tags.add(reservedTags.spanName, span.name)
  if (span.status.code === 1 || span.status.code === 2) tags.add(reservedTags.status, span.status.code === 1 ? "OK" : "ERROR")
  for (const a of span.attributes) {
    if (!consumedKeys.has(a.key) && !a.key.startsWith("otel.")) tags.add(a.key, toText(a.value))
  }

  const events: Array<SpanEvent> = []
  let droppedEvents = 0
  for (let i = 0; i < span.events.length; i++) {
    if (consumedEvents.has(i)) continue
    if (events.length < limits.maxEvents) events.push(toSpanEvent(span.spanId, span.events[i]!, i, tags))
    else droppedEvents++
  }

  const dropped = tags.dropped + span.droppedAttributesCount
  if (dropped > 0) tags.map[reservedTags.dropped] = String(dropped)
  if (tags.truncated > 0) tags.map[reservedTags.truncated] = String(tags.truncated)
  if (droppedEvents > 0) tags.map[reservedTags.droppedEvents] = String(droppedEvents)

  const start = span.startTimeUnixNano
  const end = span.endTimeUnixNano
  const out: { -readonly [K in keyof TraceSpan]: TraceSpan[K] } = {
    traceId: span.traceId as TraceId,
    spanId: span.spanId as SpanId,
    tenantId,
    operationName: operationName ?? fallback.operationName,
    startTime: dateOf(start),
    provider: provider === undefined ? fallback.provider : providerNames[provider.toLowerCase()] ?? provider,
    modelName: modelName ?? fallback.modelName,
    prompt: prompt ?? fallback.prompt,
    securityFindings: [],
    tags: tags.map,
    events,
    agentActions: []
  }
  if (span.parentSpanId.length > 0) out.parentSpanId = span.parentSpanId as SpanId
  if (end > 0n && end >= start) {
    out.endTime = dateOf(end)
    out.durationMs = Number(end - start) / 1e6
  }
  if (response !== undefined) out.response = response
  if (promptTokens !== undefined) out.promptTokens = promptTokens
  if (completionTokens !== undefined) out.completionTokens = completionTokens
  if (totalTokens !== undefined) out.totalTokens = totalTokens
  if (statusCode !== undefined) out.statusCode = statusCode
  if (errorMessage !== undefined) out.errorMessage = errorMessage
  if (estimatedCostUsd !== undefined) out.estimatedCostUsd = estimatedCostUsd
  return out
}

const toSpanEvent = (spanId: string, e: Event, index: number, tags: { truncated: number; dropped: number }): SpanEvent => {
  const data = new BoundedMap(limits.maxEventData)
  for (const a of e.attributes) data.add(a.key, toText(a.value))
  tags.truncated += data.truncated
  tags.dropped += data.dropped
  const message = e.name === "exception" ? e.attributes.find((a) => a.key === "exception.message") : undefined
  return {
    id: eventId(spanId, index),
    timestamp: dateOf(e.timeUnixNano),
    eventType: e.name.length > 0 ? e.name : "event",
    description: message === undefined ? "" : truncateUtf8(toText(message.value), limits.maxValueBytes),
    data: data.map
  }
}
