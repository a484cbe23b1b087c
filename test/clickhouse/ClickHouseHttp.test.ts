import type * as JsonLines from "../../src/internal/clickhouse/JsonLines.js"
import { createClient } from "@clickhouse/client"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { ClickHouseClient } from "../../src/clickhouse/index.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"

// What the fixture itself promises. The trace contract over HTTP is in ClickHouseServer.test.ts, the
// migrations in ClickHouseMigrations.test.ts (vitest project `clickhouse-http`), the hostile suite in
// test/reliability/ClickHouseHttp.test.ts.

describe("ClickHouse HTTP fixture", () => {
  const withFixture = <A, E>(f: (fixture: ClickHouseHttp.Fixture) => Effect.Effect<A, E>) =>
    Effect.scoped(Effect.flatMap(ClickHouseHttp.serve({ users: { llmtrace: ClickHouseHttp.password } }), f))
  const open = (fixture: ClickHouseHttp.Fixture, password: string) =>
    ClickHouseClient.make({ url: Redacted.make(fixture.url), username: "llmtrace", password: Redacted.make(password), verify: false })

  it.effect("refuses a wrong password with the server's code, and answers the right one over HTTP", () =>
    withFixture((fixture) =>
      Effect.gen(function*() {
        const wrong = yield* open(fixture, "not-it")
        const failure = yield* Effect.flip(wrong.query("test.auth", "SELECT 1 AS ok"))
        expect(failure.message).toMatch(/Authentication failed/)
        const right = yield* open(fixture, ClickHouseHttp.password)
        const before = fixture.requests()
        expect(yield* right.query<{ ok: number }>("test.auth", "SELECT 1 AS ok")).toEqual([{ ok: 1 }])
        expect(fixture.requests()).toBeGreaterThan(before)
      }).pipe(Effect.scoped)))

  it.effect("binds every hostile string as a parameter, parsed as the server parses param_* values", () =>
    withFixture((fixture) =>
      Effect.gen(function*() {
        const ch = yield* open(fixture, ClickHouseHttp.password)
        const values = ["a\tb\nc\\d'e\"f", "\\N", "{x:String}", "'; DROP TABLE t; --", "\u0000\u0001", "😀 \u2028", ""]
        for (const value of values) {
          const rows = yield* ch.query<{ v: string; a: Array<string> }>("test.param", "SELECT {v:String} AS v, {a:Array(String)} AS a", { v: value, a: [value, value] })
          expect(rows).toEqual([{ v: value, a: [value, value] }])
        }
      }).pipe(Effect.scoped)))

  it.effect("inserts JSONCompactEachRow and JSONEachRow bodies through the HTTP transport, and a refused insert is a StorageQueryError with the server's code and name", () =>
    withFixture((fixture) =>
      Effect.gen(function*() {
        const ch = yield* open(fixture, ClickHouseHttp.password)
        const table = "llmtrace_http_insert.probe"
        yield* ch.command("test.create", "CREATE DATABASE IF NOT EXISTS llmtrace_http_insert")
        yield* ch.command("test.create", `CREATE TABLE ${table} (n UInt32, text String) ENGINE = MergeTree ORDER BY n`)
        // Long values (written straight into the body) with and without something to escape.
        const texts = ["plain", "é ü ß", "日本語", "😀", "line\nbreak \u2028", "quote \" back\\slash", "\u0000", "", "é".repeat(5000), `${"x".repeat(5000)}"\n`]
        const format: JsonLines.RowFormat<string> = { columns: ["n", "text"], values: (text, i) => [i, text] }
        yield* ch.insertRows("test.insert", table, texts, format)
        yield* ch.insert("test.insert", table, [{ n: 50, text: "an object row" }])
        const back = yield* ch.query<{ n: number; text: string }>("test.read", `SELECT n, text FROM ${table} ORDER BY n`)
        expect(back).toEqual([...texts.map((text, n) => ({ n, text })), { n: 50, text: "an object row" }])
        const refused = yield* Effect.flip(ch.insert("test.insert", table, [{ n: 100, text: "fine" }, { n: "not a number", text: "bad" }]))
        expect(refused._tag).toBe("StorageQueryError")
        expect(refused.message).toMatch(/^ClickHouse rejected the statement \(code 27 CANNOT_PARSE_[A-Z_]+\): /)
        const left = yield* ch.query<{ c: number | string }>("test.read", `SELECT count() AS c FROM ${table} WHERE n >= 100`)
        expect(left.map((r) => Number(r.c))).toEqual([0])
      }).pipe(Effect.scoped)))

  it.effect("takes the query and parameters from a multipart body, as the client sends parameters too long for a URL", () =>
    withFixture((fixture) =>
      Effect.promise(async () => {
        const client = createClient({ url: fixture.url, username: "llmtrace", password: ClickHouseHttp.password, use_multipart_params: true })
        try {
          const value = "multi\tpart\n'\\ " + "x".repeat(20_000)
          const result = await client.query({ query: "SELECT {v:String} AS v", query_params: { v: value }, format: "JSONEachRow" })
          expect(await result.json()).toEqual([{ v: value }])
          expect(fixture.multipartRequests()).toBe(1)
        } finally {
          await client.close()
        }
      })))

  it.effect("answers /ping, and raw requests with the server's status, exception header and body", () =>
    withFixture((fixture) =>
      Effect.promise(async () => {
        const ping = await fetch(`${fixture.url}/ping`)
        expect([ping.status, await ping.text()]).toEqual([200, "Ok.\n"])
        const auth = { "X-ClickHouse-User": "llmtrace", "X-ClickHouse-Key": ClickHouseHttp.password }
        const ok = await fetch(`${fixture.url}/?query=${encodeURIComponent("SELECT getSetting('max_threads') AS m FORMAT JSONEachRow")}&max_threads=3`, { headers: auth })
        expect([ok.status, await ok.text()]).toEqual([200, "{\"m\":3}\n"])
        const gzipped = await fetch(`${fixture.url}/?enable_http_compression=1&query=${encodeURIComponent("SELECT 1 AS x FORMAT JSONEachRow")}`, { headers: { ...auth, "Accept-Encoding": "gzip" } })
        expect([gzipped.headers.get("Content-Encoding"), await gzipped.text()]).toEqual(["gzip", "{\"x\":1}\n"])
        const missing = await fetch(`${fixture.url}/?query=${encodeURIComponent("SELECT * FROM no_such_table")}`, { headers: auth })
        expect(missing.status).toBe(404)
        expect(missing.headers.get("X-ClickHouse-Exception-Code")).toBe("60")
        expect(await missing.text()).toMatch(/^Code: 60\. DB::Exception: .*no_such_table.*\(UNKNOWN_TABLE\) \(version .+\)\n$/s)
        // Our client qualifies every table and sends no `database`; the server's parameter still works here.
        const inSystem = await fetch(`${fixture.url}/?database=system&query=${encodeURIComponent("SELECT currentDatabase() AS db FORMAT JSONEachRow")}`, { headers: auth })
        expect(await inSystem.text()).toBe("{\"db\":\"system\"}\n")
        const noDatabase = await fetch(`${fixture.url}/?database=no_such_database&query=SELECT%201`, { headers: auth })
        expect([noDatabase.status, noDatabase.headers.get("X-ClickHouse-Exception-Code")]).toEqual([404, "81"])
        const readonly = await fetch(`${fixture.url}/?query=${encodeURIComponent("CREATE TABLE t (x UInt8) ENGINE = Memory")}`, { headers: auth })
        expect(readonly.headers.get("X-ClickHouse-Exception-Code")).toBe("164")
        const anonymous = await fetch(`${fixture.url}/?query=SELECT%201`)
        expect([anonymous.status, anonymous.headers.get("X-ClickHouse-Exception-Code")]).toEqual([403, "516"])
      })))
})
