import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { randomUUID } from "node:crypto"
import {
  ApiKeyRecord,
  AuditEvent,
  AuditQuery,
  type Backend,
  Cache,
  ComplianceReport,
  hashApiKey,
  MetadataRepository,
  NewTenant,
  ReportQuery,
  TenantConfig,
  TraceEvent,
  TraceQuery,
  TraceRepository
} from "../../src/index.js"
import { ids, span } from "../support/fixtures.js"

/** A real tracer: the built-in one's spans, each recorded (name, attributes, parent) as it is created. */
export const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const builtIn = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (...args) => {
      const created = builtIn.span(...args)
      spans.push(created)
      return created
    },
    context: builtIn.context
  })
  return { tracer, spans }
}

export interface TracingContractOptions {
  readonly excludeTestServices?: boolean
}

export type Operations = ReadonlyArray<readonly [method: string, call: Effect.Effect<unknown, unknown>]>

/**
 * Runs each operation under a recording tracer and checks it made exactly one root span named
 * `<service>.<method>` (whatever the backend's own driver spans under it) with `storage.backend`.
 * Operations may fail (a missing row); they are spans all the same.
 */
const expectSpans = (service: string, backend: Backend, operations: Operations) =>
  Effect.forEach(operations, ([method, call]) =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      yield* Effect.exit(Effect.withTracer(call, tracer))
      const roots = spans.filter((s) => Option.isNone(s.parent))
      expect(roots.map((s) => s.name), method).toEqual([`${service}.${method}`])
      expect(roots[0]?.attributes.get("storage.backend"), method).toBe(backend)
      expect(roots[0]?.status._tag, method).toBe("Ended")
    }), { discard: true })

const tenant = () => NewTenant.make({ name: "traced", apiToken: `tok-${randomUUID()}`, plan: "free" })

/** One call of every TraceRepository operation, with valid input. */
export const traceOperations = (repo: TraceRepository.TraceRepositoryShape): Operations => {
  const { tenantId, traceId } = ids()
  const s = span(tenantId, traceId)
  const query = TraceQuery.make({ tenantId })
  return [
    ["storeTrace", repo.storeTrace(TraceEvent.make({ traceId, tenantId, spans: [span(tenantId, traceId)] }))],
    ["storeSpan", repo.storeSpan(s)],
    ["storeSpans", repo.storeSpans([span(tenantId, traceId)])],
    ["queryTraces", repo.queryTraces(query)],
    ["querySpans", repo.querySpans(query)],
    ["getTrace", repo.getTrace(tenantId, traceId)],
    ["getSpan", repo.getSpan(tenantId, s.spanId)],
    ["deleteTracesBefore", repo.deleteTracesBefore(tenantId, new Date("2000-01-01T00:00:00Z"))],
    ["getStats", repo.getStats(tenantId)],
    ["getGlobalStats", repo.getGlobalStats()],
    ["healthCheck", repo.healthCheck()]
  ]
}

/** One call of every MetadataRepository operation, with valid input, in an order that finds rows where it can. */
export const metadataOperations = (repo: MetadataRepository.MetadataRepositoryShape): Operations => {
  const t = tenant()
  const key = ApiKeyRecord.make({ tenantId: t.id, name: "ci", keyHash: hashApiKey(randomUUID()), keyPrefix: "llm_", role: "viewer" })
  const report = ComplianceReport.make({ tenantId: t.id, reportType: "soc2", periodStart: new Date("2026-01-01T00:00:00Z"), periodEnd: new Date("2026-02-01T00:00:00Z") })
  return [
    ["createTenant", repo.createTenant(t)],
    ["getTenant", repo.getTenant(t.id)],
    ["getTenantByToken", repo.getTenantByToken(t.apiToken)],
    ["updateTenant", repo.updateTenant({ ...t, plan: "pro" })],
    ["listTenants", repo.listTenants()],
    ["getTenantConfig", repo.getTenantConfig(t.id)],
    ["upsertTenantConfig", repo.upsertTenantConfig(TenantConfig.make({ tenantId: t.id }))],
    ["recordAuditEvent", repo.recordAuditEvent(AuditEvent.make({ tenantId: t.id, eventType: "tenant.updated", actor: "ci", resource: "tenant" }))],
    ["queryAuditEvents", repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id }))],
    ["createApiKey", repo.createApiKey(key)],
    ["getApiKeyByHash", repo.getApiKeyByHash(key.keyHash)],
    ["listApiKeys", repo.listApiKeys(t.id)],
    ["revokeApiKey", repo.revokeApiKey(t.id, key.id)],
    ["storeReport", repo.storeReport(report)],
    ["getReport", repo.getReport(t.id, report.id)],
    ["listReports", repo.listReports(ReportQuery.make({ tenantId: t.id }))],
    ["deleteTenant", repo.deleteTenant(t.id)],
    ["healthCheck", repo.healthCheck()]
  ]
}

