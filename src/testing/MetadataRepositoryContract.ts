import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import {
  ApiKeyRecord,
  AuditEvent,
  AuditQuery,
  ComplianceReport,
  hashApiKey,
  MetadataRepository,
  newTenantId,
  NewTenant, storedTenant,
  TenantConfig,
  type TenantId
} from "../index.js"
import { at, bigString, hostileStrings } from "./Fixtures.js"
import { metadataRepositoryProperties } from "./MetadataRepositoryProperties.js"

const Repo = MetadataRepository.MetadataRepository

const tenant = (overrides: Partial<Parameters<typeof NewTenant.make>[0]> = {}) =>
  NewTenant.make({ name: "Acme", apiToken: `tok-${randomUUID()}`, plan: "pro", createdAt: at(0), config: { region: "eu", limits: { rpm: 60 } }, ...overrides })

const audit = (tenantId: TenantId, minutes: number, eventType = "tenant.updated") =>
  AuditEvent.make({ tenantId, eventType, actor: "admin@acme", resource: `tenant/${tenantId}`, data: { minutes }, timestamp: at(minutes) })

const apiKey = (tenantId: TenantId, minutes = 0) =>
  ApiKeyRecord.make({ tenantId, name: "ci", keyHash: hashApiKey(randomUUID()), keyPrefix: "llmt_ab", role: "operator", createdAt: at(minutes) })

const report = (tenantId: TenantId, minutes: number) =>
  ComplianceReport.make({ tenantId, reportType: "soc2", periodStart: at(0), periodEnd: at(60), createdAt: at(minutes) })

