import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { KeyHash } from "./ApiKey.js"
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

/** The SHA-256 of an API token as 64 lower-case hex digits: what is stored and indexed, never the token. */
export const hashApiToken = (apiToken: string): string => createHash("sha256").update(apiToken, "utf8").digest("hex")

/**
 * The part of a token shown to people (lists, logs): its first code points, at most 8 and never more
 * than a quarter of the token, so the prefix of a short token gives little of it away (a 3-character
 * token has an empty prefix). Whole code points, so an emoji is never cut in half.
 */
export const apiTokenPrefix = (apiToken: string): string => {
  // 64 UTF-16 units hold at least 32 code points, whose quarter is the full 8: no need to split the rest.
  const long = apiToken.length >= 64
  const points = Array.from(long ? apiToken.slice(0, 16) : apiToken)
  return points.slice(0, Math.min(8, Math.floor((long ? 32 : points.length) / 4))).join("")
}

const tenantFields = {
  id: Schema.propertySignature(TenantId).pipe(Schema.withConstructorDefault(newTenantId)),
  name: Text,
  plan: NonEmptyText,
  createdAt: Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(() => new Date())),
  config: Schema.optionalWith(JsonObject, { default: () => ({}), exact: true })
}

/**
 * A tenant as stored and read back. The API token itself is never kept (DESIGN.md §10): only its
 * SHA-256 ({@link hashApiToken}, what lookups and cache invalidation go by) and {@link apiTokenPrefix}
 * for display. (API keys work the same way: `keyHash` and `keyPrefix`.)
 */
export const Tenant = Schema.Struct({
  ...tenantFields,
  apiTokenHash: KeyHash,
  apiTokenPrefix: Text
}).annotations({ identifier: "Tenant" })
export type Tenant = typeof Tenant.Type

/** A tenant as created or replaced: with its API token, which the repository hashes and forgets. */
export const NewTenant = Schema.Struct({
  ...tenantFields,
  apiToken: NonEmptyText
}).annotations({ identifier: "NewTenant" })
export type NewTenant = typeof NewTenant.Type

/** What reading `tenant` back returns once it is stored. */
export const storedTenant = ({ apiToken, ...rest }: NewTenant): Tenant => ({
  ...rest,
  apiTokenHash: hashApiToken(apiToken),
  apiTokenPrefix: apiTokenPrefix(apiToken)
})

const newTenantKeys: ReadonlySet<string> = new Set(["id", "name", "apiToken", "plan", "createdAt", "config"])

/**
 * What `NewTenant` accepts (type side), recognised by hand: a plain object with exactly its fields.
 * Anything else (a field more or less, an unusual value) is left to the schema, so a change of the
 * schema's fields sends every tenant to the schema until this guard follows.
 */
export const isNewTenant = (u: unknown): u is NewTenant => {
  if (typeof u !== "object" || u === null || Object.getPrototypeOf(u) !== Object.prototype) return false
  let fields = 0
  for (const key in u) {
    if (!newTenantKeys.has(key)) return false
    fields++
  }
  const t = u as Record<string, unknown>
  return fields === newTenantKeys.size && isUuid(t.id) && isText(t.name) && isNonEmptyText(t.apiToken) && isNonEmptyText(t.plan) &&
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
