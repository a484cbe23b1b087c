import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { TenantId } from "../domain/Ids.js"
import * as OtelMapping from "../domain/OtelMapping.js"
import type * as Otlp from "../domain/OtlpModel.js"
import { TraceSpan } from "../domain/Trace.js"
import { isTraceSpan } from "../domain/TraceSpanGuard.js"

const validateSpan = Schema.validateEither(TraceSpan, { errors: "first" })

const reason = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return issue === undefined ? "invalid" : `${issue.path.join(".")}: ${issue.message}`
}

/** The request's spans as TraceSpans of the tenant, and the refused ones described. */
export const toTraceSpans = (tenantId: TenantId, request: Otlp.ExportRequest) => {
  const spans: Array<TraceSpan> = []
  const refused: Array<string> = []
  for (const resource of request.resourceSpans) {
    const serviceName = OtelMapping.serviceNameOf(resource.resource.attributes)
    for (const scope of resource.scopeSpans) {
      for (const otlp of scope.spans) {
        const span = OtelMapping.toTraceSpan(tenantId, { serviceName, scopeName: scope.scope.name }, otlp)
        if (isTraceSpan(span)) spans.push(span)
        else {
          const checked = validateSpan(span)
          if (checked._tag === "Right") spans.push(checked.right)
          else refused.push(`span ${JSON.stringify(otlp.spanId)}: ${reason(checked.left)}`)
        }
      }
    }
  }
  return { spans, refused }
}

