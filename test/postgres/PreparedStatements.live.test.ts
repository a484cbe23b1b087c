import { it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { expect } from "vitest"
import { MetadataRepository, NewTenant, PostgresClient, SqlMetadataRepository } from "../../src/index.js"
import * as PgPrepared from "../../src/sql/PgPrepared.js"
import { TestStorage } from "../../src/testing/index.js"
import { describeLive } from "../support/live.js"
import { livePostgres, postgresUrl } from "../support/postgres.js"

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

    it.effect(`give at most ${PgPrepared.maxNamed} texts a name; the rest run unnamed`, () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const pool = PostgresClient.poolOf(sql)
        expect(pool).toBeDefined()
        const run = PgPrepared.runner(pool!)
        const texts = PgPrepared.maxNamed + 50
        const results = yield* Effect.forEach(Array.from({ length: texts }, (_, i) => i), (i) =>
          Effect.map(run(sql<{ readonly n: number }>`SELECT ${i}::int + ${i * 0} AS n ${sql.literal(`-- text ${i}`)}`), (rows) => rows[0]?.n))
        expect(results).toEqual(Array.from({ length: texts }, (_, i) => i))
        // the repository's statements of the earlier tests share the pool's naming: all count
        const names = (yield* preparedNames).filter((n) => n.startsWith("llmtrace_"))
        expect(names.length).toBe(PgPrepared.maxNamed)
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
        const sql = yield* SqlClient.SqlClient
        expect(PostgresClient.poolOf(sql)).toBeUndefined()
        const t = tenant()
        yield* repo.createTenant(t)
        expect(Option.isSome(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
        expect((yield* preparedNames).filter((n) => n.startsWith("llmtrace_"))).toEqual([])
      }))
  })
})
