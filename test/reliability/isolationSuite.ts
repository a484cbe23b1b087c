import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  ApiKeyRecord,
  AuditEvent,
  AuditQuery,
  ComplianceReport,
  hashApiKey,
  MetadataRepository,
  newSpanId,
  newTenantId,
  newTraceId,
  ReportQuery,
  type SpanId,
  NewTenant,
  TenantConfig,
  type TenantId,
  TraceEvent,
  TraceQuery,
  TraceRepository,
  type TraceSpan,
  uuid
} from "../../src/index.js"
import { at, span } from "../support/fixtures.js"

type Query = Partial<Parameters<typeof TraceQuery.make>[0]>

/** Each span filter of TraceQuery, with the predicate it means, to count what a tenant should get. */
const filters: ReadonlyArray<[string, Query, (s: TraceSpan) => boolean]> = [
  ["no filter", {}, () => true],
  ["startTime/endTime", { startTime: at(3), endTime: at(12) }, (s) => s.startTime >= at(3) && s.startTime <= at(12)],
  ["provider", { provider: "Anthropic" }, (s) => s.provider === "Anthropic"],
  ["modelName", { modelName: "model-1" }, (s) => s.modelName === "model-1"],
  ["operationName", { operationName: "op-2" }, (s) => s.operationName === "op-2"],
  ["minSecurityScore", { minSecurityScore: 50 }, (s) => (s.securityScore ?? -1) >= 50],
  ["maxSecurityScore", { maxSecurityScore: 30 }, (s) => s.securityScore !== undefined && s.securityScore <= 30],
  ["tags", { tags: { shared: "yes", parity: "even" } }, (s) => s.tags.parity === "even"],
  ["limit/offset", { limit: 5, offset: 2 }, () => true]
]

/**
 * Two tenants with interleaved data: the same trace ids, span ids, timestamps, tags, providers,
 * models and scores. Tenant B has one trace more, so a count that crosses tenants is visible.
 */
const interleaved = () => {
  const a = newTenantId()
  const b = newTenantId()
  const shared = Array.from({ length: 10 }, (_, i) => ({ traceId: newTraceId(), spanIds: [newSpanId(), newSpanId(), newSpanId()] as const, i }))
  const onlyB = { traceId: newTraceId(), spanIds: [newSpanId(), newSpanId(), newSpanId()] as const, i: 10 }
  const traceOf = (tenantId: TenantId, t: typeof onlyB) =>
    TraceEvent.make({
      tenantId,
      traceId: t.traceId,
      createdAt: at(t.i * 2),
      spans: t.spanIds.map((spanId, j) =>
        span(tenantId, t.traceId, {
          spanId,
          startTime: at(t.i * 2 + j / 3),
          provider: j === 0 ? "Anthropic" : "OpenAI",
          modelName: `model-${j}`,
          operationName: `op-${t.i % 3}`,
          securityScore: (t.i * 10 + j) % 101,
          prompt: `${tenantId === a ? "A" : "B"} prompt ${t.i}.${j}`,
          tags: { shared: "yes", parity: t.i % 2 === 0 ? "even" : "odd" }
        })
      )
    })
  const tracesA = shared.map((t) => traceOf(a, t))
  const tracesB = [...shared.map((t) => traceOf(b, t)), traceOf(b, onlyB)]
  return { a, b, tracesA, tracesB, sharedTraceIds: shared.map((t) => t.traceId), onlyB }
}

