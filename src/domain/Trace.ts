import * as Schema from "effect/Schema"
import { newSpanId, SpanId, TenantId, TraceId, uuid } from "./Ids.js"
import { NonEmptyText, NonNegativeFinite, NonNegativeInt, Text, TextMap, Timestamp, truncateUtf8, Uuid, utf8Length } from "./Primitives.js"

const now = () => new Date()
const freshId = <S extends Schema.Schema.Any>(schema: S, make: () => Schema.Schema.Type<S>) =>
  Schema.propertySignature(schema).pipe(Schema.withConstructorDefault(make))
const emptyArray = <S extends Schema.Schema.Any>(item: S) =>
  Schema.optionalWith(Schema.Array(item), { default: () => [], exact: true })
const emptyMap = Schema.optionalWith(TextMap, { default: () => ({}), exact: true })
const createdNow = Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(now))

/** Well-known providers; any other non-empty string is a custom provider. */
export const KnownProviders = ["OpenAI", "Anthropic", "VLLm", "SGLang", "TGI", "Ollama", "AzureOpenAI", "Bedrock"] as const
export const Provider = NonEmptyText.annotations({ identifier: "Provider", examples: [...KnownProviders] })

export const Severity = Schema.Literal("Info", "Low", "Medium", "High", "Critical")
export type Severity = typeof Severity.Type

export const SecurityFinding = Schema.Struct({
  id: freshId(Uuid, uuid),
  severity: Severity,
  findingType: NonEmptyText,
  description: Text,
  detectedAt: createdNow,
  confidenceScore: Schema.Finite.pipe(Schema.between(0, 1)),
  location: Schema.optional(Text),
  metadata: emptyMap,
  requiresAlert: Schema.optionalWith(Schema.Boolean, { default: () => false, exact: true })
}).annotations({ identifier: "SecurityFinding" })
export type SecurityFinding = typeof SecurityFinding.Type

export const SpanEvent = Schema.Struct({
  id: freshId(Uuid, uuid),
  timestamp: createdNow,
  eventType: NonEmptyText,
  description: Text,
  data: emptyMap
}).annotations({ identifier: "SpanEvent" })
export type SpanEvent = typeof SpanEvent.Type

export const AgentActionType = Schema.Literal("tool_call", "skill_invocation", "command_execution", "web_access", "file_access")
export type AgentActionType = typeof AgentActionType.Type

/** The largest agent-action result kept, in UTF-8 bytes; longer results are truncated. */
export const MAX_ACTION_RESULT_BYTES = 4096

/** An action result: decoding truncates it to {@link MAX_ACTION_RESULT_BYTES}; a stored one never exceeds it. */
const ActionResult = Schema.transform(
  Text,
  Text.pipe(
    Schema.filter((s) => utf8Length(s) <= MAX_ACTION_RESULT_BYTES || `must be at most ${MAX_ACTION_RESULT_BYTES} bytes`)
  ),
  { strict: true, decode: (s) => truncateUtf8(s, MAX_ACTION_RESULT_BYTES), encode: (s) => s }
)

const AgentActionFields = Schema.Struct({
  id: freshId(Uuid, uuid),
  actionType: AgentActionType,
  name: NonEmptyText,
  arguments: Schema.optional(Text),
  result: Schema.optional(ActionResult),
  durationMs: Schema.optional(NonNegativeFinite),
  success: Schema.optionalWith(Schema.Boolean, { default: () => true, exact: true }),
  exitCode: Schema.optional(Schema.Int),
  httpMethod: Schema.optional(NonEmptyText),
  httpStatus: Schema.optional(Schema.Int.pipe(Schema.between(100, 599))),
  fileOperation: Schema.optional(NonEmptyText),
  timestamp: createdNow,
  metadata: emptyMap
}).annotations({ identifier: "AgentAction" })

export const AgentAction = Object.assign(AgentActionFields.annotations({}), {
  /** Builds an action, filling id and timestamp and truncating an over-long result. */
  make: (props: Parameters<typeof AgentActionFields.make>[0]): typeof AgentActionFields.Type =>
    AgentActionFields.make(
      props.result === undefined ? props : { ...props, result: truncateUtf8(props.result, MAX_ACTION_RESULT_BYTES) }
    )
})
export type AgentAction = typeof AgentAction.Type

export const SecurityScore = Schema.Int.pipe(Schema.between(0, 100)).annotations({ identifier: "SecurityScore" })

export const TraceSpan = Schema.Struct({
  traceId: TraceId,
  spanId: freshId(SpanId, newSpanId),
  parentSpanId: Schema.optional(SpanId),
  tenantId: TenantId,
  operationName: NonEmptyText,
  startTime: createdNow,
  endTime: Schema.optional(Timestamp),
  provider: Provider,
  modelName: NonEmptyText,
  prompt: Text,
  response: Schema.optional(Text),
  promptTokens: Schema.optional(NonNegativeInt),
  completionTokens: Schema.optional(NonNegativeInt),
  totalTokens: Schema.optional(NonNegativeInt),
  timeToFirstTokenMs: Schema.optional(NonNegativeFinite),
  durationMs: Schema.optional(NonNegativeFinite),
  statusCode: Schema.optional(Schema.Int),
  errorMessage: Schema.optional(Text),
  estimatedCostUsd: Schema.optional(NonNegativeFinite),
  securityScore: Schema.optional(SecurityScore),
  securityFindings: emptyArray(SecurityFinding),
  tags: emptyMap,
  events: emptyArray(SpanEvent),
  agentActions: emptyArray(AgentAction)
}).annotations({ identifier: "TraceSpan" })
export type TraceSpan = typeof TraceSpan.Type

const TraceEventFields = Schema.Struct({
  traceId: TraceId,
  tenantId: TenantId,
  spans: emptyArray(TraceSpan),
  createdAt: createdNow
})

/** A trace and its spans. Every span carries the trace's id and tenant. */
const TraceEventChecked = TraceEventFields.pipe(
  Schema.filter((trace) =>
    trace.spans.every((s) => s.traceId === trace.traceId && s.tenantId === trace.tenantId) ||
    { path: ["spans"], message: "every span must carry the trace's traceId and tenantId" }
  ),
  Schema.annotations({ identifier: "TraceEvent" })
)

export const TraceEvent = Object.assign(TraceEventChecked.annotations({}), {
  /** Builds a trace, filling createdAt and checking that its spans belong to it. */
  make: (props: Parameters<typeof TraceEventFields.make>[0]): typeof TraceEventFields.Type =>
    TraceEventChecked.make(TraceEventFields.make(props))
})
export type TraceEvent = typeof TraceEventFields.Type
