import type * as SqlClient from "@effect/sql/SqlClient"
import type { Backend } from "../StorageError.js"

/**
 * The few places where PostgreSQL and SQLite differ, so the repository and its migrations exist
 * once: column types, how timestamps and JSON travel, and the backend's name in errors.
 * PostgreSQL keeps `timestamptz` and `jsonb`; SQLite keeps epoch milliseconds and JSON text.
 */
export interface Dialect {
  readonly backend: Backend
  readonly types: { readonly timestamp: string; readonly json: string; readonly float: string; readonly bigint: string }
  /** A Date as the driver should bind it. */
  readonly timestamp: (date: Date) => unknown
  /** A JSON value as a bound parameter of the JSON column type. */
  readonly json: (value: unknown) => unknown
}

export const dialect = (sql: SqlClient.SqlClient): Dialect =>
  sql.onDialectOrElse({
    pg: (): Dialect => ({
      backend: "postgres",
      types: { timestamp: "timestamptz", json: "jsonb", float: "double precision", bigint: "bigint" },
      timestamp: (date) => date,
      json: (value) => sql`${JSON.stringify(value)}::jsonb`
    }),
    orElse: (): Dialect => ({
      backend: "sqlite",
      types: { timestamp: "INTEGER", json: "TEXT", float: "REAL", bigint: "INTEGER" },
      timestamp: (date) => date.getTime(),
      json: (value) => JSON.stringify(value)
    })
  })

/** A timestamp column as read back by either driver (Date, epoch ms as number or bigint, or text). */
export const readTimestamp = (value: unknown): Date =>
  value instanceof Date ? new Date(value.getTime()) : new Date(typeof value === "bigint" ? Number(value) : (value as number | string))

export const readOptionalTimestamp = (value: unknown): Date | undefined =>
  value === null || value === undefined ? undefined : readTimestamp(value)

/** A JSON column as read back: parsed already (jsonb) or text. */
export const readJson = <A>(value: unknown): A => (typeof value === "string" ? JSON.parse(value) : value) as A

export const readOptionalJson = <A>(value: unknown): A | undefined =>
  value === null || value === undefined ? undefined : readJson<A>(value)

/** A nullable number column (PostgreSQL returns bigint/numeric as text). */
export const readOptionalNumber = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value)
