import * as Schema from "effect/Schema"
import { TenantId, uuid } from "./Ids.js"
import { JsonObject, NonEmptyText, Text, Timestamp, Uuid } from "./Primitives.js"

export const AuditEvent = Schema.Struct({
  id: Schema.propertySignature(Uuid).pipe(Schema.withConstructorDefault(uuid)),
  tenantId: TenantId,
  eventType: NonEmptyText,
  actor: Text,
  resource: Text,
  data: Schema.optionalWith(JsonObject, { default: () => ({}), exact: true }),
  timestamp: Schema.propertySignature(Timestamp).pipe(Schema.withConstructorDefault(() => new Date()))
}).annotations({ identifier: "AuditEvent" })
export type AuditEvent = typeof AuditEvent.Type
