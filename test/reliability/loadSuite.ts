import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { newSpanId, newTenantId, newTraceId, TraceEvent, TraceQuery, TraceRepository } from "../../src/index.js"
import { at, span } from "../support/fixtures.js"

const calls = 1000
const tenantCount = 10

/**
 * 1000 concurrent store calls across 10 tenants: half storeTrace (3 spans each), half storeSpan
 * into 5 traces per tenant that many calls extend at once. Counts afterwards are exact.
 */
export const concurrentStores = <E>(
  name: string,
  repository: Layer.Layer<TraceRepository.TraceRepository, E>,
  /** The most store calls the backend had in flight at once, when it can tell: the load must have interleaved. */
  maxInFlight?: () => number
) =>
  layer(repository, { timeout: "300 seconds", excludeTestServices: true })(`load: ${name}`, (it) => {
    it.effect(`${calls} concurrent storeTrace/storeSpan calls across ${tenantCount} tenants leave exact per-tenant counts`, () =>
      Effect.gen(function*() {
        const repo = yield* TraceRepository.TraceRepository
        const before = yield* repo.getGlobalStats()
        const tenants = Array.from({ length: tenantCount }, () => newTenantId())
        const sharedTraces = tenants.map(() => Array.from({ length: 5 }, () => newTraceId()))
        const store = (k: number) => {
          const t = Math.floor(k / 2) % tenantCount
          const tenantId = tenants[t]!
          if (k % 2 === 0) {
            const traceId = newTraceId()
            return repo.storeTrace(TraceEvent.make({
              tenantId,
              traceId,
              createdAt: at(k),
              spans: [0, 1, 2].map((j) => span(tenantId, traceId, { spanId: newSpanId(), startTime: at(k + j / 10), prompt: `call ${k} span ${j}` }))
            }))
          }
          const traceId = sharedTraces[t]![Math.floor(k / (2 * tenantCount)) % 5]!
          return repo.storeSpan(span(tenantId, traceId, { spanId: newSpanId(), startTime: at(k), prompt: `call ${k}` }))
        }
        yield* Effect.forEach(Array.from({ length: calls }, (_, k) => k), store, { concurrency: "unbounded", discard: true })

        // Per tenant: 50 traces of 3 spans and 50 spans in 5 shared traces.
        const perTenant = calls / tenantCount
        for (const tenantId of tenants) {
          const stats = yield* repo.getStats(tenantId)
          expect(stats).toMatchObject({ totalTraces: perTenant / 2 + 5, totalSpans: (perTenant / 2) * 3 + perTenant / 2 })
          const spans = yield* repo.querySpans(TraceQuery.make({ tenantId, limit: 10_000 }))
          expect(spans).toHaveLength((perTenant / 2) * 3 + perTenant / 2)
          expect(spans.every((s) => s.tenantId === tenantId)).toBe(true)
          expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length)
          const traces = yield* repo.queryTraces(TraceQuery.make({ tenantId, limit: 10_000 }))
          expect(traces).toHaveLength(perTenant / 2 + 5)
        }
        const after = yield* repo.getGlobalStats()
        expect(after.totalTraces - before.totalTraces).toBe(tenantCount * (perTenant / 2 + 5))
        expect(after.totalSpans - before.totalSpans).toBe(calls / 2 * 3 + calls / 2)
        if (maxInFlight !== undefined) expect(maxInFlight()).toBeGreaterThan(1)
        console.log(`load on ${name}: ${calls} concurrent calls, ${after.totalSpans - before.totalSpans} spans written and found`)
      }), 300_000)
  })