/** One call of every Cache operation. */
export const cacheOperations = (cache: Cache.CacheShape): Operations => {
  const k = `traced:${randomUUID()}`
  const value = new Uint8Array([1, 2, 3])
  return [
    ["set", cache.set(k, value, "1 minute")],
    ["get", cache.get(k)],
    ["compareAndSet", cache.compareAndSet(k, Option.some(value), new Uint8Array([4]), "1 minute")],
    ["invalidate", cache.invalidate(k)],
    ["getOrSet", cache.getOrSet(`${k}:computed`, "1 minute", Effect.succeed(value))],
    ["healthCheck", cache.healthCheck()]
  ]
}

/** With a tracer installed, every TraceRepository operation is a span `TraceRepository.<method>`. */
export const traceRepositoryTracing = <E>(name: string, backend: Backend, repository: Layer.Layer<TraceRepository.TraceRepository, E>, options: TracingContractOptions = {}) =>
  layer(repository, { timeout: "60 seconds", excludeTestServices: options.excludeTestServices ?? false })(`Tracing contract: TraceRepository on ${name}`, (it) => {
    describe("with a tracer installed", () => {
      it.effect("every operation is one span named TraceRepository.<method> with storage.backend", () =>
        Effect.gen(function*() {
          const repo = yield* TraceRepository.TraceRepository
          yield* expectSpans("TraceRepository", backend, traceOperations(repo))
        }))

      it.effect("a refused input is a span too, failed with the same InvalidInput", () =>
        Effect.gen(function*() {
          const repo = yield* TraceRepository.TraceRepository
          const { spans, tracer } = recordingTracer()
          const error = yield* Effect.flip(Effect.withTracer(repo.getStats("not-a-uuid" as never), tracer))
          expect(error._tag).toBe("InvalidInput")
          expect(spans.map((s) => [s.name, s.status._tag === "Ended" && s.status.exit._tag])).toEqual([["TraceRepository.getStats", "Failure"]])
        }))
    })
  })

/** With a tracer installed, every MetadataRepository operation is a span `MetadataRepository.<method>`. */
export const metadataRepositoryTracing = <E>(name: string, backend: Backend, repository: Layer.Layer<MetadataRepository.MetadataRepository, E>, options: TracingContractOptions = {}) =>
  layer(repository, { timeout: "60 seconds", excludeTestServices: options.excludeTestServices ?? false })(`Tracing contract: MetadataRepository on ${name}`, (it) => {
    it.effect("with a tracer installed, every operation is one span named MetadataRepository.<method> with storage.backend", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        yield* expectSpans("MetadataRepository", backend, metadataOperations(repo))
      }))
  })

/** With a tracer installed, every Cache operation is a span `Cache.<method>` (`getOrSet` with its `get` and `set` inside). */
export const cacheTracing = <E>(name: string, backend: Backend, cache: Layer.Layer<Cache.Cache, E>, options: TracingContractOptions = {}) =>
  layer(cache, { timeout: "60 seconds", excludeTestServices: options.excludeTestServices ?? false })(`Tracing contract: Cache on ${name}`, (it) => {
    it.effect("with a tracer installed, every operation is one span named Cache.<method> with storage.backend", () =>
      Effect.gen(function*() {
        const c = yield* Cache.Cache
        yield* expectSpans("Cache", backend, cacheOperations(c))
        const value = new Uint8Array([1, 2, 3])
        const { spans, tracer } = recordingTracer()
        yield* Effect.withTracer(c.getOrSet(`traced:${randomUUID()}`, "1 minute", Effect.succeed(value)), tracer)
        const root = spans.find((s) => s.name === "Cache.getOrSet")
        expect(spans.filter((s) => s.parent.pipe(Option.exists((p) => p === root))).map((s) => s.name)).toEqual(["Cache.get", "Cache.set"])
      }))
  })
