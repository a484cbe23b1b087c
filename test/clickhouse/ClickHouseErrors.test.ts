import { parseError } from "@clickhouse/client"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { ClickHouseClient } from "../../src/clickhouse/index.js"
import { classify } from "../../src/internal/clickhouse/ClickHouseErrors.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"

// What each failure says about a batch. The errors are built as the client builds them: the
// server's reply text through the client's own `parseError` (a numeric `code` and a `type` when it
// is ClickHouse's), or a Node socket error.

/** The reply text of a ClickHouse server refusing with `code` and `name`. */
const engine = (code: number, name: string, message = "something went wrong") =>
  parseError(`Code: ${code}. DB::Exception: ${message}. (${name}) (version 24.8.4.13 (official build))\n`)

const socket = (code: string, message: string) => Object.assign(new Error(message), { code })

const statement = classify("test.query", "http://127.0.0.1:8123")
const rows = classify("test.insert", "http://127.0.0.1:8123", "rows")
const tags = (errors: ReadonlyArray<unknown>, as = statement) => errors.map((e) => as(e)._tag)
const unavailable = (n: number) => Array.from({ length: n }, () => "StorageUnavailable")

describe("classify", () => {
  it("a missing table or database is unavailable, for a statement and for an insert's rows", () => {
    const missing = [
      engine(60, "UNKNOWN_TABLE", "Table llmtrace.spans does not exist"),
      engine(81, "UNKNOWN_DATABASE", "Database llmtrace does not exist")
    ]
    expect(tags(missing)).toEqual(unavailable(2))
    expect(tags(missing, rows)).toEqual(unavailable(2))
    expect(statement(missing[0]).message).toMatch(/ClickHouse at http:\/\/127\.0\.0\.1:8123 is unavailable: 60 UNKNOWN_TABLE Table llmtrace\.spans/)
  })

  it("a refused login or grant is unavailable: unknown user, wrong or missing password, failed authentication, access denied, address not allowed", () => {
    const refused = [
      engine(192, "UNKNOWN_USER", "There is no user `writer`"),
      engine(193, "WRONG_PASSWORD", "Wrong password for user writer"),
      engine(194, "REQUIRED_PASSWORD", "Password required for user writer"),
      engine(516, "AUTHENTICATION_FAILED", "writer: Authentication failed: password is incorrect, or there is no user with such name"),
      engine(497, "ACCESS_DENIED", "writer: Not enough privileges. To execute this query, it's necessary to have the grant INSERT ON llmtrace.spans"),
      engine(291, "DATABASE_ACCESS_DENIED", "Access denied to database llmtrace"),
      engine(195, "IP_ADDRESS_NOT_ALLOWED", "Connections from 10.0.0.1 are not allowed")
    ]
    expect(tags(refused)).toEqual(unavailable(refused.length))
    expect(tags(refused, rows)).toEqual(unavailable(refused.length))
  })

  it("an engine that cannot take writes now is unavailable: read-only user or table, disk full, too many parts, memory", () => {
    const full = [
      engine(164, "READONLY", "writer: Cannot execute query in readonly mode"),
      engine(242, "TABLE_IS_READ_ONLY", "Table is in readonly mode"),
      engine(243, "NOT_ENOUGH_SPACE", "Cannot reserve 1.00 MiB, not enough space"),
      engine(252, "TOO_MANY_PARTS", "Too many parts (3001) in all partitions in total"),
      engine(241, "MEMORY_LIMIT_EXCEEDED", "Memory limit (total) exceeded"),
      engine(173, "CANNOT_ALLOCATE_MEMORY", "Cannot allocate memory"),
      engine(201, "QUOTA_EXPIRED", "Quota for user writer for 3600s has been exceeded")
    ]
    expect(tags(full, rows)).toEqual(unavailable(full.length))
  })

  it("a failure without ClickHouse's code is unavailable: a proxy's 502/503/504 page, a reset (also mid-body), a timeout, a reply that is not ClickHouse's", () => {
    // The client reports a failed HTTP reply as an error holding the reply's text, without the status.
    const failures = [
      parseError("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\r\n"),
      parseError("<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>"),
      parseError("upstream request timeout"),
      socket("ECONNRESET", "socket hang up"),
      socket("ECONNRESET", "aborted"),
      socket("EPIPE", "write EPIPE"),
      socket("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:8123"),
      new Error("Timeout error."),
      new SyntaxError("Unexpected token '<', \"<html>\" is not valid JSON"),
      socket("Z_DATA_ERROR", "incorrect header check")
    ]
    expect(tags(failures)).toEqual(unavailable(failures.length))
    expect(tags(failures, rows)).toEqual(unavailable(failures.length))
  })

  it("an insert is refused for its rows only on the row allow-list; any other refusal is the whole batch's, while a statement's stays a StorageQueryError", () => {
    const rowRefusals = [
      engine(27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "Cannot parse input: expected '\"' before: 'x': (at row 3)"),
      engine(6, "CANNOT_PARSE_TEXT", "Cannot parse string 'abc' as UInt32"),
      engine(53, "TYPE_MISMATCH", "Type mismatch in column prompt"),
      engine(117, "INCORRECT_DATA", "Cannot read JSON object"),
      engine(469, "VIOLATED_CONSTRAINT", "Constraint `no_poison` for table llmtrace.spans is violated at row 5")
    ]
    expect(tags(rowRefusals, rows)).toEqual(rowRefusals.map(() => "StorageQueryError"))
    const wholeBatch = [
      engine(62, "SYNTAX_ERROR", "Syntax error: failed at position 1"),
      engine(16, "NO_SUCH_COLUMN_IN_TABLE", "No such column prompt_tokens in table llmtrace.spans"),
      engine(36, "BAD_ARGUMENTS", "Data for INSERT was found both inlined and external data (from stdin)"),
      engine(1002, "UNKNOWN_EXCEPTION", "unknown")
    ]
    expect(tags(wholeBatch, rows)).toEqual(unavailable(wholeBatch.length))
    expect(tags(wholeBatch)).toEqual(wholeBatch.map(() => "StorageQueryError"))
    expect(rows(wholeBatch[0]).message).toMatch(/refused the batch as a whole: 62 SYNTAX_ERROR/)
    expect(rows(wholeBatch[2]).message).toContain("standard input")
  })
})