/** Every read, query, stats and delete operation of TraceRepository, for two tenants with interleaved data. */
export const traceIsolation = <E>(name: string, repository: Layer.Layer<TraceRepository.TraceRepository, E>) =>
  layer(repository, { timeout: "120 seconds", excludeTestServices: true })(`tenant isolation, traces: ${name}`, (it) => {
    it.effect("no read, query, stats or delete of one tenant returns, counts or deletes anything of the other", () =>
      Effect.gen(function*() {
        const repo = yield* TraceRepository.TraceRepository
        const { a, b, onlyB, sharedTraceIds, tracesA, tracesB } = interleaved()
        // Interleaved writes: A's and B's copies of each trace one after the other.
        for (let i = 0; i < tracesB.length; i++) {
          if (tracesA[i] !== undefined) yield* repo.storeTrace(tracesA[i]!)
          yield* repo.storeTrace(tracesB[i]!)
        }
        const all = { [a]: tracesA, [b]: tracesB }
        const spansOf = (tenant: TenantId) => all[tenant]!.flatMap((t) => t.spans)
        const mark = (tenant: TenantId) => (tenant === a ? "A " : "B ")
        const owned = (tenant: TenantId, spans: ReadonlyArray<TraceSpan>) =>
          spans.every((s) => s.tenantId === tenant && s.prompt.startsWith(mark(tenant)))

        for (const tenant of [a, b]) {
          // getTrace and getSpan of ids both tenants use return this tenant's copy only.
          for (const traceId of sharedTraceIds) {
            const trace = yield* repo.getTrace(tenant, traceId)
            expect(Option.isSome(trace)).toBe(true)
            const spans = Option.getOrThrow(trace).spans
            expect(spans).toHaveLength(3)
            expect(owned(tenant, spans)).toBe(true)
          }
          for (const s of spansOf(tenant)) {
            const got = yield* repo.getSpan(tenant, s.spanId)
            expect(Option.map(got, (g) => [g.tenantId, g.prompt])).toEqual(Option.some([tenant, s.prompt]))
          }
          // Every span filter, on spans and on traces: only this tenant's rows, exactly as many as it has.
          for (const [label, filter, matches] of filters) {
            const expected = spansOf(tenant).filter(matches)
            const spans = yield* repo.querySpans(TraceQuery.make({ tenantId: tenant, ...filter }))
            expect(owned(tenant, spans), label).toBe(true)
            expect(spans.length, label).toBe(filter.limit === undefined ? expected.length : Math.min(filter.limit, expected.length - (filter.offset ?? 0)))
            const traces = yield* repo.queryTraces(TraceQuery.make({ tenantId: tenant, ...filter }))
            expect(traces.every((t) => t.tenantId === tenant && owned(tenant, t.spans)), label).toBe(true)
            // A trace matches when one of its spans does (the time range bounds createdAt there instead).
            if (filter.limit === undefined && filter.startTime === undefined) {
              expect(traces.length, label).toBe(all[tenant]!.filter((t) => t.spans.some(matches)).length)
            }
          }
          const byTrace = yield* repo.querySpans(TraceQuery.make({ tenantId: tenant, traceId: sharedTraceIds[4]! }))
          expect(byTrace).toHaveLength(3)
          expect(owned(tenant, byTrace)).toBe(true)
          expect(yield* repo.getStats(tenant)).toMatchObject({ totalTraces: all[tenant]!.length, totalSpans: all[tenant]!.length * 3 })
        }
        // Ids only B has are invisible to A.
        expect(yield* repo.getTrace(a, onlyB.traceId)).toEqual(Option.none())
        expect(yield* repo.getSpan(a, onlyB.spanIds[0] as SpanId)).toEqual(Option.none())
        expect(yield* repo.querySpans(TraceQuery.make({ tenantId: a, traceId: onlyB.traceId }))).toEqual([])

        // Deleting A's old traces counts and removes A's only.
        const deleted = yield* repo.deleteTracesBefore(a, at(10))
        expect(deleted).toBe(tracesA.filter((t) => t.createdAt < at(10)).length)
        expect(yield* repo.getStats(b)).toMatchObject({ totalTraces: tracesB.length, totalSpans: tracesB.length * 3 })
        expect(yield* repo.querySpans(TraceQuery.make({ tenantId: b, limit: 1000 }))).toHaveLength(tracesB.length * 3)
        for (const traceId of sharedTraceIds) expect(Option.isSome(yield* repo.getTrace(b, traceId))).toBe(true)
        expect(yield* repo.getStats(a)).toMatchObject({ totalTraces: tracesA.length - deleted, totalSpans: (tracesA.length - deleted) * 3 })
        // And deleting everything of B leaves A's remaining traces alone.
        expect(yield* repo.deleteTracesBefore(b, at(1000))).toBe(tracesB.length)
        expect(yield* repo.getStats(a)).toMatchObject({ totalTraces: tracesA.length - deleted })
        expect(yield* repo.getStats(b)).toMatchObject({ totalTraces: 0, totalSpans: 0 })
      }), 120_000)
  })

