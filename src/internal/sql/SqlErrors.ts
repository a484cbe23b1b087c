import type { SqlError } from "@effect/sql/SqlError"
import { type Backend, StorageConflict, StorageNotFound, StorageQueryError, StorageUnavailable } from "../../StorageError.js"

interface DriverError {
  readonly code?: unknown
  readonly message?: unknown
}

const driverError = (error: SqlError): DriverError =>
  typeof error.cause === "object" && error.cause !== null ? (error.cause as DriverError) : {}

const codeOf = (error: SqlError): string => String(driverError(error).code ?? "")

/** Unique or primary-key violation: PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY. */
const isUniqueViolation = (code: string) =>
  code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY"

/** Foreign-key violation (the parent row is missing): PostgreSQL 23503, SQLite SQLITE_CONSTRAINT_FOREIGNKEY. */
const isForeignKeyViolation = (code: string) => code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY"

/**
 * Connection-level failures and timeouts: PostgreSQL classes 08 and 57P, a statement cancelled by
 * `statement_timeout` (57014), socket errors, the driver's own timeouts, a busy SQLite file.
 */
const isUnavailable = (code: string) =>
  code.startsWith("08") || code.startsWith("57P") || code === "57014" || code === "ECONNREFUSED" || code === "ECONNRESET" ||
  code === "ETIMEDOUT" || code === "EPIPE" || code === "ENOTFOUND" || code === "SQLITE_BUSY" || code === "SQLITE_CANTOPEN"

/**
 * node-postgres reports a connection lost under a running query (e.g. killed by
 * `pg_terminate_backend` or a server restart), a pool wait past its timeout and its own
 * `query_timeout` without any code, only with these messages.
 */
const lostConnection = /Connection terminated|is not queryable|timeout exceeded when trying to connect|Query read timeout/i

/**
 * Maps a driver failure to the storage error it means, by the driver's error code.
 * `parent` names what a foreign-key violation says is missing (e.g. the tenant).
 */
export const classify = (
  backend: Backend,
  operation: string,
  parent?: { readonly entity: string; readonly id: string }
) => (error: SqlError) => {
  const code = codeOf(error)
  const detail = String(driverError(error).message ?? error.message)
  if (isUniqueViolation(code)) return new StorageConflict({ backend, operation, message: `already exists: ${detail}`, cause: error })
  if (isForeignKeyViolation(code) && parent !== undefined) {
    return new StorageNotFound({ backend, operation, entity: parent.entity, id: parent.id, message: `${parent.entity} ${parent.id} does not exist` })
  }
  if (isUnavailable(code) || (code === "" && lostConnection.test(detail))) return new StorageUnavailable({ backend, operation, message: detail, cause: error })
  return new StorageQueryError({ backend, operation, message: detail, cause: error })
}
