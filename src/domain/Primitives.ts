import * as Schema from "effect/Schema"

/**
 * Text that every backend stores byte-exact. Lone UTF-16 surrogates have no UTF-8 encoding, so a
 * backend would have to change them; they are rejected here instead, the same way on every backend.
 */
export const Text = Schema.String.pipe(
  Schema.filter((s) => s.isWellFormed() || "must be well-formed Unicode (no lone UTF-16 surrogates)", {
    identifier: "Text"
  })
)

/** Text that must not be empty (a provider, a model, an operation name, a cache key). */
export const NonEmptyText = Text.pipe(Schema.minLength(1, { message: () => "must not be empty" }))

/**
 * A record whose keys are checked like {@link Text}. A plain `Schema.Record({ key: Text, ... })` would
 * silently DROP a key that fails the key schema (a lone surrogate), so keys are read as any string and
 * the record is refused instead, naming the bad key. (`__proto__`, which no decoded object can keep as
 * a key, is refused at the services' boundary: see `StorageError.validate`.)
 */
export const textRecord = <V, I, R>(value: Schema.Schema<V, I, R>) =>
  Schema.Record({ key: Schema.String, value }).pipe(
    Schema.filter((record) => {
      const bad = Object.keys(record).find((k) => !k.isWellFormed())
      return bad === undefined || { path: [bad], message: "key must be well-formed Unicode (no lone UTF-16 surrogates)" }
    })
  )

/** A map of strings to strings (tags, metadata). */
export const TextMap = textRecord(Text)

/**
 * The instants every engine can hold: ClickHouse `DateTime64(3)` keeps 1900-01-01 to 2299-12-31 (UTC).
 * A date outside is refused on every engine alike, before anything is written (DESIGN.md §10).
 */
export const MIN_TIMESTAMP_MS = Date.UTC(1900, 0, 1)
export const MAX_TIMESTAMP_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999)

/** Whether a Date is valid and within {@link MIN_TIMESTAMP_MS}..{@link MAX_TIMESTAMP_MS}. */
export const isStorableDate = (d: Date): boolean => {
  const t = d.getTime()
  return t >= MIN_TIMESTAMP_MS && t <= MAX_TIMESTAMP_MS
}

const StorableDate = Schema.ValidDateFromSelf.pipe(
  Schema.filter((d) => isStorableDate(d) || "must be between 1900-01-01T00:00:00.000Z and 2299-12-31T23:59:59.999Z", {
    identifier: "StorableDate"
  })
)

/** A millisecond-precision instant every engine can hold; encoded as an ISO-8601 string, decoded only when valid. */
export const Timestamp = Schema.transform(Schema.String, StorableDate, {
  strict: true,
  decode: (s) => new Date(s),
  encode: (d) => d.toISOString()
}).annotations({ identifier: "Timestamp" })

export const Uuid = Schema.UUID

/** A finite, non-negative number: NaN and infinities are rejected. */
export const NonNegativeFinite = Schema.Finite.pipe(Schema.nonNegative())

export const NonNegativeInt = Schema.NonNegativeInt

/** Any JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

export const Json: Schema.Schema<Json> = Schema.Union(
  Schema.Null,
  Schema.Boolean,
  Schema.Finite,
  Text,
  Schema.Array(Schema.suspend(() => Json)),
  textRecord(Schema.suspend((): Schema.Schema<Json> => Json))
).annotations({ identifier: "Json" })

export const JsonObject = textRecord(Json).annotations({ identifier: "JsonObject" })
export type JsonObject = typeof JsonObject.Type

// Hand-written guards for hot paths (DESIGN §10): each says true only for what its schema accepts
// (they may say false for anything unusual, which then goes to the schema); test/domain/Guards.test.ts
// holds them to that.

/** What {@link Text} accepts. */
export const isText = (u: unknown): u is string => typeof u === "string" && u.isWellFormed()

/** What {@link NonEmptyText} accepts. */
export const isNonEmptyText = (u: unknown): u is string => typeof u === "string" && u.length > 0 && u.isWellFormed()

export {
  /** What {@link Uuid} and `TenantId` accept (trace and span ids accept more: `isTraceId`, `isSpanId` in Ids.ts). */
  isUuid
} from "./Ids.js"

/** What {@link Timestamp}'s type side accepts: a valid Date in the storable range. */
export const isTimestamp = (u: unknown): u is Date => u instanceof Date && isStorableDate(u)

/** Nesting past this goes to the schema (a guard must return, never overflow the stack). */
const maxGuardDepth = 32

const isPlainRecord = (u: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(u)
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(u, "__proto__")
}

const isJsonAt = (u: unknown, depth: number): boolean => {
  switch (typeof u) {
    case "string":
      return u.isWellFormed()
    case "number":
      return Number.isFinite(u)
    case "boolean":
      return true
    case "object":
      if (u === null) return true
      if (depth >= maxGuardDepth) return false
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) if (!isJsonAt(u[i], depth + 1)) return false
        return true
      }
      return isJsonRecordAt(u, depth)
    default:
      return false
  }
}

const isJsonRecordAt = (u: object, depth: number): boolean => {
  if (!isPlainRecord(u)) return false
  for (const key of Object.keys(u)) {
    if (!key.isWellFormed() || !isJsonAt((u as Record<string, unknown>)[key], depth + 1)) return false
  }
  return true
}

/** What {@link JsonObject} accepts, with no `__proto__` key at any depth (the boundary refuses those). */
export const isJsonObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u) && isJsonRecordAt(u, 0)

/** Byte length of a string once encoded as UTF-8. */
export const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8")

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export const truncateUtf8 = (s: string, maxBytes: number): string => {
  if (utf8Length(s) <= maxBytes) return s
  let bytes = 0
  let end = 0
  for (const ch of s) {
    const size = utf8Length(ch)
    if (bytes + size > maxBytes) break
    bytes += size
    end += ch.length
  }
  return s.slice(0, end)
}
