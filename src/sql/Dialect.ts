import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StorageUnavailable } from "../StorageError.js"
import * as NulEscape from "./NulEscape.js"
import * as PgPrepared from "./PgPrepared.js"
import * as PostgresClient from "./PostgresClient.js"

/**
 * The few places where PostgreSQL and SQLite differ, so the repository and its migrations exist
 * once: column types, how timestamps, text and JSON travel, and the backend's name in errors.
 * PostgreSQL keeps `timestamptz` and `jsonb`; SQLite keeps epoch milliseconds and JSON text.
 */
export interface Dialect {
  readonly backend: "postgres" | "sqlite"
  readonly types: { readonly timestamp: string; readonly json: string; readonly float: string; readonly bigint: string }
  /** A Date as the driver should bind it. */
  readonly timestamp: (date: Date) => unknown
  /** A string as the driver should bind it. */
  readonly text: (value: string) => string
  /** A text column as read back. */
  readonly readText: (value: unknown) => string
  /** A JSON value as a bound parameter of the JSON column type. */
  readonly json: (value: unknown) => unknown
  /** A JSON column as read back. */
  readonly readJson: <A>(value: unknown) => A
  /**
   * Runs a statement built with the client's `sql`. A PostgreSQL client whose pool is in context
   * (`PostgresClient.PgPool`, provided by `PostgresClient.layer`) runs it there (`PgPrepared`:
   * prepared by name unless behind a transaction-mode pooler, cancelled on the server when
   * interrupted); any other client runs it itself (the SQLite driver keeps its own prepared-statement cache).
   */
  readonly execute: PgPrepared.Run
  /** Appended to a `SELECT` inside a transaction to lock the rows it reads until commit (SQLite locks the whole file on write). */
  readonly lockRows: Statement.Fragment
  /** Whether a table exists, asked of the catalogue (a query that cannot fail for a missing table). */
  readonly tableExists: (name: string) => Effect.Effect<boolean, SqlError>
}

const parseJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

/** Runs a statement through its own client (@effect/sql-pg, the SQLite driver). */
const throughClient: PgPrepared.Run = (statement) => statement

const postgres = (sql: SqlClient.SqlClient, execute: PgPrepared.Run): Dialect => ({
  backend: "postgres",
  types: { timestamp: "timestamptz", json: "jsonb", float: "double precision", bigint: "bigint" },
  timestamp: (date) => date,
  // PostgreSQL cannot hold NUL in text or jsonb: NulEscape encodes it reversibly (see there).
  text: NulEscape.escape,
  readText: (value) => NulEscape.unescape(value as string),
  json: (value) => sql`${JSON.stringify(NulEscape.escapeJson(value))}::jsonb`,
  readJson: <A>(value: unknown) => NulEscape.unescapeJson(parseJson(value)) as A,
  execute,
  lockRows: sql.literal("FOR UPDATE"),
  // Resolved through the search path, like the unqualified names of every statement.
  tableExists: (name) =>
    Effect.map(sql<{ readonly present: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS present`, (rows) => rows[0]?.present === true)
})

const sqlite = (sql: SqlClient.SqlClient): Dialect => ({
  backend: "sqlite",
  types: { timestamp: "INTEGER", json: "TEXT", float: "REAL", bigint: "INTEGER" },
  timestamp: (date) => date.getTime(),
  text: (value) => value,
  readText: (value) => value as string,
  json: (value) => JSON.stringify(value),
  readJson: <A>(value: unknown) => parseJson(value) as A,
  execute: throughClient,
  lockRows: sql.literal(""),
  tableExists: (name) =>
    Effect.map(sql<{ readonly n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ${name}`, (rows) => Number(rows[0]?.n ?? 0) > 0)
})

/**
 * The dialect of a client; a client of any other dialect (MySQL, SQL Server, ClickHouse through
 * `@effect/sql`) is refused here, when the repository or its migrations are built, naming it:
 * the SQL and column types of this package are written for PostgreSQL and SQLite only.
 */
export const make = (sql: SqlClient.SqlClient): Effect.Effect<Dialect, StorageUnavailable> =>
  sql.onDialect({
    pg: () =>
      Effect.map(Effect.serviceOption(PostgresClient.PgPool), (pgPool) =>
        // Only the pool behind this very client: another client's pool in context would run these statements elsewhere.
        postgres(sql, Option.isSome(pgPool) && pgPool.value.client === sql ? pgPool.value.run : throughClient)),
    sqlite: () => Effect.succeed(sqlite(sql)),
    mysql: () => unsupported("mysql"),
    mssql: () => unsupported("mssql"),
    clickhouse: () => unsupported("clickhouse")
  })

const unsupported = (name: string) =>
  Effect.fail(
    new StorageUnavailable({
      backend: "storage",
      operation: "SqlMetadataRepository.make",
      message: `the SQL client's dialect ${name} is not supported: the metadata repository runs on PostgreSQL or SQLite`
    })
  )

/** A timestamp column as read back by either driver (Date, epoch ms as number or bigint, or text). */
export const readTimestamp = (value: unknown): Date =>
  // node-postgres makes a fresh Date for every row it reads: it is ours to return, no copy needed
  value instanceof Date ? value : new Date(typeof value === "bigint" ? Number(value) : (value as number | string))

export const readOptionalTimestamp = (value: unknown): Date | undefined =>
  value === null || value === undefined ? undefined : readTimestamp(value)

/** A nullable number column (PostgreSQL returns bigint/numeric as text). */
export const readOptionalNumber = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value)
