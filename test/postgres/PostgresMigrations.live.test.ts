import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { MetadataRepository, StorageMigrations } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import * as SqlMigrations from "../../src/internal/sql/Migrations.js"
import { classify } from "../../src/internal/sql/SqlErrors.js"
import { migrationsContract, sqlTarget } from "../contract/MigrationsContract.js"
import { describeLive } from "../support/live.js"
import { databaseUrl, freshDatabase, livePostgres, scopedDatabase } from "../support/postgres.js"

const live = await livePostgres()
const run = promisify(execFile)
const child = fileURLToPath(new URL("../support/migrate-child.ts", import.meta.url))
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))

/** Runs `f` against a fresh database that is dropped afterwards. */
const inFreshDatabase = <A, E>(f: (url: string) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(freshDatabase("llmtrace_migrate"), ({ url }) => f(Redacted.value(url))))

/** Every migration this build knows, in order. */
const allIds = Object.keys(SqlMigrations.migrations).map((key) => Number(key.split("_")[0]))

const client = (url: string) => PostgresClient.layer({ url: Redacted.make(url), maxConnections: 2 })

const tables = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
).pipe(Effect.map((rows) => rows.map((r) => r.table_name)))

describeLive(live, () => migrationsContract("postgres", sqlTarget(scopedDatabase), "postgres"))

describeLive(live, () => describe("PostgreSQL migrations", () => {
  it.live("a migration record the role may not read is a StorageQueryError naming postgres, never 'everything pending'", () =>
    inFreshDatabase((url) =>
      Effect.gen(function*() {
        const migrations = yield* StorageMigrations.sql
        expect(yield* migrations.run).toEqual(StorageMigrations.known("postgres"))
        const sql = yield* SqlClient.SqlClient
        // The owner revokes its own right to read the record: the table is there, reading it is refused.
        yield* sql`REVOKE ALL ON ${sql(SqlMigrations.table)} FROM CURRENT_USER`
        const error = yield* Effect.flip(migrations.status)
        expect(error._tag).toBe("StorageQueryError")
        expect(error.backend).toBe("postgres")
        expect(error.message).toMatch(/permission denied/)
        const refused = yield* Layer.build(SqlMetadataRepository.layer({ autoMigrate: false })).pipe(Effect.scoped, Effect.flip)
        expect(refused.message).toMatch(/permission denied/)
      }).pipe(Effect.provide(client(url)))
    ), 60_000)

  it.live("the status names host, port and database as its target, never the password", () =>
    inFreshDatabase((url) =>
      Effect.gen(function*() {
        const status = yield* Effect.flatMap(StorageMigrations.sql, (m) => m.status)
        const u = new URL(url)
        expect(status.target).toBe(`${u.hostname}:${u.port || "5432"}${u.pathname}`)
        expect(status.target).not.toContain("@")
      }).pipe(Effect.provide(client(url)))
    ), 60_000)

  it.live("run once, then find nothing pending", () =>
    inFreshDatabase((url) =>
      Effect.gen(function*() {
        expect((yield* SqlMigrations.run).map(([id]) => id)).toEqual(allIds)
        expect(yield* SqlMigrations.run).toEqual([])
        expect(yield* tables).toEqual(["api_keys", "audit_events", "compliance_reports", "llmtrace_migrations", "tenant_configs", "tenants"])
      }).pipe(Effect.provide(client(url)))
    ), 60_000)

  it.live("with auto-migrate off, an unmigrated schema is refused with a message that says what to run", () =>
    inFreshDatabase((url) =>
      Effect.gen(function*() {
        const error = yield* Layer.build(SqlMetadataRepository.layer({ autoMigrate: false })).pipe(Effect.scoped, Effect.flip)
        expect(error._tag).toBe("StorageUnavailable")
        expect(error.message).toContain("llmtrace-storage migrate")
        yield* SqlMigrations.run
        const repo = yield* Effect.scoped(Layer.build(SqlMetadataRepository.layer({ autoMigrate: false })))
        yield* MetadataRepository.MetadataRepository.pipe(Effect.provide(repo), Effect.flatMap((r) => r.healthCheck()))
      }).pipe(Effect.provide(client(url)))
    ), 60_000)

  it.live("10 processes migrating one fresh database at once leave one schema and no error", () =>
    inFreshDatabase((url) =>
      Effect.gen(function*() {
        const processes = 10
        const outputs = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: processes }, () => run(tsx, [child, url], { timeout: 120_000 })))
        )
        const ran = outputs.map((o) => (JSON.parse(o.stdout.trim().split("\n").pop()!) as { ran: Array<number> }).ran)
        expect(ran.flat()).toEqual(allIds)
        const sql = yield* SqlClient.SqlClient
        const recorded = yield* sql<{ migration_id: number }>`SELECT migration_id FROM llmtrace_migrations`
        expect(recorded.map((r) => r.migration_id).sort()).toEqual(allIds)
        expect((yield* tables)).toHaveLength(6)
      }).pipe(Effect.provide(client(url)))
    ), 180_000)

  it.live("a statement past its timeout stops on the server and is StorageUnavailable", () =>
    inFreshDatabase((url) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const error = yield* sql`SELECT pg_sleep(5)`.pipe(Effect.mapError(classify("postgres", "test.sleep")), Effect.flip)
        expect(error._tag).toBe("StorageUnavailable")
        expect(yield* sql`SELECT 1 AS one`).toEqual([{ one: 1 }])
      }).pipe(Effect.provide(PostgresClient.layer({ url: Redacted.make(url), statementTimeout: "300 millis" })))
    ), 30_000)

  it.live("a wrong password fails with StorageUnavailable that does not echo it", () =>
    Effect.gen(function*() {
      const u = new URL(databaseUrl("llmtrace"))
      u.username = "llmtrace_no_such_role"
      u.password = "wrong-Pa55word"
      const error = yield* Layer.build(PostgresClient.layer({ url: Redacted.make(u.toString()) })).pipe(Effect.scoped, Effect.flip)
      expect(error._tag).toBe("StorageUnavailable")
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain("wrong-Pa55word")
    }), 30_000)
}))

describe("PostgreSQL client layer", () => {
  it.live("an unreachable server fails with StorageUnavailable naming host and database, never the password", () =>
    Effect.gen(function*() {
      const layer = PostgresClient.layer({ url: Redacted.make("postgres://llmtrace:s3cret-Pa55@127.0.0.1:1/llmtrace_missing"), connectTimeout: "2 seconds" })
      const error = yield* Layer.build(layer).pipe(Effect.scoped, Effect.flip)
      expect(error._tag).toBe("StorageUnavailable")
      expect(error.message).toContain("127.0.0.1:1/llmtrace_missing")
      expect(JSON.stringify(error)).not.toContain("s3cret-Pa55")
      expect(String(error)).not.toContain("s3cret-Pa55")
    }), 30_000)

})
