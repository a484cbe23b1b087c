import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"

export const TenantId = Schema.UUID.pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type

export const TraceId = Schema.UUID.pipe(Schema.brand("TraceId"))
export type TraceId = typeof TraceId.Type

export const SpanId = Schema.UUID.pipe(Schema.brand("SpanId"))
export type SpanId = typeof SpanId.Type

/** A fresh random (v4) UUID. */
export const uuid = (): string => randomUUID()

export const newTenantId = (): TenantId => TenantId.make(randomUUID())
export const newTraceId = (): TraceId => TraceId.make(randomUUID())
export const newSpanId = (): SpanId => SpanId.make(randomUUID())
