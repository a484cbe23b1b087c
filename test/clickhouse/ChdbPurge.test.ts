import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { TraceRepository } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { purgeCases } from "../support/purge.js"

// deleteTracesBefore in bounded chunks on the embedded engine: every query that reads trace ids is
// watched, and none may return more than one chunk.
const idReads: Array<number> = []
const watched = Layer.effect(
  ClickHouseClient.ClickHouseClient,
  Effect.map(ClickHouseClient.ClickHouseClient, (ch) => ({
    ...ch,
    query: <A>(operation: string, sql: string, params?: Parameters<typeof ch.query>[2]) =>
      Effect.tap(ch.query<A>(operation, sql, params), (rows) =>
        Effect.sync(() => {
          if (operation === "TraceRepository.deleteTracesBefore" && /^SELECT trace_id\b/.test(sql.trim())) idReads.push(rows.length)
        }))
  }))
).pipe(Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_purge" })))

const chunk = 10

layer(ClickHouseTraceRepository.layer({ deleteChunk: chunk }).pipe(Layer.provideMerge(watched)), { timeout: "120 seconds" })(
  "deleteTracesBefore on chDB, in chunks",
  (it) => {
    it.effect("a purge of 25 traces with a chunk of 10 deletes them all, reading at most 10 trace ids a query; later traces stay", () =>
      Effect.gen(function*() {
        idReads.length = 0
        const repo = yield* TraceRepository.TraceRepository
        const { before, kept, old, tenantId } = yield* purgeCases(repo, 25, 3)
        expect(yield* repo.deleteTracesBefore(tenantId, before)).toBe(old.length)
        // Three rounds of ids (10, 10, 5): the tenant's whole list is never read at once.
        expect(idReads).toEqual([10, 10, 5])
        const left = yield* repo.getStats(tenantId)
        expect(left.totalTraces).toBe(kept.length)
        expect(yield* repo.deleteTracesBefore(tenantId, before)).toBe(0)
      }))

    it.effect("exactly one chunk of traces: a second round finds none and the purge ends", () =>
      Effect.gen(function*() {
        idReads.length = 0
        const repo = yield* TraceRepository.TraceRepository
        const { before, tenantId } = yield* purgeCases(repo, chunk, 0)
        expect(yield* repo.deleteTracesBefore(tenantId, before)).toBe(chunk)
        expect(idReads).toEqual([10, 0])
        expect((yield* repo.getStats(tenantId)).totalTraces).toBe(0)
      }))

    it.effect("refuses a chunk that is not a whole number >= 1", () =>
      Effect.gen(function*() {
        for (const deleteChunk of [0, -1, 2.5]) {
          const error = yield* Effect.flip(ClickHouseTraceRepository.make({ deleteChunk }))
          expect(error).toMatchObject({ _tag: "InvalidInput", path: ["deleteChunk"] })
        }
      }))
  }
)