/** The tenant-scoped MetadataRepository operations, for two tenants with interleaved data. */
export const metadataIsolation = <E>(name: string, repository: Layer.Layer<MetadataRepository.MetadataRepository, E>) =>
  layer(repository, { timeout: "120 seconds", excludeTestServices: true })(`tenant isolation, metadata: ${name}`, (it) => {
    it.effect("no config, audit, key or report operation of one tenant returns, changes or deletes anything of the other", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const [a, b] = [NewTenant.make({ name: "same", apiToken: `a-${uuid()}`, plan: "free", createdAt: at(0) }), NewTenant.make({ name: "same", apiToken: `b-${uuid()}`, plan: "free", createdAt: at(0) })]
        yield* repo.createTenant(a)
        yield* repo.createTenant(b)
        yield* repo.upsertTenantConfig(TenantConfig.make({ tenantId: a.id, monitoringScope: "input_only", rateLimitRpm: 1 }))
        yield* repo.upsertTenantConfig(TenantConfig.make({ tenantId: b.id, monitoringScope: "output_only", rateLimitRpm: 2 }))
        const events = new Map<TenantId, Array<AuditEvent>>([[a.id, []], [b.id, []]])
        const keys = new Map<TenantId, Array<ApiKeyRecord>>([[a.id, []], [b.id, []]])
        const reports = new Map<TenantId, Array<ComplianceReport>>([[a.id, []], [b.id, []]])
        for (let i = 0; i < 12; i++) {
          for (const t of [a, b]) {
            const event = AuditEvent.make({ tenantId: t.id, eventType: i % 2 === 0 ? "login" : "query", actor: t.apiToken, resource: "r", timestamp: at(i) })
            yield* repo.recordAuditEvent(event)
            events.get(t.id)!.push(event)
          }
        }
        // B has one event more, so a count that crosses tenants shows.
        const extra = AuditEvent.make({ tenantId: b.id, eventType: "login", actor: b.apiToken, resource: "r", timestamp: at(3) })
        yield* repo.recordAuditEvent(extra)
        events.get(b.id)!.push(extra)
        for (let i = 0; i < 3; i++) {
          for (const t of [a, b]) {
            const key = ApiKeyRecord.make({ tenantId: t.id, name: `key ${i}`, keyHash: hashApiKey(`${t.id}-${i}`), keyPrefix: "lt_", role: "viewer", createdAt: at(i) })
            yield* repo.createApiKey(key)
            keys.get(t.id)!.push(key)
            const report = ComplianceReport.make({ tenantId: t.id, reportType: "soc2", periodStart: at(0), periodEnd: at(60), createdAt: at(i) })
            yield* repo.storeReport(report)
            reports.get(t.id)!.push(report)
          }
        }

        for (const [t, other] of [[a, b], [b, a]] as const) {
          expect(Option.map(yield* repo.getTenantConfig(t.id), (c) => c.rateLimitRpm)).toEqual(Option.some(t === a ? 1 : 2))
          const mine = events.get(t.id)!
          const auditQueries: ReadonlyArray<[Parameters<typeof AuditQuery.make>[0], (e: AuditEvent) => boolean]> = [
            [{ tenantId: t.id }, () => true],
            [{ tenantId: t.id, eventType: "login" }, (e) => e.eventType === "login"],
            [{ tenantId: t.id, startTime: at(2), endTime: at(6) }, (e) => e.timestamp >= at(2) && e.timestamp <= at(6)],
            [{ tenantId: t.id, eventType: "query", startTime: at(0), endTime: at(20), limit: 1000 }, (e) => e.eventType === "query"]
          ]
          for (const [query, matches] of auditQueries) {
            const got = yield* repo.queryAuditEvents(AuditQuery.make(query))
            expect(got.every((e) => e.tenantId === t.id && e.actor === t.apiToken)).toBe(true)
            expect(got.map((e) => e.id).sort()).toEqual(mine.filter(matches).map((e) => e.id).sort())
          }
          const listed = yield* repo.listApiKeys(t.id)
          expect(listed.map((k) => k.id).sort()).toEqual(keys.get(t.id)!.map((k) => k.id).sort())
          const listedReports = yield* repo.listReports(ReportQuery.make({ tenantId: t.id }))
          expect(listedReports.map((r) => r.id).sort()).toEqual(reports.get(t.id)!.map((r) => r.id).sort())
          // The other tenant's ids, asked for under this tenant, are not found and not changed.
          for (const r of reports.get(other.id)!) expect(yield* repo.getReport(t.id, r.id)).toEqual(Option.none())
          for (const r of reports.get(t.id)!) expect(Option.map(yield* repo.getReport(t.id, r.id), (x) => x.tenantId)).toEqual(Option.some(t.id))
          const theirs = keys.get(other.id)![0]!
          expect(yield* repo.revokeApiKey(t.id, theirs.id)).toBe(false)
          expect(Option.map(yield* repo.getApiKeyByHash(theirs.keyHash), (k) => k.revokedAt)).toEqual(Option.some(undefined))
        }
        // Revoking one's own key touches that key only.
        expect(yield* repo.revokeApiKey(a.id, keys.get(a.id)![1]!.id)).toBe(true)
        expect((yield* repo.listApiKeys(b.id)).every((k) => k.revokedAt === undefined)).toBe(true)

        // Deleting A (which cascades) leaves everything of B.
        expect(Option.isSome(yield* repo.deleteTenant(a.id))).toBe(true)
        expect(yield* repo.getTenantConfig(a.id)).toEqual(Option.none())
        expect(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: a.id }))).toEqual([])
        expect(Option.isSome(yield* repo.getTenant(b.id))).toBe(true)
        expect(Option.map(yield* repo.getTenantConfig(b.id), (c) => c.monitoringScope)).toEqual(Option.some("output_only"))
        expect(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: b.id, limit: 1000 }))).toHaveLength(events.get(b.id)!.length)
        expect(yield* repo.listApiKeys(b.id)).toHaveLength(3)
        expect(yield* repo.listReports(ReportQuery.make({ tenantId: b.id }))).toHaveLength(3)
      }), 120_000)
  })
