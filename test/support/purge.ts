import * as Effect from "effect/Effect"
import { newTenantId, newTraceId, TraceEvent, type TraceRepository } from "../../src/index.js"
import { at, span } from "./fixtures.js"

/**
 * Stores `old` traces created before a cutoff and `kept` after it (two spans each) in a fresh
 * tenant, for the purge tests of every engine.
 */
export const purgeCases = (repo: TraceRepository.TraceRepositoryShape, old: number, kept: number) =>
  Effect.gen(function*() {
    const tenantId = newTenantId()
    const trace = (minute: number) => {
      const traceId = newTraceId()
      return TraceEvent.make({ tenantId, traceId, createdAt: at(minute), spans: [0, 1].map((i) => span(tenantId, traceId, { startTime: at(minute + i) })) })
    }
    const olds = Array.from({ length: old }, (_, i) => trace(i))
    const keeps = Array.from({ length: kept }, (_, i) => trace(10_000 + i))
    yield* Effect.forEach([...olds, ...keeps], (t) => repo.storeTrace(t), { discard: true })
    return { tenantId, before: at(5_000), old: olds, kept: keeps }
  })
