import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { fromJson } from "../../src/domain/TraceSpanJson.js"
import { newTenantId, newTraceId, TraceSpan } from "../../src/index.js"
import * as Arbitraries from "../../src/testing/Arbitraries.js"
import { complexSpan } from "../support/fixtures.js"

// The CLI reads spans from JSON lines with `fromJson` and falls back to the schema only when it says no: whatever it
// accepts must be exactly what decoding the same JSON gives.

const decode = Schema.decodeUnknownEither(TraceSpan)
const encode = Schema.encodeSync(TraceSpan)
const asJson = (span: TraceSpan) => JSON.parse(JSON.stringify(encode(span))) as Record<string, unknown>

const optionalKeys = [
  "parentSpanId", "endTime", "response", "promptTokens", "completionTokens", "totalTokens", "timeToFirstTokenMs",
  "durationMs", "statusCode", "errorMessage", "estimatedCostUsd", "securityScore", "securityFindings", "tags", "events",
  "agentActions"
]

/** Agrees with the schema: accepts only what decoding accepts, and gives the same span. */
const agrees = (json: unknown) => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return
  const fast = fromJson(json as Record<string, unknown>)
  if (fast === undefined) return
  const decoded = decode(json)
  expect(Either.isRight(decoded), JSON.stringify(json)).toBe(true)
  expect(fast).toEqual(Either.getOrThrow(decoded))
  expect(JSON.stringify(fast), "keys in the schema's order").toBe(JSON.stringify(Either.getOrThrow(decoded)))
}

describe("TraceSpanJson.fromJson", () => {
  it("gives what the schema decodes, for every span the schema generates, with optional keys left out and unknown keys added", () => {
    FastCheck.assert(
      FastCheck.property(
        Arbitraries.span,
        FastCheck.subarray(optionalKeys),
        FastCheck.dictionary(FastCheck.string().filter((k) => !optionalKeys.includes(k) && k !== "__proto__"), FastCheck.oneof(FastCheck.string(), FastCheck.integer())),
        (span, drop, extra) => {
          const json: Record<string, unknown> = { ...extra, ...asJson(span) }
          for (const key of drop) delete json[key]
          const fast = fromJson(json)
          expect(fast).toBeDefined()
          expect(fast).toEqual(Either.getOrThrow(decode(json)))
          expect(JSON.stringify(fast), "keys in the schema's order").toBe(JSON.stringify(Either.getOrThrow(decode(json))))
        }
      ),
      { numRuns: 300 }
    )
  })

  it("accepts nothing the schema refuses: each field of a full span, and of its findings, events and actions, set to a wrong value", () => {
    const base = asJson(complexSpan(newTenantId(), newTraceId(), new Date(Date.UTC(2026, 0, 2))))
    const wrong: ReadonlyArray<unknown> = [
      null, -1, 1.5, 101, "", "\uD800", "not a date", "2300-01-01T00:00:00.000Z", "1899-12-31T23:59:59.999Z", {}, [], [1], { a: 1 },
      JSON.parse("{\"__proto__\":\"x\"}"), true, "a".repeat(5000), 0, "High", "tool_call"
    ]
    let tried = 0
    const nested = ["securityFindings", "events", "agentActions"] as const
    for (const key of Object.keys(base)) {
      for (const value of wrong) {
        agrees({ ...base, [key]: value })
        tried++
      }
    }
    for (const list of nested) {
      const item = (base[list] as Array<Record<string, unknown>>)[0]!
      for (const key of [...Object.keys(item), "extra"]) {
        for (const value of wrong) {
          agrees({ ...base, [list]: [{ ...item, [key]: value }] })
          tried++
        }
      }
    }
    expect(tried).toBeGreaterThan(500)
  })

  it("fills what a line may leave out as the CLI documents: a fresh span id, now as the start time, ids and times of nested items", () => {
    const full = asJson(complexSpan(newTenantId(), newTraceId(), new Date(Date.UTC(2026, 0, 2))))
    const { spanId: _, startTime: __, ...rest } = full
    const strip = (list: unknown) => (list as Array<Record<string, unknown>>).map(({ detectedAt: _d, id: _i, timestamp: _t, ...item }) => item)
    const before = Date.now()
    const span = fromJson({ ...rest, securityFindings: strip(full.securityFindings), events: strip(full.events), agentActions: strip(full.agentActions) })!
    expect(span).toBeDefined()
    expect(span.spanId).not.toBe(full.spanId)
    expect(span.startTime.getTime()).toBeGreaterThanOrEqual(before)
    for (const item of [...span.securityFindings, ...span.events, ...span.agentActions]) expect(item.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(span.securityFindings[0]!.detectedAt.getTime()).toBeGreaterThanOrEqual(before)
    expect(span.events[0]!.timestamp.getTime()).toBeGreaterThanOrEqual(before)
  })

  it("leaves an over-long action result to the schema, which truncates it", () => {
    const full = asJson(complexSpan(newTenantId(), newTraceId(), new Date(Date.UTC(2026, 0, 2))))
    const actions = (full.agentActions as Array<Record<string, unknown>>).map((a) => ({ ...a, result: "a".repeat(5000) }))
    expect(fromJson({ ...full, agentActions: actions })).toBeUndefined()
    expect(Either.isRight(decode({ ...full, agentActions: actions }))).toBe(true)
  })
})
