import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"

export const TenantId = Schema.UUID.pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type

// Trace and span ids are a UUID (our own spans) or an OpenTelemetry id in its W3C form: lowercase hex of 16
// (trace) or 8 (span) bytes, not all zeros (W3C's "invalid" id). Both are stored as the text given, so the
// id an application knows finds its data (docs/DESIGN.md "OpenTelemetry ids and attributes"). Uppercase hex
// is refused here: the OTLP receiver reads ids as bytes and writes them lowercase, so one id has one form.

const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const otelTracePattern = /^[0-9a-f]{32}$/
const otelSpanPattern = /^[0-9a-f]{16}$/
const allZeros = /^0+$/

const isOtelId = (s: string, length: number, pattern: RegExp): boolean => s.length === length && pattern.test(s) && !allZeros.test(s)

/** Whether a value is a UUID (what `Schema.UUID` accepts). */
export const isUuid = (u: unknown): u is string => typeof u === "string" && u.length === 36 && uuidPattern.test(u)

/** What {@link TraceId} accepts: a UUID or 32 lowercase hex digits, not all zeros. */
export const isTraceId = (u: unknown): u is string =>
  typeof u === "string" && (u.length === 36 ? uuidPattern.test(u) : isOtelId(u, 32, otelTracePattern))

/** What {@link SpanId} accepts: a UUID or 16 lowercase hex digits, not all zeros. */
export const isSpanId = (u: unknown): u is string =>
  typeof u === "string" && (u.length === 36 ? uuidPattern.test(u) : isOtelId(u, 16, otelSpanPattern))

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

const idSchema = (name: string, check: (u: unknown) => u is string, otelBytes: number) =>
  Schema.String.pipe(
    Schema.filter((s) => check(s) || `must be a UUID or ${otelBytes * 2} lowercase hex digits (an OpenTelemetry ${name}), not all zeros`, {
      identifier: name,
      arbitrary: () => (fc) =>
        fc.oneof(
          fc.uuid(),
          fc.uint8Array({ minLength: otelBytes, maxLength: otelBytes }).filter((b) => b.some((x) => x !== 0)).map(hexOf)
        )
    })
  )

export const TraceId = idSchema("trace id", isTraceId, 16).pipe(Schema.brand("TraceId"))
export type TraceId = typeof TraceId.Type

export const SpanId = idSchema("span id", isSpanId, 8).pipe(Schema.brand("SpanId"))
export type SpanId = typeof SpanId.Type

/** A fresh random (v4) UUID. */
export const uuid = (): string => randomUUID()

export const newTenantId = (): TenantId => TenantId.make(randomUUID())
export const newTraceId = (): TraceId => TraceId.make(randomUUID())
export const newSpanId = (): SpanId => SpanId.make(randomUUID())
