import { closedPort } from "../support/ports.js"
import { expect, layer } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { deadLines, deadSpans } from "../support/deadLetters.js"
import * as SpanVersion from "../../src/domain/SpanVersion.js"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { newTenantId, newTraceId, type TenantId, TraceRepository, TraceWriter } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { at, span } from "../support/fixtures.js"
import * as Redacted from "effect/Redacted"

// The embedded engine in a temporary directory (one per process), for the whole file.
const chdb = ClickHouseTraceRepository.layer().pipe(
  Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_writer" })),
  Layer.provideMerge(NodeFileSystem.layer)
)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-writer-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)


const spansOf = (tenantId: TenantId, n: number, traces: number) => {
  const traceIds = Array.from({ length: traces }, () => newTraceId())
  return Array.from({ length: n }, (_, i) => span(tenantId, traceIds[i % traces]!, { startTime: at(i % 1000), prompt: `prompt ${i}` }))
}

const totalSpans = (tenantId: TenantId) =>
  Effect.flatMap(TraceRepository.TraceRepository, (repo) => repo.getStats(tenantId)).pipe(Effect.map((s) => [s.totalTraces, s.totalSpans]))

layer(chdb, { timeout: "120 seconds", excludeTestServices: true })("TraceWriter on the embedded engine", (it) => {
  it.effect("stores all of 100k spans when its scope is closed while batches are still buffered", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const tenantId = newTenantId()
      const spans = spansOf(tenantId, 100_000, 10_000)
      const storedWhenClosing = yield* Effect.scoped(
        Effect.gen(function*() {
          const writer = yield* TraceWriter.make({
            batchSize: 5_000,
            capacity: 20_000,
            flushInterval: "50 millis",
            flushTimeout: "5 minutes",
            deadLetterPath: path.join(dir, "dead")
          })
          yield* writer.writeAll(spans)
          return (yield* totalSpans(tenantId))[1]!
        })
      )
      // The scope closed mid-stream (not everything was stored yet); closing flushed the rest.
      expect(storedWhenClosing).toBeLessThan(100_000)
      expect(yield* totalSpans(tenantId)).toEqual([10_000, 100_000])
      expect(deadLines(path.join(dir, "dead"))).toEqual([])
    }).pipe(Effect.scoped), 180_000)

  it.effect("dead-letters batches while the engine is unreachable, then replays them exactly once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead")
      const port = yield* closedPort
      const unreachable = ClickHouseTraceRepository.layer({ skipSchemaCheck: true }).pipe(
        Layer.provide(ClickHouseClient.layer({ url: Redacted.make(`http://127.0.0.1:${port}`), verify: false, requestTimeout: "2 seconds" }))
      )
      const tenantId = newTenantId()
      const spans = spansOf(tenantId, 2_500, 100)
      yield* Effect.scoped(
        Effect.gen(function*() {
          const writer = yield* TraceWriter.make({ batchSize: 1_000, maxRetries: 2, retryDelay: "10 millis", deadLetterPath: file })
          yield* writer.writeAll(spans)
        })
      ).pipe(Effect.provide(unreachable))
      // Each dead-lettered batch: a header line with the reason, then one span a line.
      expect(deadSpans(file, "pending")).toHaveLength(2_500)

      // The engine is back: the exported replay stores every span once and removes the file.
      const result = yield* TraceWriter.replayDeadLetters(file)
      expect(result).toEqual({ replayed: 2_500, tracesReplayed: 0, rejected: 0, failed: 0 })
      expect(deadLines(file)).toEqual([])
      expect(yield* totalSpans(tenantId)).toEqual([100, 2_500])
      const repo = yield* TraceRepository.TraceRepository
      const stored = yield* repo.querySpans({ tenantId, tags: {}, limit: 10_000, offset: 0 })
      expect(new Set(stored.map((s) => s.spanId)).size).toBe(2_500)
      expect(stored).toHaveLength(2_500)
    }).pipe(Effect.scoped), 120_000)

  it.effect("replays a dead-letter file when it starts", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead")
      const tenantId = newTenantId()
      const spans = spansOf(tenantId, 300, 30)
      const DeadLetters = yield* Effect.promise(() => import("../../src/internal/ingest/DeadLetters.js"))
      const versions = SpanVersion.nextRange(spans.length)
      yield* DeadLetters.append(file, { spans, versions }, "engine down")
      // a batch dead-lettered twice is still stored once
      yield* DeadLetters.append(file, { spans: spans.slice(0, 10), versions: versions.slice(0, 10) }, "engine down")
      yield* Effect.scoped(TraceWriter.make({ deadLetterPath: file }))
      expect(deadLines(file)).toEqual([])
      expect(yield* totalSpans(tenantId)).toEqual([30, 300])
    }).pipe(Effect.scoped), 60_000)

  it.effect("a row that cannot be converted (unvalidated input) is dead-lettered alone; its batch's other spans are stored", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead")
      const tenantId = newTenantId()
      const spans = spansOf(tenantId, 2_000, 20)
      // validate: false lets an invalid date through; converting it to a row throws (a defect in the sink).
      const broken = { ...spans[1_234]!, startTime: new Date(Number.NaN) }
      const list = spans.map((s, i) => (i === 1_234 ? broken : s))
      const stats = yield* Effect.scoped(
        Effect.gen(function*() {
          const writer = yield* TraceWriter.make({ batchSize: 2_000, validate: false, deadLetterPath: file, replayOnStart: false })
          yield* writer.writeAll(list)
          yield* writer.flush
          return yield* writer.stats
        })
      )
      expect(stats).toMatchObject({ accepted: 2_000, stored: 1_999, deadLettered: 1, lost: 0, buffered: 0 })
      expect(yield* totalSpans(tenantId)).toEqual([20, 1_999])
      const refused = deadSpans(file, "failed")
      expect(refused).toHaveLength(1)
      expect(refused[0]!.reason).toContain("Invalid time value")
      expect(refused[0]!.span.spanId).toBe(broken.spanId)
    }).pipe(Effect.scoped), 120_000)

  it.effect("rejects an invalid span at write time, before it is buffered", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const writer = yield* TraceWriter.make({ deadLetterPath: path.join(dir, "dead") })
      const error = yield* Effect.flip(writer.write({ ...span(newTenantId(), newTraceId()), securityScore: 101 }))
      expect(error._tag === "InvalidInput" && error.path).toEqual(["securityScore"])
    }).pipe(Effect.scoped))
})
