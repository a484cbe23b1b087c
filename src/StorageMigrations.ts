import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { ClickHouseClient } from "./clickhouse/ClickHouseClient.js"
import * as ClickHouseMigrations from "./clickhouse/ClickHouseMigrations.js"
import * as SqlMigrations from "./sql/Migrations.js"
import { dialect } from "./sql/Dialect.js"
import type { StorageError } from "./StorageError.js"

/** The schema migrations of one backend: what is pending, and running them. */
export interface BackendMigrations {
  readonly backend: string
  readonly pending: Effect.Effect<ReadonlyArray<string>, StorageError>
  readonly run: Effect.Effect<ReadonlyArray<string>, StorageError>
}

/** The trace tables' migrations on the ClickHouse client in context. */
export const clickhouse = (options: Omit<ClickHouseMigrations.SchemaOptions, "database">) =>
  Effect.map(ClickHouseClient, (client): BackendMigrations => {
    const schema = { ...options, database: client.database }
    const names = (versions: ReadonlyArray<number>) =>
      ClickHouseMigrations.migrations.filter((m) => versions.includes(m.version)).map((m) => `${m.version}_${m.name}`)
    return {
      backend: `clickhouse (${client.address}, database ${client.database})`,
      pending: Effect.map(ClickHouseMigrations.applied(client, client.database), (done) =>
        names(ClickHouseMigrations.migrations.map((m) => m.version).filter((v) => !done.includes(v)))),
      run: Effect.map(ClickHouseMigrations.run(client, schema), names)
    }
  })

/** The metadata tables' migrations on the SQL client in context (PostgreSQL or SQLite). */
export const sql = Effect.map(SqlClient.SqlClient, (client): BackendMigrations => {
  const { backend } = dialect(client)
  const all = Object.keys(SqlMigrations.migrations).sort()
  const applied = client<{ readonly migration_id: number }>`SELECT migration_id FROM ${client(SqlMigrations.table)}`.pipe(
    Effect.map((rows) => rows.map((r) => Number(r.migration_id))),
    Effect.orElseSucceed((): Array<number> => [])
  )
  return {
    backend,
    pending: Effect.map(applied, (done) => all.filter((key) => !done.includes(Number(key.split("_")[0])))),
    run: SqlMigrations.runChecked.pipe(
      Effect.map((ran) => ran.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`)),
      Effect.provideService(SqlClient.SqlClient, client)
    )
  }
})

/** The migrations of every backend of a profile (none for the memory profile). */
export class StorageMigrations extends Context.Tag("llmtrace-storage/StorageMigrations")<
  StorageMigrations,
  ReadonlyArray<BackendMigrations>
>() {}
