import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { TraceQuery, TraceRepository } from "../../src/index.js"
import { Arbitraries, Fixtures, TestStorage } from "../../src/testing/index.js"

// Live services where LLMTRACE_POSTGRES_URL or LLMTRACE_REDIS_URL is set, a temporary lite store otherwise;
// everything the layer created is dropped when the file's tests are done.
layer(TestStorage.fromEnv, { excludeTestServices: true, timeout: "2 minutes" })("my service", (it) => {
  it.effect("finds a stored span by provider", () =>
    Effect.gen(function*() {
      const traces = yield* TraceRepository.TraceRepository
      const tenantId = Fixtures.tenantId(1)
      const span = Fixtures.span(tenantId, Fixtures.traceId(1), { provider: "Anthropic", startTime: Fixtures.at(0) })
      yield* traces.storeSpan(span)
      const found = yield* traces.querySpans(TraceQuery.make({ tenantId, provider: "Anthropic" }))
      expect(found.map((s) => s.spanId)).toEqual([span.spanId])
    }))

  it.effect.prop("reads back any valid span as it was stored", [Arbitraries.span], ([span]) =>
    Effect.gen(function*() {
      const traces = yield* TraceRepository.TraceRepository
      yield* traces.storeSpan(span)
      expect(yield* traces.getSpan(span.tenantId, span.spanId)).toEqual(Option.some(span))
    }), { fastCheck: { numRuns: 25 } })
})
