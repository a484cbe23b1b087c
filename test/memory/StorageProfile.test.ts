import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Cache, MetadataRepository, Storage, StorageProfile, NewTenant, TraceQuery, TraceRepository } from "../../src/index.js"
import { ids, span } from "../support/fixtures.js"

layer(StorageProfile.memory)("StorageProfile.memory", (it) => {
  it.effect("provides all three services, each healthy by name", () =>
    Effect.gen(function*() {
      const report = yield* Storage.healthCheck
      expect(report.map((r) => [r.service, r.healthy])).toEqual([["traces", true], ["metadata", true], ["cache", true]])
    }))

  it.effect("round-trips a tenant, a span and a cache entry through the composite", () =>
    Effect.gen(function*() {
      const traces = yield* TraceRepository.TraceRepository
      const metadata = yield* MetadataRepository.MetadataRepository
      const cache = yield* Cache.Cache
      const t = NewTenant.make({ name: "acme", apiToken: "tok", plan: "free" })
      yield* metadata.createTenant(t)
      const { traceId } = ids()
      const s = span(t.id, traceId)
      yield* traces.storeSpan(s)
      yield* cache.set("tenant:tok", new TextEncoder().encode(t.id), "1 minute")
      expect(Option.getOrThrow(yield* metadata.getTenantByToken("tok")).id).toBe(t.id)
      expect(yield* traces.querySpans(TraceQuery.make({ tenantId: t.id }))).toEqual([s])
      expect(Option.isSome(yield* cache.get("tenant:tok"))).toBe(true)
    }))
})
