import * as Schema from "effect/Schema"
import { newTenantId, TenantId } from "./Ids.js"
import { JsonObject, NonEmptyText, NonNegativeFinite, NonNegativeInt, Text, textRecord, Timestamp } from "./Primitives.js"

export const Tenant = Schema.Struct({
  id: Schema.propertySignature(TenantId).pipe(Schema.withConstructorDefault(newTenantId)),
  name: Text,
  apiToken: NonEmptyText,
  plan: NonEmptyText,
  createdAt: Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(() => new Date())),
  config: Schema.optionalWith(JsonObject, { default: () => ({}), exact: true })
}).annotations({ identifier: "Tenant" })
export type Tenant = typeof Tenant.Type

export const MonitoringScope = Schema.Literal("hybrid", "input_only", "output_only")
export type MonitoringScope = typeof MonitoringScope.Type

export const TenantConfig = Schema.Struct({
  tenantId: TenantId,
  securityThresholds: Schema.optionalWith(textRecord(Schema.Finite), {
    default: () => ({}),
    exact: true
  }),
  featureFlags: Schema.optionalWith(textRecord(Schema.Boolean), {
    default: () => ({}),
    exact: true
  }),
  monitoringScope: Schema.optionalWith(MonitoringScope, { default: () => "hybrid" as const, exact: true }),
  rateLimitRpm: Schema.optional(NonNegativeInt),
  monthlyBudget: Schema.optional(NonNegativeFinite)
}).annotations({ identifier: "TenantConfig" })
export type TenantConfig = typeof TenantConfig.Type
