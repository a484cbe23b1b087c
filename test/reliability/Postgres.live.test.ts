import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AuditEvent, AuditQuery, MetadataRepository, NewTenant, uuid } from "../../src/index.js"
import { SqlMetadataRepository } from "../../src/sqlite/index.js"
import { at } from "../support/fixtures.js"
import { describeLive } from "../support/live.js"
import { livePostgres, scopedDatabase } from "../support/postgres.js"
import { hostileMetadata } from "./hostileSuite.js"
import { metadataIsolation } from "./isolationSuite.js"

// Live PostgreSQL: each suite in a database of its own, dropped when its layer closes.
const postgres = () => SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase))

describeLive(await livePostgres(), () => {
  hostileMetadata("PostgreSQL", postgres())
  metadataIsolation("PostgreSQL", postgres())

  layer(postgres(), { timeout: "120 seconds", excludeTestServices: true })("load: PostgreSQL", (it) => {
    it.effect("1000 concurrent recordAuditEvent calls across 10 tenants leave exact per-tenant counts", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const tenants = Array.from({ length: 10 }, (_, i) => NewTenant.make({ name: `load ${i}`, apiToken: `token-${uuid()}`, plan: "free" }))
        yield* Effect.forEach(tenants, (t) => repo.createTenant(t), { concurrency: "unbounded", discard: true })
        const events = Array.from({ length: 1000 }, (_, k) =>
          AuditEvent.make({ tenantId: tenants[k % 10]!.id, eventType: k % 3 === 0 ? "login" : "query", actor: `actor ${k}`, resource: "r", timestamp: at(k % 7) }))
        yield* Effect.forEach(events, (e) => repo.recordAuditEvent(e), { concurrency: "unbounded", discard: true })
        for (const [i, t] of tenants.entries()) {
          const stored = yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, limit: 10_000 }))
          expect(stored).toHaveLength(100)
          expect(new Set(stored.map((e) => e.id))).toEqual(new Set(events.filter((_, k) => k % 10 === i).map((e) => e.id)))
          const logins = yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, eventType: "login", limit: 10_000 }))
          expect(logins).toHaveLength(events.filter((e, k) => k % 10 === i && e.eventType === "login").length)
        }
      }), 120_000)
  })
})
