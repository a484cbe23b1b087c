import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { expect, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { newTenantId, newTraceId, type TenantId, TraceRepository, type TraceSpan, TraceWriter } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"
import { deadLines, deadSpans, headers } from "../support/deadLetters.js"
import { allFaults, type FaultProxy, faultProxy } from "../support/FaultProxy.js"
import { span } from "../support/fixtures.js"

// The TraceWriter over the HTTP transport, through a real HTTP proxy on loopback in front of the
// ClickHouse HTTP fixture: the proxy answers 502/503/504 and resets connections (before the
// request, mid-request-body, mid-response-body) for a window of requests, and counts the INSERTs
// that reach it. A failure of the whole batch is retried, never bisected nor filed as refused.

class Path extends Context.Tag("test/ProxyPath")<Path, { readonly fixture: ClickHouseHttp.Fixture; readonly proxy: FaultProxy }>() {}

const network = Layer.scoped(
  Path,
  Effect.gen(function*() {
    const fixture = yield* ClickHouseHttp.serve({ users: { llmtrace: ClickHouseHttp.password } })
    const proxy = yield* faultProxy(fixture.url)
    return { fixture, proxy }
  })
)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-proxy-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The repository and the writer's sink over a client to `url`, on their own database (migrated at build). */
const storage = (url: string, database: string) =>
  Layer.build(
    ClickHouseTraceRepository.layer().pipe(
      Layer.provideMerge(NodeFileSystem.layer),
      Layer.provideMerge(ClickHouseClient.layer({
        url: Redacted.make(url),
        database,
        username: "llmtrace",
        password: Redacted.make(ClickHouseHttp.password),
        requestTimeout: "20 seconds"
      }))
    )
  )

const spansOf = (tenantId: TenantId, n: number, prompt: (i: number) => string = (i) => `prompt ${i}`) => {
  const traceId = newTraceId()
  return Array.from({ length: n }, (_, i) => span(tenantId, traceId, { prompt: prompt(i) }))
}

/** The distinct spans the engine holds for a tenant, read straight from the fixture (not through the proxy). */
const storedSpans = (tenantId: TenantId) => Effect.flatMap(TraceRepository.TraceRepository, (repo) => repo.getStats(tenantId)).pipe(Effect.map((s) => s.totalSpans))

layer(network, { timeout: "180 seconds", excludeTestServices: true })("TraceWriter through a failing HTTP proxy", (it) => {
  it.scoped("502/503/504 and connection resets for a window: retried, nothing dead-lettered, every span stored, one insert per batch and per fault", () =>
    Effect.gen(function*() {
      const { fixture, proxy } = yield* Path
      const dir = yield* tempDir
      const deadLetterPath = path.join(dir, "dead")
      const viaProxy = yield* storage(proxy.url, "llmtrace_proxy_window")
      const direct = yield* storage(fixture.url, "llmtrace_proxy_window")
      const tenantId = newTenantId()
      const spans = spansOf(tenantId, 500)
      const batches = 10

      proxy.resetCounts()
      // Each kind of fault once, then the proxy passes everything through again.
      proxy.failNext(allFaults.length)
      const stats = yield* Effect.gen(function*() {
        // maxRetries exceeds the window: at worst one batch meets every fault.
        const writer = yield* TraceWriter.make({
          batchSize: 50,
          concurrency: 2,
          maxRetries: allFaults.length + 2,
          retryDelay: "10 millis",
          flushInterval: "10 millis",
          deadLetterPath,
          replayOnStart: false
        })
        yield* writer.writeAll(spans)
        yield* writer.flush
        return yield* writer.stats
      }).pipe(Effect.provide(viaProxy))

      const counts = proxy.counts()
      // The faults happened, every one on an insert (nothing else was sent meanwhile).
      expect(counts.faults).toBe(allFaults.length)
      expect(stats).toMatchObject({ accepted: 500, stored: 500, deadLettered: 0, lost: 0, retried: allFaults.length })
      expect(deadLines(deadLetterPath)).toEqual([])
      // No bisection: each batch once, plus one retry per fault (a split batch would send 2n−1 inserts).
      expect(counts.inserts).toBe(batches + allFaults.length)
      expect(yield* storedSpans(tenantId).pipe(Effect.provide(direct))).toBe(500)
    }))

  it.scoped("a window longer than the retries: the batches are dead-lettered as unavailable (never refused), within a bounded number of inserts, and replay stores them all", () =>
    Effect.gen(function*() {
      const { fixture, proxy } = yield* Path
      const dir = yield* tempDir
      const deadLetterPath = path.join(dir, "dead")
      const viaProxy = yield* storage(proxy.url, "llmtrace_proxy_outage")
      const direct = yield* storage(fixture.url, "llmtrace_proxy_outage")
      const tenantId = newTenantId()
      const spans = spansOf(tenantId, 200)
      const batches = 4
      const maxRetries = 2

      proxy.resetCounts()
      proxy.failNext(10_000)
      const stats = yield* Effect.gen(function*() {
        const writer = yield* TraceWriter.make({
          batchSize: 50,
          concurrency: 2,
          maxRetries,
          retryDelay: "5 millis",
          flushInterval: "10 millis",
          deadLetterPath,
          replayOnStart: false
        })
        yield* writer.writeAll(spans)
        yield* writer.flush
        return yield* writer.stats
      }).pipe(Effect.provide(viaProxy))
      const counts = proxy.counts()
      proxy.passThrough()

      expect(stats).toMatchObject({ accepted: 200, stored: 0, deadLettered: 200, lost: 0 })
      expect(counts.inserts).toBe(counts.faults)
      expect(counts.inserts).toBe(batches * (maxRetries + 1))
      // Waiting for replay, none in `failed/` (refused).
      expect(deadLines(deadLetterPath, "failed")).toEqual([])
      expect(deadSpans(deadLetterPath, "pending")).toHaveLength(200)
      const reasons = headers(deadLetterPath, "pending").map((h) => h.reason)
      expect(reasons).toHaveLength(batches)
      for (const reason of reasons) expect(reason).toMatch(/^StorageUnavailable: ClickHouse at .* is unavailable/)

      // After the window, replay stores them all (none moved to `failed/`).
      const replayed = yield* TraceWriter.replayDeadLetters(deadLetterPath).pipe(Effect.provide(viaProxy))
      expect(replayed).toEqual({ replayed: 200, tracesReplayed: 0, rejected: 0, failed: 0 })
      expect(deadLines(deadLetterPath)).toEqual([])
      expect(yield* storedSpans(tenantId).pipe(Effect.provide(direct))).toBe(200)
    }))

  it.scoped("a row-specific refusal (a violated constraint) isolates only the bad rows, within a bounded number of inserts", () =>
    Effect.gen(function*() {
      const { fixture, proxy } = yield* Path
      const dir = yield* tempDir
      const database = "llmtrace_proxy_rows"
      const viaProxy = yield* storage(proxy.url, database)
      const direct = yield* storage(fixture.url, database)
      const ch = yield* ClickHouseClient.ClickHouseClient.pipe(Effect.provide(direct))
      // The engine refuses a block holding a row that breaks the constraint: VIOLATED_CONSTRAINT, a row's fault.
      yield* ch.command("test.constraint", `ALTER TABLE ${database}.spans ADD CONSTRAINT no_poison CHECK prompt != 'poison'`)

      const run = (spans: ReadonlyArray<TraceSpan>, deadLetterPath: string) =>
        Effect.gen(function*() {
          const writer = yield* TraceWriter.make({ batchSize: spans.length, deadLetterPath, replayOnStart: false, flushInterval: "10 millis" })
          yield* writer.writeAll(spans)
          yield* writer.flush
          return yield* writer.stats
        }).pipe(Effect.scoped, Effect.provide(viaProxy))

      // The bound of inserts per batch failure that docs/DESIGN.md states (DeadLetters.maxIsolationCalls).
      const bound = 64
      // Three bad spans among 1,000: exactly those are dead-lettered, the rest stored.
      const tenantId = newTenantId()
      const bad = new Set([17, 500, 998])
      const spans = spansOf(tenantId, 1_000, (i) => (bad.has(i) ? "poison" : `prompt ${i}`))
      const file = path.join(dir, "some")
      proxy.resetCounts()
      const stats = yield* run(spans, file)
      expect(stats).toMatchObject({ accepted: 1_000, stored: 997, deadLettered: 3, lost: 0, retried: 0 })
      expect(proxy.counts().inserts).toBeLessThanOrEqual(bound)
      // In `failed/`, each with the engine's reason; nothing waits for an automatic replay.
      expect(deadLines(file, "pending")).toEqual([])
      const lettered = deadSpans(file, "failed")
      expect(lettered.map((l) => l.span.spanId).sort()).toEqual([...bad].map((i) => spans[i]!.spanId).sort())
      for (const l of lettered) expect(l.reason).toMatch(/^StorageQueryError: ClickHouse rejected the statement \(code 469 VIOLATED_CONSTRAINT\)/)
      expect(yield* storedSpans(tenantId).pipe(Effect.provide(direct))).toBe(997)

      // Every span of a batch refused: still no more than the bound of inserts (not 2n−1 = 399).
      const allBad = spansOf(newTenantId(), 200, () => "poison")
      const everyFile = path.join(dir, "every")
      proxy.resetCounts()
      const refusedAll = yield* run(allBad, everyFile)
      expect(refusedAll).toMatchObject({ accepted: 200, stored: 0, deadLettered: 200, lost: 0 })
      expect(proxy.counts().inserts).toBe(bound)
      expect(deadSpans(everyFile, "failed")).toHaveLength(200)
    }))
})
