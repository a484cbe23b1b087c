import { StorageQueryError, StorageUnavailable } from "../StorageError.js"

/**
 * ClickHouse error codes that mean "the engine is not able to answer right now" rather than "it
 * rejected the statement": timeouts, network trouble, overload, lost replicas, failed login.
 * The TraceWriter retries these; the rest are the statement's fault and are not retried.
 */
const unavailableCodes = new Set([
  "159", // TIMEOUT_EXCEEDED
  "164", // READONLY
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "252", // TOO_MANY_PARTS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "425", // SYSTEM_ERROR
  "516", // AUTHENTICATION_FAILED
  "999" // KEEPER_EXCEPTION
])

const field = (error: unknown, key: string): string | undefined => {
  if (typeof error !== "object" || error === null || !(key in error)) return undefined
  const value = (error as Record<string, unknown>)[key]
  return value === undefined || value === null ? undefined : String(value)
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : String(error)

/**
 * Classifies whatever the client threw. Errors come from a bundled copy of client-common under chDB,
 * so `instanceof ClickHouseError` fails there: we read `code` and `type` instead.
 * Node socket errors carry string codes (`ECONNREFUSED`); ClickHouse errors numeric ones.
 */
export const classify = (operation: string, address: string) => (error: unknown): StorageUnavailable | StorageQueryError => {
  const code = field(error, "code")
  const type = field(error, "type")
  const message = messageOf(error)
  const socket = code !== undefined && /^E[A-Z_]+$/.test(code)
  const timedOut = /timeout|timed out/i.test(message) && type === undefined
  if (socket || timedOut || (code !== undefined && unavailableCodes.has(code))) {
    return new StorageUnavailable({
      backend: "clickhouse",
      operation,
      message: `ClickHouse at ${address} is unavailable: ${code ?? ""}${type ? ` ${type}` : ""} ${firstLine(message)}`.replace(/\s+/g, " "),
      cause: error
    })
  }
  return new StorageQueryError({
    backend: "clickhouse",
    operation,
    message: `ClickHouse rejected the statement${code ? ` (code ${code}${type ? ` ${type}` : ""})` : ""}: ${firstLine(message)}${
      stdinHint(message)
    }`,
    cause: error
  })
}

/**
 * The embedded engine reads the host process's standard input as external data of every INSERT
 * (chdb-io/chdb-core#239): with data waiting on stdin, each insert is refused with this message
 * (turning `async_insert` off instead would insert that data silently). Say what to do about it.
 */
const stdinHint = (message: string): string =>
  /both inlined and external data \(from stdin/.test(message)
    ? " (the embedded engine reads this process's standard input as insert data: run it with stdin from /dev/null or a terminal)"
    : ""

const firstLine = (message: string): string => {
  const line = message.split("\n")[0] ?? ""
  return line.length > 500 ? `${line.slice(0, 500)}…` : line
}
