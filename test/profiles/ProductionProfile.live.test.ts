import { describe, expect, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { tmpdir } from "node:os"
import * as path from "node:path"
import {
  AuditEvent,
  AuditQuery,
  Cache,
  CachedMetadataRepository,
  MetadataRepository,
  newTraceId,
  Storage,
  StorageMigrations,
  StorageProfile,
  NewTenant, storedTenant,
  TraceQuery,
  TraceRepository,
  TraceWriter
} from "../../src/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"
import { dropPrefix, keysUnder, liveRedis, redisUrl, testPrefix } from "../support/redis.js"
import { complexSpan, span } from "../support/fixtures.js"

// The production composite built from configuration alone, like a deployed service: live
// PostgreSQL and Redis, and ClickHouse as the embedded engine (no server runs on our machines;
// point LLMTRACE_CLICKHOUSE_URL at one to use it instead). The file's own PostgreSQL database and
// Redis prefix are created here and dropped when its scope closes.
const postgres = await livePostgres()
const redis = await liveRedis()
const clickhouseUrl = /^https?:\/\//.test(process.env.LLMTRACE_CLICKHOUSE_URL ?? "") ? process.env.LLMTRACE_CLICKHOUSE_URL! : "chdb::memory:"
const prefix = testPrefix("production")

const environment = Layer.unwrapScoped(
  Effect.gen(function*() {
    const database = yield* freshDatabase("llmtrace_prod")
    const scratch = yield* TestStorage.temporaryDirectory("llmtrace-prod-")
    yield* Effect.addFinalizer(() => Effect.promise(() => dropPrefix(prefix)))
    const variables = new Map([
      ["LLMTRACE_STORAGE_PROFILE", "production"],
      ["LLMTRACE_AUTO_MIGRATE", "true"],
      ["LLMTRACE_CLICKHOUSE_URL", clickhouseUrl],
      ["LLMTRACE_CLICKHOUSE_DATABASE", `llmtrace_prod_${process.pid}`],
      ["LLMTRACE_POSTGRES_URL", Redacted.value(database.url)],
      ["LLMTRACE_REDIS_URL", redisUrl],
      ["LLMTRACE_CACHE_PREFIX", prefix],
      ["LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH", path.join(scratch, "dead-letters.jsonl")],
      ["LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL", "100 millis"]
    ])
    return StorageProfile.layerConfig(StorageProfile.config).pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(variables)))
    )
  })
)

describeLive(postgres.available ? redis : postgres, () =>
  layer(environment, { timeout: "120 seconds", excludeTestServices: true })("production profile composite", (it) => {
    describe("built from configuration", () => {
      it.effect("is migrated and reports every backend healthy by name", () =>
        Effect.gen(function*() {
          const report = yield* Storage.healthCheck
          expect(report.map((r) => [r.service, r.healthy])).toEqual([["traces", true], ["metadata", true], ["cache", true]])
        }))

      it.effect("round-trips traces through the TraceWriter, tenants, audit events and cache entries", () =>
        Effect.gen(function*() {
          const traces = yield* TraceRepository.TraceRepository
          const metadata = yield* MetadataRepository.MetadataRepository
          const writer = yield* TraceWriter.TraceWriter
          const cache = yield* Cache.Cache
          const tenant = NewTenant.make({ name: "prod 🚀", apiToken: `tok-${crypto.randomUUID()}`, plan: "enterprise", config: { region: "eu" } })
          yield* metadata.createTenant(tenant)
          const traceId = newTraceId()
          const spans = [complexSpan(tenant.id, traceId, new Date(Date.UTC(2026, 0, 1))), span(tenant.id, traceId, { startTime: new Date(Date.UTC(2026, 0, 1, 0, 1)) })]
          yield* writer.writeAll(spans)
          yield* writer.flush
          const found = Option.getOrThrow(yield* traces.getTrace(tenant.id, traceId))
          expect(found.spans).toEqual(spans)
          expect(yield* traces.querySpans(TraceQuery.make({ tenantId: tenant.id, tags: { env: "prod" } }))).toEqual([spans[0]])
          const event = AuditEvent.make({ tenantId: tenant.id, eventType: "tenant.created", actor: "ops", resource: tenant.id, data: { via: "test" } })
          yield* metadata.recordAuditEvent(event)
          expect(yield* metadata.queryAuditEvents(AuditQuery.make({ tenantId: tenant.id }))).toEqual([event])
          yield* cache.set("greeting", new TextEncoder().encode("hello"), "1 minute")
          expect(Option.map(yield* cache.get("greeting"), (b) => new TextDecoder().decode(b))).toEqual(Option.some("hello"))
          expect((yield* Effect.promise(() => keysUnder(prefix))).map(String)).toContain(`${prefix}greeting`)
        }))

      it.effect("caches tenant-token lookups in Redis and invalidates them when the tenant changes or goes", () =>
        Effect.gen(function*() {
          const metadata = yield* MetadataRepository.MetadataRepository
          const tenant = NewTenant.make({ name: "cached", apiToken: `tok-${crypto.randomUUID()}`, plan: "pro" })
          yield* metadata.createTenant(tenant)
          expect(Option.getOrThrow(yield* metadata.getTenantByToken(tenant.apiToken))).toEqual(storedTenant(tenant))
          const keys = async () => (await keysUnder(prefix)).map(String)
          expect(yield* Effect.promise(keys)).toContain(`${prefix}${CachedMetadataRepository.tokenKey(tenant.apiToken)}`)
          const renamed = { ...tenant, name: "renamed", apiToken: `tok-${crypto.randomUUID()}` }
          yield* metadata.updateTenant(renamed)
          expect(Option.isNone(yield* metadata.getTenantByToken(tenant.apiToken))).toBe(true)
          expect(Option.getOrThrow(yield* metadata.getTenantByToken(renamed.apiToken))).toEqual(storedTenant(renamed))
          yield* metadata.deleteTenant(tenant.id)
          expect(Option.isNone(yield* metadata.getTenantByToken(renamed.apiToken))).toBe(true)
        }))
    })
  }))

describeLive(postgres.available ? redis : postgres, () =>
  layer(
    Layer.unwrapScoped(
      Effect.gen(function*() {
        const database = yield* freshDatabase("llmtrace_migr")
        return Layer.unwrapEffect(Effect.map(StorageProfile.config, StorageProfile.migrations)).pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
            ["LLMTRACE_STORAGE_PROFILE", "production"],
            ["LLMTRACE_CLICKHOUSE_URL", "chdb::memory:"],
            ["LLMTRACE_POSTGRES_URL", Redacted.value(database.url)],
            // required by the production profile's configuration; migrations write no dead letters
            ["LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH", path.join(tmpdir(), "llmtrace-migrations-dead-letters")]
          ]))))
        )
      })
    ),
    { timeout: "120 seconds", excludeTestServices: true }
  )("production profile migrations", (it) => {
    it.effect("lists pending migrations per backend, applies them, then finds none", () =>
      Effect.gen(function*() {
        const backends = yield* StorageMigrations.StorageMigrations
        expect(backends.map((b) => b.backend)).toEqual(["clickhouse", "postgres"])
        for (const b of backends) expect((yield* b.status).pending.length).toBeGreaterThan(0)
        expect(yield* Effect.forEach(backends, (b) => b.run)).toEqual([["1_traces_and_spans", "2_span_identity_and_size", "3_column_codecs", "4_span_granules"], ["0001_metadata", "0002_tenant_token_hash"]])
        for (const b of backends) expect((yield* b.status).pending).toEqual([])
      }))
  }))
