import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { existsSync } from "node:fs"
import { ClickHouseClient } from "./clickhouse/ClickHouseClient.js"
import * as ClickHouseMigrations from "./internal/clickhouse/ClickHouseMigrations.js"
import * as Dialect from "./internal/sql/Dialect.js"
import * as SqlMigrations from "./internal/sql/Migrations.js"
import * as PostgresClient from "./postgres/PostgresClient.js"
import type { StorageError } from "./StorageError.js"

/** The engines that keep a schema. */
export type Backend = "postgres" | "sqlite" | "clickhouse"

/** The schema of one backend as its database records it now. Plain data: print it, compare it, serialise it. */
export interface MigrationStatus {
  readonly backend: Backend
  /** Where: `host:port/database`, the SQLite file, or the ClickHouse address and database. Never a password. */
  readonly target: string
  /** Migrations recorded as applied, oldest first. */
  readonly applied: ReadonlyArray<string>
  /** Migrations this build knows that are not applied, in the order they would run. */
  readonly pending: ReadonlyArray<string>
  /**
   * Settings `run` would change besides migrations: the tables' TTL where it is not the configured
   * retention (`spans: TTL none → 30 days`). Building a layer never changes them.
   */
  readonly changes: ReadonlyArray<string>
}

/** The schema migrations of one backend: its status read from the database at each call, and running them. */
export interface BackendMigrations {
  readonly backend: Backend
  readonly target: string
  /** Fails (never "everything pending") when the database cannot be read: unreachable, refused, unreadable. */
  readonly status: Effect.Effect<MigrationStatus, StorageError>
  /** Applies what is pending, then the changes; returns the names of the migrations it ran and the changes it made. */
  readonly run: Effect.Effect<ReadonlyArray<string>, StorageError>
}

/** How a ClickHouse target is named: its address (without password) and database. */
export const clickhouseTarget = (address: string, database: string) => `${address} (database ${database})`

/** Every migration this build knows for a backend, in the order they run. */
export const known = (backend: Backend): ReadonlyArray<string> =>
  backend === "clickhouse"
    ? [...ClickHouseMigrations.migrations].sort((a, b) => a.version - b.version).map((m) => `${m.version}_${m.name}`)
    : Object.keys(SqlMigrations.migrations).sort()

/** The trace tables' migrations on the ClickHouse client in context. */
export const clickhouse = (options: Omit<ClickHouseMigrations.SchemaOptions, "database">) =>
  Effect.map(ClickHouseClient, (client): BackendMigrations => {
    const schema = { ...options, database: client.database }
    const target = clickhouseTarget(client.address, client.database)
    const backend = "clickhouse"
    return {
      backend,
      target,
      status: Effect.map(
        Effect.all([ClickHouseMigrations.status(client, client.database), ClickHouseMigrations.retentionChanges(client, schema)]),
        ([s, changes]) => ({ backend, target, ...s, changes: changes.map(ClickHouseMigrations.describeRetention) })
      ),
      run: Effect.map(
        Effect.all([ClickHouseMigrations.run(client, schema), ClickHouseMigrations.applyRetention(client, schema)]),
        ([versions, changes]) => [
          ...ClickHouseMigrations.migrations.filter((m) => versions.includes(m.version)).map((m) => `${m.version}_${m.name}`),
          ...changes.map(ClickHouseMigrations.describeRetention)
        ]
      )
    }
  })

const unknownTarget = "(unknown)"

/**
 * Where a SQL client points, from its driver's configuration: `host:port/database` or the file. The
 * driver's Effect client is imported only for a client of its dialect, which has loaded it already:
 * this module loads no driver (test/packaging/EntryDrivers.test.ts).
 */
const sqlTarget = (client: SqlClient.SqlClient): Effect.Effect<string> =>
  client.onDialect({
    pg: () =>
      Effect.flatMap(Effect.promise(() => import("@effect/sql-pg/PgClient")), (PgClient) =>
        Effect.map(Effect.serviceOption(PgClient.PgClient), Option.match({
          onNone: () => unknownTarget,
          onSome: ({ config }) =>
            config.url !== undefined ? PostgresClient.describe(config.url) : `${config.host ?? "localhost"}:${config.port ?? 5432}/${config.database ?? ""}`
        }))),
    sqlite: () =>
      Effect.flatMap(Effect.promise(() => import("@effect/sql-sqlite-node/SqliteClient")), (Sqlite) =>
        Effect.map(Effect.serviceOption(Sqlite.SqliteClient), Option.match({ onNone: () => unknownTarget, onSome: ({ config }) => config.filename }))),
    mysql: () => Effect.succeed(unknownTarget),
    mssql: () => Effect.succeed(unknownTarget),
    clickhouse: () => Effect.succeed(unknownTarget)
  })

/** The metadata tables' migrations on the SQL client in context (PostgreSQL or SQLite; another dialect fails, naming it). */
export const sql = Effect.gen(function*() {
  const client = yield* SqlClient.SqlClient
  const { backend } = yield* Dialect.make(client)
  const target = yield* sqlTarget(client)
  const provide = Effect.provideService(SqlClient.SqlClient, client)
  return {
    backend,
    target,
    status: Effect.map(SqlMigrations.status, (s) => ({ backend, target, ...s, changes: [] })).pipe(provide),
    run: SqlMigrations.runChecked.pipe(
      Effect.map((ran) => ran.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`)),
      provide
    )
  } satisfies BackendMigrations
})

/**
 * The migrations of a store kept at `path` (a file or directory) that may not exist yet, such as a
 * lite data directory before its first use. While it does not exist, the status is "nothing
 * applied, everything pending" and reading it creates nothing; otherwise, and to run, `open` opens
 * the store for the one call.
 */
export const onDemand = (
  store: { readonly backend: Backend; readonly target: string; readonly path: string },
  open: Effect.Effect<BackendMigrations, StorageError, Scope.Scope>
): BackendMigrations => ({
  backend: store.backend,
  target: store.target,
  status: Effect.flatMap(
    Effect.sync(() => existsSync(store.path)),
    (exists) =>
      exists
        ? Effect.scoped(Effect.flatMap(open, (m) => m.status))
        : Effect.succeed({ backend: store.backend, target: store.target, applied: [], pending: known(store.backend), changes: [] })
  ),
  run: Effect.scoped(Effect.flatMap(open, (m) => m.run))
})

/** The migrations of every backend of a profile (none for the memory profile). */
export class StorageMigrations extends Context.Tag("llmtrace-storage/StorageMigrations")<
  StorageMigrations,
  ReadonlyArray<BackendMigrations>
>() {}
