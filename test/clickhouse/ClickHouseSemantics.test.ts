import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ClickHouseClient, ClickHouseTraceRepository, newTenantId, newTraceId, TraceQuery, TraceRepository } from "../../src/index.js"
import { at, span } from "../support/fixtures.js"
import * as Redacted from "effect/Redacted"

// Behaviour that depends on how the ClickHouse schema deduplicates, beyond the shared contract.
const repository = ClickHouseTraceRepository.layer().pipe(
  Layer.provideMerge(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_semantics" }))
)

layer(repository, { timeout: "120 seconds", excludeTestServices: true })("ClickHouse deduplication on read", (it) => {
  it.effect("a re-store that changes filtered fields and moves start_time to another month replaces the earlier copy", () =>
    Effect.gen(function*() {
      const repo = yield* TraceRepository.TraceRepository
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const first = span(tenantId, traceId, { startTime: at(0), provider: "Anthropic", securityScore: 90, tags: { env: "prod" } })
      const moved = { ...first, startTime: at(60 * 24 * 40), provider: "OpenAI", securityScore: 10, tags: { env: "dev" } }
      yield* repo.storeSpan(first)
      yield* repo.storeSpan(moved)
      const q = (rest: Partial<Parameters<typeof TraceQuery.make>[0]>) => TraceQuery.make({ tenantId, ...rest })
      for (const stale of [{ provider: "Anthropic" }, { minSecurityScore: 50 }, { tags: { env: "prod" } }]) {
        expect(yield* repo.querySpans(q(stale))).toEqual([])
        expect(yield* repo.queryTraces(q(stale))).toEqual([])
      }
      expect(yield* repo.querySpans(q({ provider: "OpenAI" }))).toEqual([moved])
      expect(yield* repo.querySpans(q({}))).toEqual([moved])
      expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).spans).toEqual([moved])
      expect(Option.getOrThrow(yield* repo.getSpan(tenantId, first.spanId))).toEqual(moved)
      expect(yield* repo.getStats(tenantId)).toMatchObject({ totalTraces: 1, totalSpans: 1 })
    }))

  it.effect("the earliest createdAt given to storeTrace wins over later ones and over span starts", () =>
    Effect.gen(function*() {
      const repo = yield* TraceRepository.TraceRepository
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const s = span(tenantId, traceId, { startTime: at(1) })
      yield* repo.storeSpan(s)
      yield* repo.storeTrace({ tenantId, traceId, createdAt: at(5), spans: [] })
      yield* repo.storeTrace({ tenantId, traceId, createdAt: at(3), spans: [s] })
      yield* repo.storeTrace({ tenantId, traceId, createdAt: at(4), spans: [] })
      expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId))).toEqual({ tenantId, traceId, createdAt: at(3), spans: [s] })
    }))
})
