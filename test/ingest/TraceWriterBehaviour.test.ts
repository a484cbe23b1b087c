import { describe, expect, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { isTraceSpan, newTenantId, newTraceId, StorageConfig, type TraceEvent, StorageQueryError, StorageUnavailable, type TraceSpan, TraceWriter } from "../../src/index.js"
import { deadRecords, deadSpans, headers } from "../support/deadLetters.js"
import { span } from "../support/fixtures.js"

// The writer's behaviour against sinks that misbehave on purpose: each test's sink is the fault.

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-writer-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const spans = (n: number, prompt = (i: number) => `prompt ${i}`) => {
  const tenantId = newTenantId()
  const traceId = newTraceId()
  return Array.from({ length: n }, (_, i) => span(tenantId, traceId, { prompt: prompt(i) }))
}

/** A sink that records what it stored; `behave` may fail, die or block a call first. */
const recordingSink = (behave: (batch: ReadonlyArray<TraceSpan>, call: number) => Effect.Effect<void, StorageUnavailable | StorageQueryError> = () => Effect.void) => {
  const stored: Array<TraceSpan> = []
  let calls = 0
  const sink = {
    storeSpans: (batch: ReadonlyArray<TraceSpan>) =>
      Effect.flatMap(Effect.suspend(() => behave(batch, calls++)), () => Effect.sync(() => void stored.push(...batch)))
  }
  return { stored, sink, calls: () => calls }
}

/** Log lines of the test, captured. */
const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => void lines.push(`${logLevel.label} ${String(Array.isArray(message) ? message.join(" ") : message)}`)))
  return { lines, logger }
}


const writerWith = (
  sink: {
    storeSpans: (b: ReadonlyArray<TraceSpan>) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
    storeTraces?: (r: ReadonlyArray<TraceEvent>) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
  },
  options: TraceWriter.Options
) =>
  TraceWriter.make({ replayOnStart: false, retryDelay: "1 millis", ...options }).pipe(
    Effect.provideService(TraceWriter.TraceSink, { storeTraces: () => Effect.void, ...sink }),
    Effect.provide(NodeFileSystem.layer)
  )

