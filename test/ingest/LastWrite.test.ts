import { describe, expect, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import {
  ClickHouseClient,
  ClickHouseTraceRepository,
  MemoryTraceRepository,
  newTenantId,
  newTraceId,
  type StorageError,
  StorageProfile,
  StorageUnavailable,
  TraceRepository,
  type TraceSpan,
  TraceWriter
} from "../../src/index.js"
import { span } from "../support/fixtures.js"

// "Last write" is the last call to `write`, whatever the retries, the concurrent batches and the
// dead-letter replays do afterwards: the version is stamped at `write` and carried to the engine.

const engines: ReadonlyArray<readonly [string, Layer.Layer<TraceRepository.TraceRepository | TraceWriter.TraceSink, StorageError>]> = [
  ["memory", MemoryTraceRepository.layer()],
  ["chDB", ClickHouseTraceRepository.layer().pipe(Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_lastwrite" })))]
]

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-lastwrite-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The engine's sink, failing as unavailable every call whose batch holds a span with this prompt, `times` times. */
const flaky = (prompt: string, times: number) =>
  Effect.map(TraceWriter.TraceSink, (sink) => {
    let left = times
    return {
      ...sink,
      storeSpans: (spans: ReadonlyArray<TraceSpan>, versions: ReadonlyArray<number>) =>
        Effect.suspend(() =>
          left > 0 && spans.some((s) => s.prompt === prompt)
            ? (left--, Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: "test", message: "503 from the proxy (test)" })))
            : sink.storeSpans(spans, versions)
        )
    }
  })

describe.each(engines)("last write wins through the TraceWriter on %s", (_, engine) => {
  it.live("write(OLD) then write(NEW), OLD's batch retried after NEW's was stored (concurrency 2): NEW is stored", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sink = yield* flaky("OLD", 1)
      const old = span(newTenantId(), newTraceId(), { prompt: "OLD" })
      const repo = yield* TraceRepository.TraceRepository
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* TraceWriter.make({ batchSize: 1, concurrency: 2, retryDelay: "200 millis", deadLetterPath: dir, replayOnStart: false })
        yield* writer.write(old)
        yield* writer.write({ ...old, prompt: "NEW" })
        yield* writer.flush
        expect((yield* writer.stats).retried).toBe(1)
      }).pipe(Effect.provideService(TraceWriter.TraceSink, sink)))
      expect(Option.map(yield* repo.getSpan(old.tenantId, old.spanId), (s) => s.prompt)).toEqual(Option.some("NEW"))
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(engine, NodeFileSystem.layer))), 60_000)

  it.live("OLD dead-lettered (unavailable after its retries), NEW stored, OLD replayed later: NEW stays", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sink = yield* flaky("OLD", 10)
      const old = span(newTenantId(), newTraceId(), { prompt: "OLD" })
      const repo = yield* TraceRepository.TraceRepository
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* TraceWriter.make({ batchSize: 1, concurrency: 2, maxRetries: 1, retryDelay: "1 millis", deadLetterPath: dir, replayOnStart: false })
        yield* writer.write(old)
        yield* writer.write({ ...old, prompt: "NEW" })
        yield* writer.flush
        expect((yield* writer.stats).deadLettered).toBe(1)
      }).pipe(Effect.provideService(TraceWriter.TraceSink, sink)))
      // A new writer starts and replays OLD.
      yield* Effect.scoped(TraceWriter.make({ deadLetterPath: dir }))
      expect(Option.map(yield* repo.getSpan(old.tenantId, old.spanId), (s) => s.prompt)).toEqual(Option.some("NEW"))
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(engine, NodeFileSystem.layer))), 60_000)
})

describe("the memory profile's dead letters", () => {
  it.live("never touch a file: a lite dead-letter file in the working directory is left as it is", () => {
    const dir = path.resolve(".llmtrace")
    const file = path.join(dir, "dead-letters.jsonl")
    const created = !existsSync(dir)
    if (created) mkdirSync(dir)
    const line = JSON.stringify(span(newTenantId(), newTraceId())) + "\n"
    const before = existsSync(file) ? readFileSync(file, "utf8") : undefined
    if (before === undefined) writeFileSync(file, line)
    return Effect.gen(function*() {
      const writer = yield* TraceWriter.TraceWriter
      yield* writer.write(span(newTenantId(), newTraceId()))
      yield* writer.flush
      expect(readFileSync(file, "utf8")).toBe(before ?? line)
      expect(existsSync(path.resolve("dead-letters"))).toBe(false)
      expect(StorageProfile.deadLetterPath({ profile: "memory" })).toBeUndefined()
    }).pipe(
      Effect.scoped,
      Effect.provide(StorageProfile.memory),
      Effect.ensuring(Effect.sync(() => {
        if (before === undefined) rmSync(created ? dir : file, { recursive: true, force: true })
      }))
    )
  })

  it("the lite profile's is absolute, under its data directory", () => {
    expect(StorageProfile.deadLetterPath({ profile: "lite", dataDir: "rel/data" })).toBe(path.resolve("rel/data", "dead-letters"))
  })
})
