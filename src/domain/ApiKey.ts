import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { TenantId, uuid } from "./Ids.js"
import { Text, Timestamp, Uuid } from "./Primitives.js"

export const ApiKeyRole = Schema.Literal("admin", "operator", "viewer")
export type ApiKeyRole = typeof ApiKeyRole.Type

/** A SHA-256 digest as 64 lower-case hex digits. */
export const KeyHash = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "must be a SHA-256 digest as 64 lower-case hex digits" }),
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
