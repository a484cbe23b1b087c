import { expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import { type StorageError, StorageMigrations } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { SqlMetadataRepository } from "../../src/sqlite/index.js"
import * as ClickHouseMigrations from "../../src/internal/clickhouse/ClickHouseMigrations.js"
import * as SqlMigrations from "../../src/internal/sql/Migrations.js"

/** One never-migrated schema on the engine under test, reached through one client. */
export interface FreshSchema {
  readonly migrations: StorageMigrations.BackendMigrations
  /** Builds the engine's repository on the same client with auto-migration off: it refuses an outdated schema. */
  readonly refusingRepository: Effect.Effect<void, StorageError>
  /** Puts a migration record of another shape in place: reading it must fail. */
  readonly breakRecord: Effect.Effect<void, unknown>
}

/** Hands out fresh schemas, each released with the scope it was made in. */
export class MigrationTarget extends Context.Tag("test/MigrationTarget")<
  MigrationTarget,
  { readonly fresh: Effect.Effect<FreshSchema, unknown, Scope.Scope> }
>() {}

/** PostgreSQL or SQLite: `client` gives a fresh database each time it is built (a new file, `:memory:`, a new PostgreSQL database). */
export const sqlTarget = <E>(client: Layer.Layer<SqlClient.SqlClient, E>): Layer.Layer<MigrationTarget> =>
  Layer.succeed(MigrationTarget, {
    fresh: Effect.gen(function*() {
      const context = yield* Layer.build(client)
      const provide = Effect.provide(context)
      return {
        migrations: yield* provide(StorageMigrations.sql),
        refusingRepository: Layer.build(SqlMetadataRepository.layer({ autoMigrate: false })).pipe(Effect.scoped, Effect.asVoid, provide),
        breakRecord: Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE ${sql(SqlMigrations.table)} (unrelated INTEGER)`).pipe(provide)
      }
    })
  })

/** ClickHouse over the client in context (embedded or HTTP): each fresh schema is a new database, dropped afterwards. */
export const clickhouseTarget: Layer.Layer<MigrationTarget, never, ClickHouseClient.ClickHouseClient> = Layer.effect(
  MigrationTarget,
  Effect.map(ClickHouseClient.ClickHouseClient, (ch) => ({
    fresh: Effect.gen(function*() {
      const database = `llmtrace_migrations_${randomBytes(6).toString("hex")}`
      yield* Effect.addFinalizer(() => Effect.ignore(ch.command("test.drop", `DROP DATABASE IF EXISTS ${database}`)))
      const client = { ...ch, database }
      return {
        migrations: yield* StorageMigrations.clickhouse({}).pipe(Effect.provideService(ClickHouseClient.ClickHouseClient, client)),
        refusingRepository: Effect.asVoid(ClickHouseTraceRepository.make({ autoMigrate: false })).pipe(Effect.provideService(ClickHouseClient.ClickHouseClient, client)),
        breakRecord: Effect.zipRight(
          ch.command("test.break", `CREATE DATABASE IF NOT EXISTS ${database}`),
          ch.command("test.break", `CREATE TABLE ${database}.${ClickHouseMigrations.table} (unrelated UInt8) ENGINE = Memory`)
        )
      }
    })
  }))
)

/**
 * What every engine's migration status must do: read the database as it is now, in the same
 * process and on the same client, and fail rather than report a schema it could not read.
 */
export const migrationsContract = <E>(name: string, target: Layer.Layer<MigrationTarget, E>, backend: StorageMigrations.Backend) =>
  layer(target, { timeout: "120 seconds", excludeTestServices: true })(`migrations contract: ${name}`, (it) => {
    const fresh = Effect.flatMap(MigrationTarget, (t) => t.fresh)

    it.scoped("a fresh schema has nothing applied and every migration pending, as plain data naming the backend", () =>
      Effect.gen(function*() {
        const { migrations } = yield* fresh
        const status = yield* migrations.status
        expect(status.backend).toBe(backend)
        expect(migrations.backend).toBe(backend)
        expect(status.target).toBe(migrations.target)
        expect(status.target).not.toBe("")
        expect(status.applied).toEqual([])
        expect(status.pending.length).toBeGreaterThan(0)
        expect(JSON.parse(JSON.stringify(status))).toEqual(status)
      }))

    it.scoped("pending, then run, then pending is empty: on one client", () =>
      Effect.gen(function*() {
        const { migrations } = yield* fresh
        const before = yield* migrations.status
        expect(yield* migrations.run).toEqual(before.pending)
        const after = yield* migrations.status
        expect(after.pending).toEqual([])
        expect(after.applied).toEqual(before.pending)
        expect(yield* migrations.run).toEqual([])
        expect(yield* migrations.status).toEqual(after)
      }))

    it.scoped("refused with auto-migration off, then migrated, then accepted: on one client", () =>
      Effect.gen(function*() {
        const { migrations, refusingRepository } = yield* fresh
        const refused = yield* Effect.flip(refusingRepository)
        expect(refused._tag).toBe("StorageUnavailable")
        expect(refused.message).toContain("llmtrace-storage migrate")
        yield* migrations.run
        yield* refusingRepository
        expect((yield* migrations.status).pending).toEqual([])
      }))

    it.scoped("a migration record that cannot be read is an error naming the backend, never 'everything pending'", () =>
      Effect.gen(function*() {
        const { breakRecord, migrations, refusingRepository } = yield* fresh
        yield* breakRecord
        const error = yield* Effect.flip(migrations.status)
        expect(["StorageQueryError", "StorageUnavailable"]).toContain(error._tag)
        expect(error.backend).toBe(backend)
        const refused = yield* Effect.flip(refusingRepository)
        expect(refused._tag).toBe(error._tag)
        expect(refused.message).not.toContain("pending")
      }))
  })
