import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import { isTraceSpan } from "../../src/domain/TraceSpanGuard.js"
import { newTenantId, newTraceId, TraceSpan, validate } from "../../src/index.js"
import { complexSpan, span } from "../support/fixtures.js"

// What the services accept: the schema, and no own `__proto__` key anywhere (StorageError.validate).
const check = validate(TraceSpan, "memory", "test")
const accepted = (u: unknown) => Exit.isSuccess(Effect.runSyncExit(check(u as TraceSpan)))

/** The guard may refuse more than the schema (the schema then decides), never accept more. */
const expectSound = (u: unknown) => {
  if (isTraceSpan(u)) expect(accepted(u), JSON.stringify(u)).toBe(true)
}

const base = () => complexSpan(newTenantId(), newTraceId(), new Date(Date.UTC(2026, 0, 2)))

const badValues: ReadonlyArray<unknown> = [
  undefined, null, -1, -0.5, 1.5, 101, 1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, "",
  "x", "\uD800", "a\uDC00b", "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-000000000000 ",
  new Date(Number.NaN), new Date(Date.UTC(1899, 11, 31, 23, 59, 59, 999)), new Date(Date.UTC(2300, 0, 1)),
  new Date(Date.UTC(1900, 0, 1)), new Date(Date.UTC(2299, 11, 31, 23, 59, 59, 999)), "2026-01-01T00:00:00.000Z",
  {}, [], [{}], { a: 1 }, { a: "\uD800" }, { "\uDFFF": "x" }, JSON.parse("{\"__proto__\":\"x\"}"), Object.create({ inherited: "x" }),
  true, 0, 99, 100, 599, 600, 1, "High", "tool_call", "bogus", "é".repeat(2049), "a".repeat(4097)
]

/** Every field of the span and of its nested objects set to every bad value, one at a time. */
const mutations = function*(): Generator<unknown> {
  const keysOf = (o: object) => [...Object.keys(o), "extra", "__proto__"]
  const s = base()
  for (const key of keysOf(s)) {
    for (const value of badValues) {
      const copy: Record<string, unknown> = { ...s }
      if (key === "__proto__") Object.defineProperty(copy, "__proto__", { value, enumerable: true, writable: true, configurable: true })
      else copy[key] = value
      yield copy
    }
  }
  for (const field of ["securityFindings", "events", "agentActions"] as const) {
    const item = s[field][0]! as unknown as Record<string, unknown>
    for (const key of keysOf(item)) {
      for (const value of badValues) {
        const nested: Record<string, unknown> = { ...item }
        if (key === "__proto__") Object.defineProperty(nested, "__proto__", { value, enumerable: true, writable: true, configurable: true })
        else nested[key] = value
        yield { ...s, [field]: [nested] }
        yield { ...s, [field]: [...s[field], nested] }
      }
    }
    for (const value of badValues) yield { ...s, [field]: value }
  }
  for (const value of badValues) {
    for (const map of ["tags"] as const) {
      yield { ...s, [map]: { ok: "x", bad: value } }
      yield { ...s, [map]: { ...s[map], "\uD800": "x" } }
    }
  }
  yield JSON.parse(JSON.stringify(s)) // dates as strings
  yield Object.assign(Object.create(null), s)
  yield { ...s, tags: JSON.parse("{\"__proto__\":\"x\"}") }
  yield { ...s, extra: JSON.parse("{\"__proto__\":{}}") }
}

describe("isTraceSpan", () => {
  it("accepts valid spans (the fast path is taken)", () => {
    expect(isTraceSpan(base())).toBe(true)
    expect(isTraceSpan(span(newTenantId(), newTraceId()))).toBe(true)
  })

  it("never accepts a hand-mutated span the schema or the __proto__ rule refuses", () => {
    let refused = 0
    let total = 0
    for (const m of mutations()) {
      total++
      expectSound(m)
      if (!accepted(m)) {
        refused++
        expect(isTraceSpan(m), JSON.stringify(m)).toBe(false)
      }
    }
    // The mutations do exercise refusals (the test can fail only if they do).
    expect(refused).toBeGreaterThan(1_000)
    expect(total).toBeGreaterThan(refused)
  })

  it("agrees with the schema on generated spans and generated junk (property)", () => {
    const spans = Arbitrary.make(TraceSpan)
    FastCheck.assert(FastCheck.property(spans, (s) => {
      expectSound(s)
      // The guard accepts what the services accept of the schema's own arbitrary (else it would only be slow,
      // not wrong); the arbitrary does build own `__proto__` map keys, which both refuse.
      expect(isTraceSpan(s)).toBe(accepted(s))
    }), { numRuns: 300 })
    const junk = FastCheck.record({ span: spans, key: FastCheck.constantFrom(...Object.keys(base())), value: FastCheck.anything({ withDate: true, withNullPrototype: true }) })
    FastCheck.assert(FastCheck.property(junk, ({ span, key, value }) => expectSound({ ...span, [key]: value })), { numRuns: 300 })
  })
})