describe("TraceWriter", () => {
  it.live("trace records go to storeTraces in batches; one the engine refuses is isolated, the others stored, and it goes to failed/ with its reason, not lost", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const dir = yield* tempDir
      const { sink } = recordingSink()
      const calls: Array<number> = []
      const kept: Array<TraceEvent> = []
      const poison = newTraceId()
      const traceSink = {
        ...sink,
        storeTraces: (records: ReadonlyArray<TraceEvent>) =>
          Effect.suspend(() => {
            calls.push(records.length)
            if (records.some((r) => r.traceId === poison)) {
              return Effect.fail(new StorageQueryError({ backend: "clickhouse", operation: "test", message: "refused" }))
            }
            kept.push(...records)
            return Effect.void
          })
      }
      const dead = path.join(dir, "d")
      const writer = yield* writerWith(traceSink, { deadLetterPath: dead, batchSize: 10 })
      const tenantId = newTenantId()
      const ids = [newTraceId(), poison, newTraceId()]
      for (const traceId of ids) yield* writer.writeTrace({ tenantId, traceId, createdAt: new Date(Date.UTC(2026, 0, 2)), spans: [span(tenantId, traceId)] })
      yield* writer.flush
      // One batch of 3 records, refused; then each alone.
      expect(calls).toEqual([3, 1, 1, 1])
      expect(kept.map((r) => r.traceId)).toEqual([ids[0], ids[2]])
      expect(yield* writer.stats).toMatchObject({ accepted: 3, stored: 3, tracesAccepted: 3, tracesStored: 2, tracesDeadLettered: 1, tracesLost: 0 })
      expect(deadRecords(dead, "failed")).toEqual([{ reason: expect.stringContaining("refused"), trace: expect.objectContaining({ traceId: poison }) }])
      expect(logs.lines.find((l) => l.startsWith("FATAL"))).toBeUndefined()
    }).pipe(Effect.provide(logs.logger), Effect.scoped)
  })

  it.live("writeAll with an invalid span fails with InvalidInput whose path starts with its index, accepting none", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { sink, stored } = recordingSink()
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), batchSize: 2 })
      const list = spans(5)
      const bad = [...list.slice(0, 3), { ...list[3]!, securityScore: 101 }, list[4]!]
      const error = yield* Effect.flip(writer.writeAll(bad))
      expect(error._tag).toBe("InvalidInput")
      expect(error._tag === "InvalidInput" && error.path).toEqual([3, "securityScore"])
      expect(error.message).toContain("securityScore")
      yield* writer.flush
      expect(stored).toEqual([])
      expect((yield* writer.stats).accepted).toBe(0)
    }).pipe(Effect.scoped))

  it.live("a span the fast guard refuses but the schema accepts is still written (the schema decides)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { sink, stored } = recordingSink()
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl") })
      // An unknown key holding an object: the guard leaves it to the schema, which ignores unknown keys.
      const odd = { ...spans(1)[0]!, extra: { note: "kept out of the guard's fast path" } } as TraceSpan
      expect(isTraceSpan(odd)).toBe(false)
      yield* writer.write(odd)
      yield* writer.writeAll([odd])
      yield* writer.flush
      expect(stored).toHaveLength(2)
    }).pipe(Effect.scoped))

  it.live("a sink that throws: the batch is dead-lettered with a logged reason and the writer keeps running", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "d.jsonl")
      const { lines, logger } = captureLogs()
      const { sink, stored } = recordingSink((batch) => {
        if (batch.some((s) => s.prompt === "boom")) throw new Error("sink exploded")
        return Effect.void
      })
      yield* Effect.gen(function*() {
        const writer = yield* writerWith(sink, { deadLetterPath: file, batchSize: 10, flushInterval: "1 hour" })
        const first = spans(10, () => "boom")
        yield* writer.writeAll(first)
        yield* writer.flush
        const later = spans(25)
        yield* writer.writeAll(later)
        yield* writer.flush // would wait forever on a dead consumer (the flushTimeout turns that into a failure)
        expect(stored).toEqual(later)
        expect(deadSpans(file)).toHaveLength(10)
        expect(headers(file).map((h) => h.reason).join()).toContain("sink exploded")
        expect(lines.filter((l) => l.includes("moved to") && l.includes("sink exploded"))).toHaveLength(1)
        expect(yield* writer.stats).toEqual({ accepted: 35, stored: 25, retried: 0, deadLettered: 10, lost: 0, buffered: 0, bufferedBytes: 0, tracesAccepted: 0, tracesStored: 0, tracesDeadLettered: 0, tracesLost: 0 })
      }).pipe(Effect.provide(logger), Effect.scoped)
    }).pipe(Effect.scoped))

  it.live("a rejected batch is split until the one bad span is alone: only it is dead-lettered", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "d.jsonl")
      const { lines, logger } = captureLogs()
      const { sink, stored } = recordingSink((batch) =>
        batch.some((s) => s.prompt === "bad row")
          ? Effect.fail(new StorageQueryError({ backend: "clickhouse", operation: "test", message: "Cannot parse input" }))
          : Effect.void
      )
      const list = spans(5_000, (i) => (i === 3_217 ? "bad row" : `prompt ${i}`))
      yield* Effect.gen(function*() {
        const writer = yield* writerWith(sink, { deadLetterPath: file, batchSize: 5_000 })
        yield* writer.writeAll(list)
        yield* writer.flush
        expect(stored).toHaveLength(4_999)
        expect(new Set(stored.map((s) => s.spanId)).has(list[3_217]!.spanId)).toBe(false)
        expect(deadSpans(file).map((l) => l.span.spanId)).toEqual([list[3_217]!.spanId])
        expect(headers(file)[0]!.reason).toContain("Cannot parse input")
        expect(lines.filter((l) => l.includes("refused spans and trace records moved to"))).toHaveLength(1)
        expect((yield* writer.stats)).toMatchObject({ stored: 4_999, deadLettered: 1, buffered: 0 })
      }).pipe(Effect.provide(logger), Effect.scoped)
    }).pipe(Effect.scoped))

  it.live("retries a batch while the sink is unavailable, counting the retries", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { sink, stored } = recordingSink((_, call) =>
        call < 2 ? Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: "test", message: "down" })) : Effect.void
      )
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), batchSize: 100, maxRetries: 3 })
      yield* writer.writeAll(spans(100))
      yield* writer.flush
      expect(stored).toHaveLength(100)
      expect(yield* writer.stats).toEqual({ accepted: 100, stored: 100, retried: 2, deadLettered: 0, lost: 0, buffered: 0, bufferedBytes: 0, tracesAccepted: 0, tracesStored: 0, tracesDeadLettered: 0, tracesLost: 0 })
    }).pipe(Effect.scoped))

  it.live("flush sends a partial batch at once, not after the flush interval", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { sink, stored } = recordingSink()
      // An interval of an hour: without the immediate send, flush would fail with FlushTimeout.
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), flushInterval: "1 hour", flushTimeout: "20 seconds" })
      const one = spans(1)
      yield* writer.write(one[0]!)
      yield* writer.flush
      expect(stored).toEqual(one)
    }).pipe(Effect.scoped))

  it.live("flush fails with FlushTimeout and the unsettled count when the sink never answers", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { sink } = recordingSink(() => Effect.never)
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), batchSize: 2, flushTimeout: "200 millis" })
      yield* writer.writeAll(spans(3))
      const error = yield* Effect.flip(writer.flush)
      expect(error).toMatchObject({ _tag: "FlushTimeout", unsettled: 3 })
    }).pipe(Effect.scoped))

  it.live("closing with a sink that never answers returns after flushTimeout, logs, and dead-letters what is left", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "d.jsonl")
      const { lines, logger } = captureLogs()
      const { sink } = recordingSink(() => Effect.never)
      const list = spans(7)
      yield* Effect.gen(function*() {
        const writer = yield* writerWith(sink, { deadLetterPath: file, batchSize: 5, flushTimeout: "200 millis" })
        yield* writer.writeAll(list)
      }).pipe(Effect.scoped, Effect.provide(logger))
      expect(lines.some((l) => l.includes("7 spans still unsettled"))).toBe(true)
      expect(deadSpans(file).map((l) => l.span.spanId).sort()).toEqual(list.map((s) => s.spanId).sort())
    }).pipe(Effect.scoped))

  it.live("a trace record takes a place of the capacity: writeTrace waits while spans and records fill it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const gate = yield* Deferred.make<void>()
      const { sink } = recordingSink(() => Deferred.await(gate))
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), batchSize: 2, capacity: 4, concurrency: 1, flushInterval: "1 millis" })
      const tenantId = newTenantId()
      const traces = Array.from({ length: 3 }, () => newTraceId()).map((traceId): TraceEvent => ({ tenantId, traceId, createdAt: new Date(), spans: [span(tenantId, traceId)] }))
      const fiber = yield* Effect.fork(Effect.forEach(traces, writer.writeTrace, { discard: true }))
      yield* Effect.sleep("200 millis")
      // Two traces of one span and one record each fill the 4 places; the third waits.
      expect(yield* writer.stats).toMatchObject({ accepted: 2, tracesAccepted: 2, tracesStored: 0 })
      expect(fiber.unsafePoll()).toBeNull()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(fiber)
      yield* writer.flush
      expect(yield* writer.stats).toMatchObject({ accepted: 3, stored: 3, buffered: 0, tracesAccepted: 3, tracesStored: 3, tracesLost: 0 })
    }).pipe(Effect.scoped))

  it.live("capacity bounds the spans held: buffered plus being stored never exceed it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const gate = yield* Deferred.make<void>()
      const { sink, stored } = recordingSink(() => Deferred.await(gate))
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), batchSize: 10, capacity: 30, concurrency: 2, flushInterval: "1 millis" })
      const list = spans(100)
      const fiber = yield* Effect.fork(writer.writeAll(list))
      yield* Effect.sleep("200 millis")
      // Two batches in the sink and one buffered; the old writer held about twice the capacity.
      expect(yield* writer.stats).toMatchObject({ accepted: 30, buffered: 30 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(fiber)
      yield* writer.flush
      expect(stored).toHaveLength(100)
    }).pipe(Effect.scoped))

  it.live("maxBufferBytes bounds the bytes held: with 1 MB prompts and a 4 MiB budget, write waits at 4 spans, far below the capacity", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const gate = yield* Deferred.make<void>()
      const { sink, stored } = recordingSink(() => Deferred.await(gate))
      const maxBufferBytes = 4 * 1024 * 1024
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d"), maxBufferBytes, flushInterval: "1 millis" })
      // Each prompt a string of its own, as if read from input: 1 MB, plus the writer's 1 KiB allowance a span.
      const list = spans(10, (i) => String.fromCharCode(97 + i).repeat(1_000_000))
      let peak = 0
      const sampler = yield* Effect.fork(Effect.forever(Effect.zipRight(Effect.map(writer.stats, (s) => void (peak = Math.max(peak, s.bufferedBytes))), Effect.sleep("2 millis"))))
      const writing = yield* Effect.fork(writer.writeAll(list))
      yield* Effect.sleep("300 millis")
      // Two batches of one span in the sink (a batch leaves at a third of the budget) and two buffered:
      // the fifth would pass 4 MiB. The capacity (15,000 spans) is nowhere near.
      const held = yield* writer.stats
      expect(held).toMatchObject({ accepted: 4, buffered: 4 })
      expect(held.bufferedBytes).toBeGreaterThanOrEqual(4 * 1_000_000)
      expect(held.bufferedBytes).toBeLessThanOrEqual(maxBufferBytes)
      expect(writing.unsafePoll()).toBeNull()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(writing)
      yield* writer.flush
      yield* Fiber.interrupt(sampler)
      expect(stored.map((s) => s.spanId)).toEqual(list.map((s) => s.spanId))
      expect(peak).toBeLessThanOrEqual(maxBufferBytes)
      expect(yield* writer.stats).toMatchObject({ accepted: 10, stored: 10, buffered: 0, bufferedBytes: 0 })
    }).pipe(Effect.scoped))

  it.live("a span larger than the whole byte budget is let through alone (it takes all of the budget), not refused nor stuck", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const gate = yield* Deferred.make<void>()
      const { sink, stored } = recordingSink(() => Deferred.await(gate))
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d"), maxBufferBytes: 1024 * 1024, flushInterval: "1 millis" })
      const [big, small] = spans(2, (i) => (i === 0 ? "x".repeat(2_000_000) : "small"))
      yield* writer.write(big!)
      const second = yield* Effect.fork(writer.write(small!))
      yield* Effect.sleep("200 millis")
      // The big one holds the whole budget while it is being stored: the small one waits for it.
      expect(second.unsafePoll()).toBeNull()
      expect(yield* writer.stats).toMatchObject({ accepted: 1 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(second)
      yield* writer.flush
      expect(stored.map((s) => s.prompt.length)).toEqual([2_000_000, 5])
    }).pipe(Effect.scoped))

  it.live("writeAll while the scope closes: WriterClosed tells how many spans were accepted, exactly those are stored", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const gate = yield* Deferred.make<void>()
      const { sink, stored } = recordingSink(() => Deferred.await(gate))
      const scope = yield* Scope.make()
      const writer = yield* writerWith(sink, { deadLetterPath: path.join(dir, "d.jsonl"), batchSize: 10, capacity: 20, flushInterval: "1 millis" }).pipe(Scope.extend(scope))
      const list = spans(60)
      const writing = yield* Effect.fork(writer.writeAll(list))
      yield* Effect.sleep("100 millis") // 20 accepted (capacity), the call waits for room
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.sleep("100 millis")
      yield* Deferred.succeed(gate, undefined)
      const error = yield* Effect.flip(Fiber.join(writing))
      yield* Fiber.join(closing)
      expect(error).toMatchObject({ _tag: "WriterClosed", accepted: 20 })
      expect(stored.map((s) => s.spanId)).toEqual(list.slice(0, 20).map((s) => s.spanId))
      expect(yield* Effect.flip(writer.write(list[0]!))).toMatchObject({ _tag: "WriterClosed", accepted: 0 })
    }).pipe(Effect.scoped))

  it.effect("refuses invalid options when it is built", () =>
    Effect.gen(function*() {
      const { sink } = recordingSink()
      const refused = (options: TraceWriter.Options) => Effect.flip(writerWith(sink, options)).pipe(Effect.scoped)
      expect(yield* refused({ batchSize: -1 })).toMatchObject({ _tag: "InvalidInput", path: ["batchSize"] })
      expect(yield* refused({ batchSize: 0 })).toMatchObject({ _tag: "InvalidInput", path: ["batchSize"] })
      expect(yield* refused({ capacity: 0 })).toMatchObject({ _tag: "InvalidInput", path: ["capacity"] })
      expect(yield* refused({ batchSize: 100, capacity: 50 })).toMatchObject({ _tag: "InvalidInput", path: ["capacity"] })
      expect(yield* refused({ maxRetries: -1 })).toMatchObject({ _tag: "InvalidInput", path: ["maxRetries"] })
      expect(yield* refused({ concurrency: 0 })).toMatchObject({ _tag: "InvalidInput", path: ["concurrency"] })
      // The byte budget: a whole number of at least 1 MiB (a few ordinary spans); a larger span passes alone.
      for (const maxBufferBytes of [0, -1, 1000, 1024 * 1024 - 1, 2_000_000.5, Number.NaN]) {
        const e = yield* refused({ maxBufferBytes })
        expect(e).toMatchObject({ _tag: "InvalidInput", path: ["maxBufferBytes"] })
        expect(e.message).toBe(`maxBufferBytes: must be a whole number >= 1048576, got ${maxBufferBytes}`)
      }
      expect(yield* refused({ maxLineBytes: 0 })).toMatchObject({ _tag: "InvalidInput", path: ["maxLineBytes"] })
      expect(yield* refused({ maxLineBytes: 100 })).toMatchObject({ _tag: "InvalidInput", path: ["maxLineBytes"] })
    }))

  it.effect("refuses invalid options from the environment with a ConfigError naming the variable", () =>
    Effect.gen(function*() {
      const fromEnv = (env: Record<string, string>) =>
        Effect.flip(StorageConfig.writer).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))), Effect.map(String))
      expect(yield* fromEnv({ LLMTRACE_TRACE_WRITER_BATCH_SIZE: "-1" })).toContain("LLMTRACE_TRACE_WRITER_BATCH_SIZE")
      expect(yield* fromEnv({ LLMTRACE_TRACE_WRITER_CAPACITY: "0" })).toContain("LLMTRACE_TRACE_WRITER_CAPACITY")
      expect(yield* fromEnv({ LLMTRACE_TRACE_WRITER_MAX_RETRIES: "-2" })).toContain("LLMTRACE_TRACE_WRITER_MAX_RETRIES")
      for (const bytes of ["0", "-5", "65536", "lots"]) {
        expect(yield* fromEnv({ LLMTRACE_TRACE_WRITER_MAX_BUFFER_BYTES: bytes })).toContain("LLMTRACE_TRACE_WRITER_MAX_BUFFER_BYTES")
      }
      expect(yield* fromEnv({ LLMTRACE_TRACE_WRITER_MAX_LINE_BYTES: "0" })).toContain("LLMTRACE_TRACE_WRITER_MAX_LINE_BYTES")
      expect(yield* fromEnv({ LLMTRACE_TRACE_WRITER_BATCH_SIZE: "500", LLMTRACE_TRACE_WRITER_CAPACITY: "100" })).toContain("LLMTRACE_TRACE_WRITER_CAPACITY")
      // The module's own config reads the option names, and names them the same way.
      const own = yield* Effect.flip(TraceWriter.config).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["batchSize", "500"], ["capacity", "100"]]))),
        Effect.map(String)
      )
      expect(own).toContain("capacity")
      expect(own).toContain("at least batchSize (500)")
    }))
})
