import { describe, expect, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { newTenantId, newTraceId, type TraceSpan, TraceRepository } from "../index.js"
import * as Arbitraries from "./Arbitraries.js"
import { sortSpans } from "./Fixtures.js"

/** One write: which span, and whether it is the span as generated (0) or its rewritten copy (1). */
interface Write {
  readonly index: number
  readonly version: 0 | 1
}

/** Spans of one trace, and a sequence of writes that stores each of them at least once, in any order, any number of times. */
const scenario = Arbitraries.spansOf(newTenantId(), newTraceId(), { minLength: 1, maxLength: 6 }).chain((spans) =>
  FastCheck.tuple(
    FastCheck.constant(spans),
    FastCheck.array(FastCheck.record({ index: FastCheck.nat(spans.length - 1), version: FastCheck.constantFrom<0 | 1>(0, 1) }), { maxLength: 12 }),
    FastCheck.shuffledSubarray(spans.map((_, index): Write => ({ index, version: 0 })), { minLength: spans.length })
  ).map(([spans, extra, everyOnce]) => ({ spans, writes: [...everyOnce, ...extra] as ReadonlyArray<Write> }))
)

/**
 * Property cases of the TraceRepository contract, run inside its layer: whatever valid spans are
 * stored, in whatever order and however often, reading back gives the last write of each, and the
 * stats count exactly the distinct traces and spans.
 */
export const traceRepositoryProperties = (it: Vitest.MethodsNonLive<TraceRepository.TraceRepository, boolean>, timeout: number) =>
  describe("properties", () => {
    it.effect.prop("any valid spans, stored in any order any number of times, read back as the last write, with exact stats", [scenario], ([{ spans, writes }]) =>
      Effect.gen(function*() {
        const repo = yield* TraceRepository.TraceRepository
        // A tenant and trace of this run only: generated ids are shrunk and reused across runs.
        const tenantId = newTenantId()
        const traceId = newTraceId()
        const versions = spans.map((s): [TraceSpan, TraceSpan] => {
          const original = { ...s, tenantId, traceId }
          return [original, { ...original, response: `rewritten ${original.spanId}` }]
        })
        const last = new Map<string, TraceSpan>()
        for (const { index, version } of writes) {
          const span = versions[index]![version]
          yield* repo.storeSpan(span)
          last.set(span.spanId, span)
        }
        const expected = sortSpans([...last.values()])
        const trace = yield* repo.getTrace(tenantId, traceId)
        expect(Option.map(trace, (t) => sortSpans(t.spans))).toEqual(Option.some(expected))
        for (const span of expected) expect(yield* repo.getSpan(tenantId, span.spanId)).toEqual(Option.some(span))
        const stats = yield* repo.getStats(tenantId)
        expect([stats.totalTraces, stats.totalSpans]).toEqual([1, expected.length])
      }), { timeout: timeout * 4, fastCheck: { numRuns: 15 } })
  })
