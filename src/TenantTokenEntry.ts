import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { isKeyHash } from "./domain/ApiKey.js"
import { isJsonObject, isNonEmptyText, isStorableDate, isText, isUuid } from "./domain/Primitives.js"
import { Tenant } from "./domain/Tenant.js"

/**
 * What the cache holds under a token's key (`TenantTokenEntry.key`), as UTF-8 JSON:
 * - a tenant (the read model: prefix and hash, never the token), for a known token;
 * - `null`, for "no tenant has this token";
 * - `"changed:<nonce>"`, a tombstone: a write touched this token. A lookup that found no entry may
 *   have read the database before that write, so it may only store its answer where nothing is
 *   (`compareAndSet` expecting nothing), which the tombstone prevents. A lookup that saw this very
 *   tombstone read the database after the write, so it may replace exactly these bytes; the nonce
 *   makes a later write's tombstone different bytes, which it may not replace.
 */
export type Entry =
  | { readonly _tag: "Found"; readonly tenant: Tenant }
  | { readonly _tag: "NoTenant" }
  | { readonly _tag: "Changed"; readonly bytes: Uint8Array }

/** The entry of a token no tenant has. */
export const noTenant: Entry = { _tag: "NoTenant" }

/** The cache key of a token's hash. `v2`: entries hold the read model and tombstones (v1 held a tenant without its token). */
export const key = (apiTokenHash: string): string => `tenant-by-token:v2:${apiTokenHash}`

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder("utf-8", { fatal: true })
export const noTenantBytes = utf8.encode("null")
/** A fresh tombstone: never the same bytes twice. */
export const changedBytes = (): Uint8Array => utf8.encode(`"changed:${randomUUID()}"`)

/** A tenant as cached: JSON of the encoded read model (the date as ISO-8601), written by hand (no schema on the hot path). */
export const encode = (tenant: Tenant): Uint8Array =>
  utf8.encode(JSON.stringify({
    id: tenant.id,
    name: tenant.name,
    apiTokenHash: tenant.apiTokenHash,
    apiTokenPrefix: tenant.apiTokenPrefix,
    plan: tenant.plan,
    createdAt: tenant.createdAt.toISOString(),
    config: tenant.config
  }))

const fields = 7

/**
 * The guard of the hand-fast decode: true only for exactly the shape {@link encode} writes. Anything
 * else (an older format, a tampered or truncated entry) goes to the schema, which decides.
 */
const looksEncoded = (v: unknown): v is Record<string, unknown> & { createdAt: string } => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false
  const r = v as Record<string, unknown>
  if (Object.keys(r).length !== fields) return false
  if (!isUuid(r.id) || !isText(r.name) || !isText(r.apiTokenPrefix) || !isNonEmptyText(r.plan)) return false
  return isKeyHash(r.apiTokenHash) && typeof r.createdAt === "string" && isJsonObject(r.config)
}

const decodeTenant = Schema.decodeUnknownEither(Tenant)

/** The tenant of a parsed entry: the guard first, the domain schema when the guard says no. */
const tenantOf = (v: unknown): Tenant | undefined => {
  if (looksEncoded(v)) {
    const createdAt = new Date(v.createdAt)
    // The exact ISO form encode writes: anything else (another time zone, no milliseconds) is for the schema.
    if (isStorableDate(createdAt) && createdAt.toISOString() === v.createdAt) return { ...v, createdAt } as unknown as Tenant
  }
  const decoded = decodeTenant(v, { onExcessProperty: "ignore" })
  return Either.isRight(decoded) ? decoded.right : undefined
}

/** Reads a cached entry; `undefined` for one that is not an entry (to be dropped and read again from the repository). */
export const decode = (bytes: Uint8Array): Entry | undefined => {
  let text: string
  try {
    text = fromUtf8.decode(bytes)
  } catch {
    return undefined
  }
  if (text === "null") return noTenant
  if (text.startsWith("\"changed:")) return { _tag: "Changed", bytes }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  const tenant = tenantOf(parsed)
  return tenant === undefined ? undefined : { _tag: "Found", tenant }
}
