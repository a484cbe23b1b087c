import * as Schema from "effect/Schema"
import { TenantId, uuid } from "./Ids.js"
import { JsonObject, NonEmptyText, Text, Timestamp, Uuid } from "./Primitives.js"

export const ReportStatus = Schema.Literal("pending", "completed", "failed")
export type ReportStatus = typeof ReportStatus.Type

export const ComplianceReport = Schema.Struct({
  id: Schema.propertySignature(Uuid).pipe(Schema.withConstructorDefault(uuid)),
  tenantId: TenantId,
  reportType: NonEmptyText,
  status: Schema.optionalWith(ReportStatus, { default: () => "pending" as const, exact: true }),
  periodStart: Timestamp,
  periodEnd: Timestamp,
  createdAt: Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(() => new Date())),
  completedAt: Schema.optional(Timestamp),
  content: Schema.optional(JsonObject),
  error: Schema.optional(Text)
}).annotations({ identifier: "ComplianceReport" })
export type ComplianceReport = typeof ComplianceReport.Type
