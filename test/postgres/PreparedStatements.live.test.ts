import { it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { expect } from "vitest"
import { MetadataRepository, NewTenant, PostgresClient, SqlMetadataRepository } from "../../src/index.js"
import * as PgPrepared from "../../src/sql/PgPrepared.js"
import { TestStorage } from "../../src/testing/index.js"
import { describeLive } from "../support/live.js"
import { livePostgres, postgresUrl } from "../support/postgres.js"
import { activeStatements } from "../support/postgresActivity.js"

/** One connection, so the session the statements were prepared on is the one the catalogue is asked on. */
const oneConnection = Layer.unwrapScoped(
  Effect.map(TestStorage.postgresDatabase(Redacted.make(postgresUrl), "llmtrace_prepared"), (db) =>
    PostgresClient.layer({ url: db.url, maxConnections: 1 }))
)
const repository = SqlMetadataRepository.layer().pipe(Layer.provideMerge(oneConnection))

const preparedNames = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ readonly name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`, (rows) => rows.map((r) => r.name)))

const tenant = () => NewTenant.make({ name: "prepared", apiToken: crypto.randomUUID(), plan: "pro", config: { region: "eu" } })

describeLive(await livePostgres(), () => {
  it.layer(repository, { timeout: 60_000 })("PostgreSQL statements of the repository", (it) => {
    it.effect("run as named prepared statements on the client's own pool", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const t = tenant()
        yield* repo.createTenant(t)
        const found = yield* repo.getTenantByToken(t.apiToken)
        expect(Option.map(found, (x) => x.id)).toEqual(Option.some(t.id))
        const names = yield* preparedNames
        // createTenant and getTenantByToken at least; sql`` itself (the catalogue query) is unnamed
        expect(names.filter((n) => n.startsWith("llmtrace_")).length).toBeGreaterThanOrEqual(2)
      }))

    it.effect("inside sql.withTransaction run on the transaction's connection (a rollback undoes them)", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const sql = yield* SqlClient.SqlClient
        const t = tenant()
        const rolledBack = yield* sql.withTransaction(
          Effect.zipRight(repo.createTenant(t), Effect.fail("rollback" as const))
        ).pipe(Effect.flip)
        expect(rolledBack).toBe("rollback")
        expect(Option.isNone(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
      }))

    it.effect("none selects or returns `*`: another release's added column cannot change a prepared statement's result type", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const t = tenant()
        yield* repo.createTenant(t)
        yield* repo.getTenant(t.id)
        yield* repo.getTenantByToken(t.apiToken)
        yield* repo.updateTenant({ ...t, apiToken: crypto.randomUUID() })
        yield* repo.listTenants()
        yield* repo.getTenantConfig(t.id)
        yield* repo.queryAuditEvents({ tenantId: t.id, limit: 10, offset: 0 })
        yield* repo.listApiKeys(t.id)
        yield* repo.getApiKeyByHash("0".repeat(64))
        yield* repo.getReport(t.id, crypto.randomUUID())
        yield* repo.listReports({ tenantId: t.id, limit: 10, offset: 0 })
        yield* repo.deleteTenant(t.id)
        const sql = yield* SqlClient.SqlClient
        const statements = yield* sql<{ readonly statement: string }>`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'llmtrace_%'`
        expect(statements.length).toBeGreaterThan(5)
        expect(statements.map((s) => s.statement).filter((text) => /SELECT\s+\*|RETURNING\s+\*/i.test(text))).toEqual([])
      }))

    it.effect(`give at most ${PgPrepared.maxNamed} texts a name; the rest run unnamed`, () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect((yield* PostgresClient.PgPool).client).toBe(sql)
        const { run } = yield* PostgresClient.PgPool
        const texts = PgPrepared.maxNamed + 50
        const results = yield* Effect.forEach(Array.from({ length: texts }, (_, i) => i), (i) =>
          Effect.map(run(sql<{ readonly n: number }>`SELECT ${i}::int + ${i * 0} AS n ${sql.literal(`-- text ${i}`)}`), (rows) => rows[0]?.n))
        expect(results).toEqual(Array.from({ length: texts }, (_, i) => i))
        // the repository's statements of the earlier tests share the pool's naming: all count
        const names = (yield* preparedNames).filter((n) => n.startsWith("llmtrace_"))
        expect(names.length).toBe(PgPrepared.maxNamed)
      }))

    it.effect("an interrupted statement is cancelled on the server: gone from pg_stat_activity within 1 s", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const { run } = yield* PostgresClient.PgPool
        const marker = `llmtrace_interrupt_${crypto.randomUUID().replaceAll("-", "_")}`
        const fiber = yield* Effect.fork(run(sql`SELECT pg_sleep(30) AS ${sql(marker)}`))
        yield* activeStatements(marker).pipe(Effect.filterOrFail((rows) => rows.length === 1), Effect.retry(Schedule.spaced("20 millis")))
        yield* Fiber.interrupt(fiber)
        const interrupted = Date.now()
        yield* activeStatements(marker).pipe(Effect.filterOrFail((rows) => rows.length === 0), Effect.retry(Schedule.spaced("20 millis")))
        // The issue's bound; without a cancel the statement would run its 30 s.
        expect(Date.now() - interrupted).toBeLessThan(1000)
        // The one connection is back in the pool and answers.
        expect(yield* run(sql<{ one: number }>`SELECT 1 AS one`)).toEqual([{ one: 1 }])
      }))

    it.effect("a failure is the driver's error, mapped as before (a duplicate token is StorageConflict)", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const t = tenant()
        yield* repo.createTenant(t)
        const again = yield* Effect.flip(repo.createTenant(NewTenant.make({ name: "other", apiToken: t.apiToken, plan: "pro", config: {} })))
        expect(again._tag).toBe("StorageConflict")
      }))
  })

  it.layer(
    SqlMetadataRepository.layer().pipe(Layer.provideMerge(Layer.unwrapScoped(
      Effect.map(TestStorage.postgresDatabase(Redacted.make(postgresUrl), "llmtrace_prepared"), (db) =>
        PgClient.layer({ url: db.url, maxConnections: 2 }))
    ))),
    { timeout: 60_000 }
  )("a PgClient made elsewhere (no pool known)", (it) => {
    it.effect("runs the statements through @effect/sql-pg itself", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        expect(Option.isNone(yield* Effect.serviceOption(PostgresClient.PgPool))).toBe(true)
        const t = tenant()
        yield* repo.createTenant(t)
        expect(Option.isSome(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
        expect((yield* preparedNames).filter((n) => n.startsWith("llmtrace_"))).toEqual([])
      }))
  })

  // A PostgresClient layer beside a PgClient made elsewhere: the PgClient's SqlClient wins, the other's PgPool is in context too.
  it.layer(
    SqlMetadataRepository.layer().pipe(Layer.provideMerge(Layer.unwrapScoped(
      Effect.map(
        Effect.all([
          TestStorage.postgresDatabase(Redacted.make(postgresUrl), "llmtrace_other_pool"),
          TestStorage.postgresDatabase(Redacted.make(postgresUrl), "llmtrace_own_client")
        ]),
        ([other, own]) => Layer.merge(PostgresClient.layer({ url: other.url, maxConnections: 1 }), PgClient.layer({ url: own.url, maxConnections: 1 }))
      )
    ))),
    { timeout: 60_000 }
  )("a PgPool in context behind another client", (it) => {
    it.effect("is not used: the statements run on the SqlClient's own database", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect((yield* PostgresClient.PgPool).client).not.toBe(sql)
        const repo = yield* MetadataRepository.MetadataRepository
        const t = tenant()
        yield* repo.createTenant(t)
        expect(yield* sql<{ readonly id: string }>`SELECT id FROM tenants WHERE id = ${t.id}`).toEqual([{ id: t.id }])
      }))
  })
})
