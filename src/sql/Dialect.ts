import type * as SqlClient from "@effect/sql/SqlClient"
import type { Backend } from "../StorageError.js"
import * as NulEscape from "./NulEscape.js"

/**
 * The few places where PostgreSQL and SQLite differ, so the repository and its migrations exist
 * once: column types, how timestamps, text and JSON travel, and the backend's name in errors.
 * PostgreSQL keeps `timestamptz` and `jsonb`; SQLite keeps epoch milliseconds and JSON text.
 */
export interface Dialect {
  readonly backend: Backend
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
}

const parseJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

export const dialect = (sql: SqlClient.SqlClient): Dialect =>
  sql.onDialectOrElse({
    // PostgreSQL cannot hold NUL in text or jsonb: NulEscape encodes it reversibly (see there).
    pg: (): Dialect => ({
      backend: "postgres",
      types: { timestamp: "timestamptz", json: "jsonb", float: "double precision", bigint: "bigint" },
      timestamp: (date) => date,
      text: NulEscape.escape,
      readText: (value) => NulEscape.unescape(value as string),
      json: (value) => sql`${JSON.stringify(NulEscape.escapeJson(value))}::jsonb`,
      readJson: <A>(value: unknown) => NulEscape.unescapeJson(parseJson(value)) as A
    }),
    orElse: (): Dialect => ({
      backend: "sqlite",
      types: { timestamp: "INTEGER", json: "TEXT", float: "REAL", bigint: "INTEGER" },
      timestamp: (date) => date.getTime(),
      text: (value) => value,
      readText: (value) => value as string,
      json: (value) => JSON.stringify(value),
      readJson: <A>(value: unknown) => parseJson(value) as A
    })
  })

/** A timestamp column as read back by either driver (Date, epoch ms as number or bigint, or text). */
export const readTimestamp = (value: unknown): Date =>
  // node-postgres makes a fresh Date for every row it reads: it is ours to return, no copy needed
  value instanceof Date ? value : new Date(typeof value === "bigint" ? Number(value) : (value as number | string))

export const readOptionalTimestamp = (value: unknown): Date | undefined =>
  value === null || value === undefined ? undefined : readTimestamp(value)

/** A nullable number column (PostgreSQL returns bigint/numeric as text). */
export const readOptionalNumber = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value)
