import type { TenantId } from "../../domain/Ids.js"
import * as OtelMapping from "../../domain/OtelMapping.js"
import type * as Otlp from "../../domain/OtlpModel.js"
import type { TraceSpan } from "../../domain/Trace.js"
import * as CheckedSpans from "../ingest/CheckedSpans.js"

/**
 * The request's spans as TraceSpans of the tenant, and the refused ones described. The spans are checked here, once
 * (CheckedSpans): the TraceWriter takes the returned array without checking it again.
 */
export const toTraceSpans = (tenantId: TenantId, request: Otlp.ExportRequest): { readonly spans: ReadonlyArray<TraceSpan>; readonly refused: Array<string> } => {
  const candidates: Array<TraceSpan> = []
  const ids: Array<string> = []
  for (const resource of request.resourceSpans) {
    const serviceName = OtelMapping.serviceNameOf(resource.resource.attributes)
    for (const scope of resource.scopeSpans) {
      const context = { serviceName, scopeName: scope.scope.name }
      for (const otlp of scope.spans) {
        candidates.push(OtelMapping.toTraceSpan(tenantId, context, otlp))
        ids.push(otlp.spanId)
      }
    }
  }
  const { refused, spans } = CheckedSpans.check(candidates)
  return { spans, refused: refused.map((r) => `span ${JSON.stringify(ids[r.index])}: ${r.reason}`) }
}
