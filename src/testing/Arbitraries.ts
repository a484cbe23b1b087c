import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import type * as Schema from "effect/Schema"
import { ApiKeyRecord } from "../domain/ApiKey.js"
import { AuditEvent } from "../domain/Audit.js"
import { SpanId, TenantId, TraceId } from "../domain/Ids.js"
import { ComplianceReport } from "../domain/Report.js"
import { Tenant, TenantConfig } from "../domain/Tenant.js"
import { AgentAction, SecurityFinding, SpanEvent, type TraceEvent, TraceSpan } from "../domain/Trace.js"

/**
 * fast-check arbitraries derived from the domain's schemas (Effect's `Arbitrary`), for `it.prop` and
 * `it.effect.prop`: every value generated is one the schema and the services' boundary accept, so a
 * backend must store it.
 */
/** Whether a value holds an own `__proto__` key at any depth (fast-check's objects can; no decoded object keeps one). */
const hasProtoKey = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.some(hasProtoKey)
  if (value === null || typeof value !== "object" || value instanceof Date || value instanceof Uint8Array) return false
  return Object.hasOwn(value, "__proto__") || Object.values(value).some(hasProtoKey)
}

/** The schema's arbitrary, less the values the services refuse at their boundary (an own `__proto__` key). */
export const storable = <A, I, R>(schema: Schema.Schema<A, I, R>): FastCheck.Arbitrary<A> => Arbitrary.make(schema).filter((a) => !hasProtoKey(a))

export const tenantId: FastCheck.Arbitrary<TenantId> = Arbitrary.make(TenantId)
export const traceId: FastCheck.Arbitrary<TraceId> = Arbitrary.make(TraceId)
export const spanId: FastCheck.Arbitrary<SpanId> = Arbitrary.make(SpanId)
export const span: FastCheck.Arbitrary<TraceSpan> = storable(TraceSpan)
export const securityFinding: FastCheck.Arbitrary<SecurityFinding> = storable(SecurityFinding)
export const spanEvent: FastCheck.Arbitrary<SpanEvent> = storable(SpanEvent)
export const agentAction: FastCheck.Arbitrary<AgentAction> = storable(AgentAction)
export const tenant: FastCheck.Arbitrary<Tenant> = storable(Tenant)
export const tenantConfig: FastCheck.Arbitrary<TenantConfig> = storable(TenantConfig)
export const apiKeyRecord: FastCheck.Arbitrary<ApiKeyRecord> = storable(ApiKeyRecord)
export const auditEvent: FastCheck.Arbitrary<AuditEvent> = storable(AuditEvent)
export const complianceReport: FastCheck.Arbitrary<ComplianceReport> = storable(ComplianceReport)

/** Spans of one trace of one tenant, with distinct span ids. */
export const spansOf = (
  tenant: TenantId,
  trace: TraceId,
  constraints: { readonly minLength?: number; readonly maxLength?: number } = {}
): FastCheck.Arbitrary<Array<TraceSpan>> =>
  FastCheck.uniqueArray(span.map((s): TraceSpan => ({ ...s, tenantId: tenant, traceId: trace })), {
    selector: (s) => s.spanId,
    minLength: constraints.minLength ?? 0,
    maxLength: constraints.maxLength ?? 8
  })

/** A trace whose spans all carry its ids (built, not filtered: the schema's own check rejects almost every random pairing). */
export const trace: FastCheck.Arbitrary<TraceEvent> = FastCheck.tuple(tenantId, traceId, span).chain(([tenant, id, first]) =>
  spansOf(tenant, id).map((spans): TraceEvent => ({ tenantId: tenant, traceId: id, createdAt: first.startTime, spans }))
)
