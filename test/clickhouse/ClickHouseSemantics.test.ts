import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { newTenantId, newTraceId, TraceQuery, TraceRepository } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import * as ClickHouseTraceQueries from "../../src/internal/clickhouse/TraceQueries.js"
import { at, span } from "../support/fixtures.js"
import * as Redacted from "effect/Redacted"

// Behaviour that depends on how the ClickHouse schema deduplicates, beyond the shared contract.
const repository = ClickHouseTraceRepository.layer().pipe(
  Layer.provideMerge(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_semantics" }))
)

layer(repository, { timeout: "120 seconds", excludeTestServices: true })("ClickHouse deduplication on read", (it) => {
  it.effect("a re-store that changes filtered fields and moves start_time to another month replaces the earlier copy", () =>
    Effect.gen(function*() {
      const repo = yield* TraceRepository.TraceRepository
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const first = span(tenantId, traceId, { startTime: at(0), provider: "Anthropic", securityScore: 90, tags: { env: "prod" } })
      const moved = { ...first, startTime: at(60 * 24 * 40), provider: "OpenAI", securityScore: 10, tags: { env: "dev" } }
      yield* repo.storeSpan(first)
      yield* repo.storeSpan(moved)
      const q = (rest: Partial<Parameters<typeof TraceQuery.make>[0]>) => TraceQuery.make({ tenantId, ...rest })
      for (const stale of [{ provider: "Anthropic" }, { minSecurityScore: 50 }, { tags: { env: "prod" } }]) {
        expect(yield* repo.querySpans(q(stale))).toEqual([])
        expect(yield* repo.queryTraces(q(stale))).toEqual([])
      }
      expect(yield* repo.querySpans(q({ provider: "OpenAI" }))).toEqual([moved])
      expect(yield* repo.querySpans(q({}))).toEqual([moved])
      expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).spans).toEqual([moved])
      expect(Option.getOrThrow(yield* repo.getSpan(tenantId, first.spanId))).toEqual(moved)
      expect(yield* repo.getStats(tenantId)).toMatchObject({ totalTraces: 1, totalSpans: 1 })
    }))

  it.effect("the earliest createdAt given to storeTrace wins over later ones and over span starts", () =>
    Effect.gen(function*() {
      const repo = yield* TraceRepository.TraceRepository
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const s = span(tenantId, traceId, { startTime: at(1) })
      yield* repo.storeSpan(s)
      yield* repo.storeTrace({ tenantId, traceId, createdAt: at(5), spans: [] })
      yield* repo.storeTrace({ tenantId, traceId, createdAt: at(3), spans: [s] })
      yield* repo.storeTrace({ tenantId, traceId, createdAt: at(4), spans: [] })
      expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId))).toEqual({ tenantId, traceId, createdAt: at(3), spans: [s] })
    }))
})

layer(repository, { timeout: "120 seconds", excludeTestServices: true })("ClickHouse bounds", (it) => {
  it.effect("deleteTracesBefore passes the lookup and each round of the purge, not the whole purge, through its bound", () =>
    Effect.gen(function*() {
      const repo = yield* TraceRepository.TraceRepository
      const ch = yield* ClickHouseClient.ClickHouseClient
      const tenantId = newTenantId()
      yield* repo.storeSpans([1, 2, 3, 4, 5].map((m) => span(tenantId, newTraceId(), { startTime: at(m) })))
      let bounded = 0
      const bound = <A, E>(self: Effect.Effect<A, E>) => Effect.suspend(() => (bounded++, self))
      expect(yield* ClickHouseTraceQueries.deleteTracesBefore(ch, tenantId, at(100), bound, 2)).toBe(5)
      // Three rounds of at most 2 traces (2, 2, 1), each its lookup and its delete under the bound.
      expect(bounded).toBe(3 * 2)
      expect(yield* repo.getStats(tenantId)).toEqual({ totalTraces: 0, totalSpans: 0, storageSizeBytes: 0 })
    }))
})

layer(repository, { timeout: "120 seconds", excludeTestServices: true })("ClickHouse inserts (chDB's raw insert of a Buffer)", (it) => {
  it.effect("rows of every kind of text round-trip; a refused insert is a StorageQueryError with the engine's code and name, and stores none of its rows; a missing table is StorageUnavailable", () =>
    Effect.gen(function*() {
      const ch = yield* ClickHouseClient.ClickHouseClient
      const table = "llmtrace_semantics.insert_probe"
      yield* ch.command("test.create", `CREATE TABLE ${table} (n UInt32, text String) ENGINE = MergeTree ORDER BY n`)
      const texts = ["plain", "é ü ß", "日本語", "😀", "line\nbreak \u2028", "quote \" back\\slash", "\u0000", ""]
      const rows = texts.map((text, n) => ({ n, text }))
      yield* ch.insert("test.insert", table, rows)
      expect(yield* ch.query("test.read", `SELECT n, text FROM ${table} ORDER BY n`)).toEqual(rows)

      const refused = yield* Effect.flip(ch.insert("test.insert", table, [{ n: 100, text: "fine" }, { n: "not a number", text: "bad" }]))
      expect(refused._tag).toBe("StorageQueryError")
      expect(refused.message).toMatch(/^ClickHouse rejected the statement \(code 27 CANNOT_PARSE_[A-Z_]+\): /)
      const left = yield* ch.query<{ c: number | string }>("test.read", `SELECT count() AS c FROM ${table} WHERE n >= 100`)
      expect(left.map((r) => Number(r.c))).toEqual([0])

      // A missing table refuses every row alike: the whole batch's failure, retried and never split (see ClickHouseErrors).
      const missing = yield* Effect.flip(ch.insertRows("test.insert", "llmtrace_semantics.no_such_table", [1], { columns: ["n"], values: (n: number) => [n] }))
      expect(missing._tag).toBe("StorageUnavailable")
      expect(missing.message).toMatch(/ 60 UNKNOWN_TABLE /)
    }))
})

describe("chDB call bounds", () => {
  it.scopedLive("a statement and a query that outlast the request bound fail with StorageUnavailable naming it; the engine finishes them before it closes", () =>
    Effect.gen(function*() {
      const ch = yield* ClickHouseClient.make({ url: Redacted.make("chdb::memory:"), database: "llmtrace_bounds", requestTimeout: "1 second" })
      // Inline settings win over the client's own limit: the engine would run for 3 seconds.
      const slow = "SELECT sleepEachRow(0.5) FROM numbers(6) SETTINGS max_execution_time = 60"
      for (const call of [ch.command("test.command", slow), ch.query("test.query", slow)]) {
        const error = yield* Effect.flip(call)
        expect(error._tag).toBe("StorageUnavailable")
        expect(error.message).toContain("did not answer within 1s")
      }
    }), 60_000)
})
