import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { TenantId, uuid } from "./Ids.js"
import { Text, Timestamp, Uuid } from "./Primitives.js"

export const ApiKeyRole = Schema.Literal("admin", "operator", "viewer")
export type ApiKeyRole = typeof ApiKeyRole.Type

const keyHashPattern = /^[0-9a-f]{64}$/

/** What {@link KeyHash} accepts, recognised without running the schema. */
export const isKeyHash = (u: unknown): u is string => typeof u === "string" && keyHashPattern.test(u)

/** A SHA-256 digest as 64 lower-case hex digits. */
export const KeyHash = Schema.String.pipe(
  Schema.pattern(keyHashPattern, { message: () => "must be a SHA-256 digest as 64 lower-case hex digits" }),
  Schema.annotations({ identifier: "KeyHash" })
)

export const ApiKeyRecord = Schema.Struct({
  id: Schema.propertySignature(Uuid).pipe(Schema.withConstructorDefault(uuid)),
  tenantId: TenantId,
  name: Text,
  keyHash: KeyHash,
  keyPrefix: Text,
  role: ApiKeyRole,
  createdAt: Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(() => new Date())),
  revokedAt: Schema.optional(Timestamp)
}).annotations({ identifier: "ApiKeyRecord" })
export type ApiKeyRecord = typeof ApiKeyRecord.Type

/** The SHA-256 hex digest under which a plaintext key is stored and looked up. */
export const hashApiKey = (plaintext: string): string => createHash("sha256").update(plaintext, "utf8").digest("hex")