/** The behaviour every MetadataRepository must have. Tenants are fresh per test, so one database serves the file. */
export const metadataRepositoryContract = <E>(
  name: string,
  repository: Layer.Layer<MetadataRepository.MetadataRepository, E>,
  options: { readonly excludeTestServices?: boolean } = {}
) =>
  layer(repository, { timeout: "120 seconds", excludeTestServices: options.excludeTestServices ?? false })(
    `MetadataRepository contract: ${name}`,
    (it) => {
      metadataRepositoryProperties(it)

      describe("tenants", () => {
        it.effect("creates, gets by id and by token, updates, lists and deletes a tenant", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            expect(Option.getOrThrow(yield* repo.getTenant(t.id))).toEqual(storedTenant(t))
            expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken))).toEqual(storedTenant(t))
            const updated = { ...t, name: "Acme Corp", plan: "enterprise", apiToken: `tok-${randomUUID()}`, config: { region: "us" } }
            // updateTenant returns the tenant as it found it; deleteTenant the tenant as it was
            expect(yield* repo.updateTenant(updated)).toEqual(storedTenant(t))
            expect(Option.getOrThrow(yield* repo.getTenant(t.id))).toEqual(storedTenant(updated))
            expect(Option.isNone(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
            expect(Option.getOrThrow(yield* repo.getTenantByToken(updated.apiToken))).toEqual(storedTenant(updated))
            expect((yield* repo.listTenants()).filter((x) => x.id === t.id)).toEqual([storedTenant(updated)])
            expect(yield* repo.deleteTenant(t.id)).toEqual(Option.some(storedTenant(updated)))
            expect(yield* repo.deleteTenant(t.id)).toEqual(Option.none())
            expect(Option.isNone(yield* repo.getTenant(t.id))).toBe(true)
            expect((yield* repo.listTenants()).some((x) => x.id === t.id)).toBe(false)
          }))

        it.effect("a config is JSON: a negative zero in it reads back as 0 (JSON has no -0), everything else exactly", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant({ config: { zero: -0, nested: [{ zero: -0 }], tiny: -3.4515375389819534e-35, big: 76399742287872 } })
            yield* repo.createTenant(t)
            const config = Option.getOrThrow(yield* repo.getTenant(t.id)).config
            expect(Object.is(config.zero, 0)).toBe(true)
            expect(config).toStrictEqual({ zero: 0, nested: [{ zero: 0 }], tiny: -3.4515375389819534e-35, big: 76399742287872 })
          }))

        it.effect("lists tenants oldest first", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const later = tenant({ createdAt: at(-100) })
            const earlier = tenant({ createdAt: at(-200) })
            yield* repo.createTenant(later)
            yield* repo.createTenant(earlier)
            const ids = (yield* repo.listTenants()).map((x) => x.id).filter((id) => id === later.id || id === earlier.id)
            expect(ids).toEqual([earlier.id, later.id])
          }))

        it.effect("a duplicate id or api token is a StorageConflict and changes nothing", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const sameId = yield* Effect.flip(repo.createTenant(tenant({ id: t.id })))
            expect(sameId._tag).toBe("StorageConflict")
            const sameToken = yield* Effect.flip(repo.createTenant(tenant({ apiToken: t.apiToken })))
            expect(sameToken._tag).toBe("StorageConflict")
            const other = tenant()
            yield* repo.createTenant(other)
            const stolenToken = yield* Effect.flip(repo.updateTenant({ ...other, apiToken: t.apiToken }))
            expect(stolenToken._tag).toBe("StorageConflict")
            expect(Option.getOrThrow(yield* repo.getTenant(t.id))).toEqual(storedTenant(t))
            expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken)).id).toBe(t.id)
          }))

        it.effect("updating a missing tenant is StorageNotFound", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const error = yield* Effect.flip(repo.updateTenant(tenant()))
            expect(error._tag).toBe("StorageNotFound")
          }))

        it.effect("deleting a tenant removes its config, audit events, keys and reports", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const key = apiKey(t.id)
            const r = report(t.id, 1)
            yield* repo.upsertTenantConfig(TenantConfig.make({ tenantId: t.id }))
            yield* repo.recordAuditEvent(audit(t.id, 1))
            yield* repo.createApiKey(key)
            yield* repo.storeReport(r)
            yield* repo.deleteTenant(t.id)
            expect(Option.isNone(yield* repo.getTenantConfig(t.id))).toBe(true)
            expect(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id }))).toEqual([])
            expect(Option.isNone(yield* repo.getApiKeyByHash(key.keyHash))).toBe(true)
            expect(yield* repo.listApiKeys(t.id)).toEqual([])
            expect(Option.isNone(yield* repo.getReport(t.id, r.id))).toBe(true)
            // The tenant's id and token are free again.
            yield* repo.createTenant(t)
          }))

        it.effect("keeps hostile strings and large JSON in tenants byte-identical", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            for (const s of hostileStrings) {
              const t = tenant({ name: s, plan: s, apiToken: `${s}-${randomUUID()}`, config: { [s]: s, nested: [s, { s }] } })
              yield* repo.createTenant(t)
              expect(Option.getOrThrow(yield* repo.getTenant(t.id))).toEqual(storedTenant(t))
              expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken))).toEqual(storedTenant(t))
            }
            const big = tenant({ name: bigString(1024 * 1024) })
            yield* repo.createTenant(big)
            expect(Option.getOrThrow(yield* repo.getTenant(big.id))).toEqual(storedTenant(big))
          }))
      })

      describe("tenant configs", () => {
        it.effect("upserts: creates, then updates in place", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            expect(Option.isNone(yield* repo.getTenantConfig(t.id))).toBe(true)
            const first = TenantConfig.make({ tenantId: t.id, securityThresholds: { injection: 0.8 }, featureFlags: { pii: true } })
            yield* repo.upsertTenantConfig(first)
            expect(Option.getOrThrow(yield* repo.getTenantConfig(t.id))).toEqual(first)
            const second = TenantConfig.make({
              tenantId: t.id,
              securityThresholds: { injection: 0.5, jailbreak: 0.75 },
              featureFlags: { pii: false, streaming: true },
              monitoringScope: "input_only",
              rateLimitRpm: 600,
              monthlyBudget: 1234.5
            })
            yield* repo.upsertTenantConfig(second)
            expect(Option.getOrThrow(yield* repo.getTenantConfig(t.id))).toEqual(second)
          }))

        it.effect("configuring a missing tenant is StorageNotFound", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const error = yield* Effect.flip(repo.upsertTenantConfig(TenantConfig.make({ tenantId: newTenantId() })))
            expect(error._tag).toBe("StorageNotFound")
          }))
      })

      describe("audit events", () => {
        it.effect("filters by type and time, newest first, with pagination", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const events = [3, 1, 4, 0, 2].map((m) => audit(t.id, m, m % 2 === 0 ? "key.created" : "tenant.updated"))
            yield* Effect.forEach(events, repo.recordAuditEvent)
            const minutes = (es: ReadonlyArray<AuditEvent>) => es.map((e) => e.data.minutes)
            expect(minutes(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id })))).toEqual([4, 3, 2, 1, 0])
            expect(minutes(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, eventType: "key.created" })))).toEqual([4, 2, 0])
            expect(minutes(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, startTime: at(1), endTime: at(3) })))).toEqual([3, 2, 1])
            expect(minutes(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, limit: 2, offset: 1 })))).toEqual([3, 2])
            const e = events[0]!
            expect((yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, startTime: at(3), endTime: at(3) })))[0]).toEqual(e)
            const other = tenant()
            yield* repo.createTenant(other)
            expect(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: other.id }))).toEqual([])
          }))

        it.effect("keeps hostile strings in audit data; a duplicate id is a conflict; a missing tenant is not found", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const e = AuditEvent.make({ tenantId: t.id, eventType: "hostile", actor: hostileStrings[0]!, resource: hostileStrings[1]!, data: { all: [...hostileStrings] }, timestamp: at(9) })
            yield* repo.recordAuditEvent(e)
            expect(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: t.id, eventType: "hostile" }))).toEqual([e])
            expect((yield* Effect.flip(repo.recordAuditEvent(e)))._tag).toBe("StorageConflict")
            expect((yield* Effect.flip(repo.recordAuditEvent(audit(newTenantId(), 1))))._tag).toBe("StorageNotFound")
          }))
      })

      describe("API keys", () => {
        it.effect("finds active keys by hash only; revoke says whether it changed anything; list includes revoked", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const first = apiKey(t.id, 1)
            const second = apiKey(t.id, 2)
            yield* repo.createApiKey(first)
            yield* repo.createApiKey(second)
            expect(Option.getOrThrow(yield* repo.getApiKeyByHash(first.keyHash))).toEqual(first)
            expect(yield* repo.revokeApiKey(newTenantId(), first.id)).toBe(false)
            expect(yield* repo.revokeApiKey(t.id, first.id)).toBe(true)
            expect(yield* repo.revokeApiKey(t.id, first.id)).toBe(false)
            expect(yield* repo.revokeApiKey(t.id, randomUUID())).toBe(false)
            expect(Option.isNone(yield* repo.getApiKeyByHash(first.keyHash))).toBe(true)
            expect(Option.getOrThrow(yield* repo.getApiKeyByHash(second.keyHash))).toEqual(second)
            const listed = yield* repo.listApiKeys(t.id)
            expect(listed.map((k) => k.id)).toEqual([first.id, second.id])
            expect(listed[0]!.revokedAt).toBeInstanceOf(Date)
            expect(listed[1]!.revokedAt).toBeUndefined()
          }))

        it.effect("a duplicate key hash is a conflict; a key of a missing tenant is not found", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const key = apiKey(t.id)
            yield* repo.createApiKey(key)
            expect((yield* Effect.flip(repo.createApiKey({ ...apiKey(t.id), keyHash: key.keyHash })))._tag).toBe("StorageConflict")
            expect((yield* Effect.flip(repo.createApiKey(apiKey(newTenantId()))))._tag).toBe("StorageNotFound")
            const bad = yield* Effect.flip(repo.createApiKey({ ...apiKey(t.id), keyHash: "plaintext-key" }))
            expect(bad._tag === "InvalidInput" && bad.path).toEqual(["keyHash"])
          }))
      })

      describe("compliance reports", () => {
        it.effect("inserts, updates, gets and lists newest first with pagination", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const reports = [1, 3, 2].map((m) => report(t.id, m))
            yield* Effect.forEach(reports, repo.storeReport)
            expect(Option.getOrThrow(yield* repo.getReport(t.id, reports[0]!.id))).toEqual(reports[0])
            const done: ComplianceReport = { ...reports[0]!, status: "completed", completedAt: at(10), content: { findings: 3, ok: false, text: hostileStrings[2]! } }
            yield* repo.storeReport(done)
            expect(Option.getOrThrow(yield* repo.getReport(t.id, done.id))).toEqual(done)
            const failed: ComplianceReport = { ...reports[1]!, status: "failed", error: "engine timeout" }
            yield* repo.storeReport(failed)
            expect(Option.getOrThrow(yield* repo.getReport(t.id, failed.id))).toEqual(failed)
            const list = (q: { limit?: number; offset?: number }) => repo.listReports({ tenantId: t.id, limit: q.limit ?? 100, offset: q.offset ?? 0 })
            expect((yield* list({})).map((r) => r.createdAt)).toEqual([at(3), at(2), at(1)])
            expect((yield* list({ limit: 1, offset: 1 })).map((r) => r.id)).toEqual([reports[2]!.id])
            expect(Option.isNone(yield* repo.getReport(newTenantId(), done.id))).toBe(true)
          }))

        it.effect("a report id owned by another tenant is a conflict, and the report is unchanged", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const a = tenant()
            const b = tenant()
            yield* repo.createTenant(a)
            yield* repo.createTenant(b)
            const r = report(a.id, 1)
            yield* repo.storeReport(r)
            expect((yield* Effect.flip(repo.storeReport({ ...r, tenantId: b.id, status: "failed" })))._tag).toBe("StorageConflict")
            expect(Option.getOrThrow(yield* repo.getReport(a.id, r.id))).toEqual(r)
          }))
      })

      it.effect("answers its health check", () => Effect.flatMap(Repo, (repo) => repo.healthCheck()))
    }
  )