describe("classify over HTTP (the fixture)", () => {
  it.scopedLive("a wrong password, a missing database and a missing table are StorageUnavailable, for a query and an insert", () =>
    Effect.gen(function*() {
      const fixture = yield* ClickHouseHttp.serve({ users: { llmtrace: ClickHouseHttp.password } })
      const open = (password: string, database: string) =>
        ClickHouseClient.make({ url: Redacted.make(fixture.url), database, username: "llmtrace", password: Redacted.make(password), verify: false })
      const wrong = yield* open("not the password", "default")
      const right = yield* open(ClickHouseHttp.password, "no_such_database")
      const failures = [
        yield* Effect.flip(wrong.query("test.query", "SELECT 1")),
        yield* Effect.flip(wrong.insert("test.insert", "default.probe", [{ n: 1 }])),
        yield* Effect.flip(right.query("test.query", "SELECT 1 FROM no_such_database.t")),
        yield* Effect.flip(right.insert("test.insert", "no_such_database.t", [{ n: 1 }])),
        yield* Effect.flip(right.insert("test.insert", "default.no_such_table", [{ n: 1 }]))
      ]
      expect(failures.map((e) => e._tag)).toEqual(unavailable(failures.length))
      expect(failures[0]!.message).toContain("AUTHENTICATION_FAILED")
      expect(failures[4]!.message).toContain("UNKNOWN_TABLE")
    }))
})
