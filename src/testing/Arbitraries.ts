import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import { ApiKeyRecord } from "../domain/ApiKey.js"
import { AuditEvent } from "../domain/Audit.js"
import { SpanId, TenantId, TraceId } from "../domain/Ids.js"
import { ComplianceReport } from "../domain/Report.js"
import { Tenant, TenantConfig } from "../domain/Tenant.js"
import { AgentAction, SecurityFinding, SpanEvent, type TraceEvent, TraceSpan } from "../domain/Trace.js"

/**
 * fast-check arbitraries derived from the domain's schemas (Effect's `Arbitrary`), for `it.prop` and
 * `it.effect.prop`: every value generated is one the schema accepts, so a backend must store it.
 */
export const tenantId: FastCheck.Arbitrary<TenantId> = Arbitrary.make(TenantId)
export const traceId: FastCheck.Arbitrary<TraceId> = Arbitrary.make(TraceId)
export const spanId: FastCheck.Arbitrary<SpanId> = Arbitrary.make(SpanId)
export const span: FastCheck.Arbitrary<TraceSpan> = Arbitrary.make(TraceSpan)
export const securityFinding: FastCheck.Arbitrary<SecurityFinding> = Arbitrary.make(SecurityFinding)
export const spanEvent: FastCheck.Arbitrary<SpanEvent> = Arbitrary.make(SpanEvent)
export const agentAction: FastCheck.Arbitrary<AgentAction> = Arbitrary.make(AgentAction)
export const tenant: FastCheck.Arbitrary<Tenant> = Arbitrary.make(Tenant)
export const tenantConfig: FastCheck.Arbitrary<TenantConfig> = Arbitrary.make(TenantConfig)
export const apiKeyRecord: FastCheck.Arbitrary<ApiKeyRecord> = Arbitrary.make(ApiKeyRecord)
export const auditEvent: FastCheck.Arbitrary<AuditEvent> = Arbitrary.make(AuditEvent)
export const complianceReport: FastCheck.Arbitrary<ComplianceReport> = Arbitrary.make(ComplianceReport)

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
