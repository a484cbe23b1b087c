import * as Schema from "effect/Schema"
import { newTenantId, TenantId } from "./Ids.js"
import {
  isJsonObject,
  isNonEmptyText,
  isText,
  isTimestamp,
  isUuid,
  JsonObject,
  NonEmptyText,
  NonNegativeFinite,
  NonNegativeInt,
  Text,
  textRecord,
  Timestamp
} from "./Primitives.js"

export const Tenant = Schema.Struct({
  id: Schema.propertySignature(TenantId).pipe(Schema.withConstructorDefault(newTenantId)),
  name: Text,
  apiToken: NonEmptyText,
  plan: NonEmptyText,
  createdAt: Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(() => new Date())),
  config: Schema.optionalWith(JsonObject, { default: () => ({}), exact: true })
}).annotations({ identifier: "Tenant" })
export type Tenant = typeof Tenant.Type

const tenantKeys: ReadonlySet<string> = new Set(["id", "name", "apiToken", "plan", "createdAt", "config"])

/**
 * What `Tenant` accepts (type side), recognised by hand: a plain object with exactly the fields above.
 * Anything else (a field more or less, an unusual value) is left to the schema, so a change of the
 * schema's fields sends every tenant to the schema until this guard follows.
 */
export const isTenant = (u: unknown): u is Tenant => {
  if (typeof u !== "object" || u === null || Object.getPrototypeOf(u) !== Object.prototype) return false
  let fields = 0
  for (const key in u) {
    if (!tenantKeys.has(key)) return false
    fields++
  }
  const t = u as Record<string, unknown>
  return fields === tenantKeys.size && isUuid(t.id) && isText(t.name) && isNonEmptyText(t.apiToken) && isNonEmptyText(t.plan) &&
    isTimestamp(t.createdAt) && isJsonObject(t.config)
}

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
