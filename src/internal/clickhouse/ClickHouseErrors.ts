import { StorageQueryError, StorageUnavailable } from "../../StorageError.js"

/**
 * ClickHouse error codes that say nothing about the statement or its rows: the engine (or the
 * table, the user, the disk) cannot take anything right now. Timeouts, network trouble, overload,
 * memory, too many parts, lost replicas, a missing table or database, a refused login or grant, a
 * read-only user or table. Whatever was sent is sound: retry it later, never split it.
 */
const wholeBatchCodes = new Set([
  "60", // UNKNOWN_TABLE
  "81", // UNKNOWN_DATABASE
  "159", // TIMEOUT_EXCEEDED
  "164", // READONLY
  "173", // CANNOT_ALLOCATE_MEMORY
  "192", // UNKNOWN_USER
  "193", // WRONG_PASSWORD
  "194", // REQUIRED_PASSWORD
  "195", // IP_ADDRESS_NOT_ALLOWED
  "201", // QUOTA_EXPIRED
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "218", // TABLE_IS_DROPPED
  "225", // NO_ZOOKEEPER
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "243", // NOT_ENOUGH_SPACE
  "252", // TOO_MANY_PARTS
  "254", // NO_ACTIVE_REPLICAS
  "285", // TOO_FEW_LIVE_REPLICAS
  "291", // DATABASE_ACCESS_DENIED
  "319", // UNKNOWN_STATUS_OF_INSERT
  "364", // RECEIVED_ERROR_TOO_MANY_REQUESTS
  "394", // QUERY_WAS_CANCELLED
  "425", // SYSTEM_ERROR
  "439", // CANNOT_SCHEDULE_TASK
  "497", // ACCESS_DENIED
  "516", // AUTHENTICATION_FAILED
  "999" // KEEPER_EXCEPTION
])

/**
 * The allow-list of an insert's refusals that are about some of its rows: a value that does not
 * parse or fit its column, or breaks a constraint. Only these justify splitting a batch to find
 * the rows (the TraceWriter's bisection). Any other failure of an insert is the whole batch's.
 */
const rowCodes = new Set([
  "6", // CANNOT_PARSE_TEXT
  "25", // CANNOT_PARSE_ESCAPE_SEQUENCE
  "26", // CANNOT_PARSE_QUOTED_STRING
  "27", // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  "38", // CANNOT_PARSE_DATE
  "41", // CANNOT_PARSE_DATETIME
  "53", // TYPE_MISMATCH
  "69", // ARGUMENT_OUT_OF_BOUND
  "70", // CANNOT_CONVERT_TYPE
  "72", // CANNOT_PARSE_NUMBER
  "117", // INCORRECT_DATA
  "128", // TOO_LARGE_ARRAY_SIZE
  "130", // CANNOT_READ_ARRAY_FROM_TEXT
  "131", // TOO_LARGE_STRING_SIZE
  "321", // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  "349", // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  "376", // CANNOT_PARSE_UUID
  "407", // DECIMAL_OVERFLOW
  "441", // CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING
  "467", // CANNOT_PARSE_BOOL
  "469", // VIOLATED_CONSTRAINT
  "691" // UNKNOWN_ELEMENT_OF_ENUM
])

const field = (error: unknown, key: string): string | undefined => {
  if (typeof error !== "object" || error === null || !(key in error)) return undefined
  const value = (error as Record<string, unknown>)[key]
  return value === undefined || value === null ? undefined : String(value)
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : String(error)

/**
 * What a call sends: a `statement` (query, DDL), whose refusals are the statement's; or `rows` (an
 * insert's body), whose refusals are the rows' only when their code is on the row allow-list.
 */
export type Target = "statement" | "rows"

/**
 * Classifies whatever the client threw. Errors come from a bundled copy of client-common under chDB,
 * so `instanceof ClickHouseError` fails there: we read `code` and `type` instead.
 *
 * `StorageUnavailable` (retry it, never split it): anything without ClickHouse's numeric code,
 * since only the engine can refuse a statement and it always says its code (socket errors such as
 * `ECONNRESET`, a reset in the middle of a body, an HTTP 502/503/504 from a proxy or load balancer,
 * which the client reports as an error holding the reply's text only, a timeout, a reply that is
 * not ClickHouse's); a code of {@link wholeBatchCodes}; and for `rows`, every code off the row
 * allow-list. Otherwise `StorageQueryError`: the engine refused this statement, or these rows.
 */
export const classify = (operation: string, address: string, target: Target = "statement") =>
(error: unknown): StorageUnavailable | StorageQueryError => {
  const code = field(error, "code")
  const type = field(error, "type")
  const message = messageOf(error)
  const engineCode = code !== undefined && /^\d+$/.test(code) ? code : undefined
  const refused = engineCode !== undefined && !wholeBatchCodes.has(engineCode) && (target === "statement" || rowCodes.has(engineCode))
  if (!refused) {
    const what = engineCode === undefined || wholeBatchCodes.has(engineCode) ? "is unavailable" : "refused the batch as a whole"
    return new StorageUnavailable({
      backend: "clickhouse",
      operation,
      message: `ClickHouse at ${address} ${what}: ${code ?? ""}${type ? ` ${type}` : ""} ${firstLine(message)}${stdinHint(message)}`.replace(/\s+/g, " "),
      cause: error
    })
  }
  return new StorageQueryError({
    backend: "clickhouse",
    operation,
    message: `ClickHouse rejected the statement (code ${engineCode}${type ? ` ${type}` : ""}): ${firstLine(message)}${stdinHint(message)}`,
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
