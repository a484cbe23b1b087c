import { describe, expect, layer } from "@effect/vitest"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  newTenantId,
  newTraceId,
  StorageUnavailable,
  TraceRepository,
  type TraceSpan,
  TraceWriter
} from "../index.js"
import * as MemoryFileSystem from "../internal/memory/MemoryFileSystem.js"
import { span } from "./Fixtures.js"

/**
 * The engine's sink, failing as unavailable (a proxy's 503, say) the first `times` calls whose
 * batch holds a span with a prompt in `failing` (none once `heal` is called); `landed` records, in order, the prompts of the spans each successful call stored, so a
 * case can show that the older copy really reached the engine last.
 */
const flakySink = (failing: ReadonlySet<string>, times: number) =>
  Effect.map(TraceWriter.TraceSink, (sink) => {
    let left = times
    const landed: Array<string> = []
    const storeSpans = (spans: ReadonlyArray<TraceSpan>, versions: ReadonlyArray<number>) =>
      Effect.suspend(() =>
        left > 0 && spans.some((s) => failing.has(s.prompt))
          ? (left--, Effect.fail(unavailable("503 Service Unavailable")))
          : Effect.tap(sink.storeSpans(spans, versions), () => Effect.sync(() => landed.push(...spans.map((s) => s.prompt))))
      )
    return { sink: { ...sink, storeSpans }, landed, heal: () => void (left = 0) }
  })

const unavailable = (message: string) =>
  new StorageUnavailable({ backend: "storage", operation: "TraceWriterContract", message: `${message} (injected)` })

/** The prompt of the stored copy of a span. */
const storedPrompt = (s: TraceSpan) =>
  Effect.flatMap(TraceRepository.TraceRepository, (repo) => Effect.map(repo.getSpan(s.tenantId, s.spanId), Option.map((x) => x.prompt)))

/**
 * "Last write wins" through the TraceWriter, on an engine's TraceRepository and its TraceSink: of
 * two `write`s of one span id, the copy of the later call is the one stored, whatever order their
 * batches reach the engine in (retries, concurrent batches, dead letters replayed later). The
 * version that decides is stamped at `write` (docs/DESIGN.md, "What decides last write"). Dead
 * letters go to an in-memory FileSystem: the contract touches no file.
 */
export const traceWriterContract = <E>(
  name: string,
  engine: Layer.Layer<TraceRepository.TraceRepository | TraceWriter.TraceSink, E>,
  options: { readonly timeout?: number } = {}
) =>
  // The real clock: the writer's retries and intervals sleep.
  layer(engine, { timeout: "120 seconds", excludeTestServices: true })(
    `TraceWriter contract: ${name}`,
    (it) => {
      const timeout = options.timeout ?? 60_000
      const deadLetters = "/dead-letters"

      describe("last write wins", () => {
        it.effect("write(OLD), write(NEW); OLD's batch fails once and is retried after NEW's was stored (concurrency 2): NEW is stored", () =>
          Effect.gen(function*() {
            const { landed, sink } = yield* flakySink(new Set(["OLD"]), 1)
            const old = span(newTenantId(), newTraceId(), { prompt: "OLD" })
            yield* Effect.scoped(Effect.gen(function*() {
              const writer = yield* TraceWriter.make({ batchSize: 1, concurrency: 2, retryDelay: "500 millis", deadLetterPath: deadLetters, replayOnStart: false })
              yield* writer.write(old)
              yield* writer.write({ ...old, prompt: "NEW" })
              yield* writer.flush
              expect((yield* writer.stats).retried).toBe(1)
            })).pipe(Effect.provideService(TraceWriter.TraceSink, sink), Effect.provide(MemoryFileSystem.layer))
            // The older copy reached the engine last: only its version can keep it from winning.
            expect(landed).toEqual(["NEW", "OLD"])
            expect(yield* storedPrompt(old)).toEqual(Option.some("NEW"))
          }), timeout)

        it.effect("spans written twice, each first copy's batch failing once and retried while the next batch, their second copies, is stored (concurrency 2): every span keeps its second copy", () =>
          Effect.gen(function*() {
            const tenantId = newTenantId()
            const traceId = newTraceId()
            const blocks = 6
            const size = 20
            // first copies of block k, then their second copies: one batch each.
            const written = Array.from({ length: blocks }, (_, k) => {
              const first = Array.from({ length: size }, (_, i) => span(tenantId, traceId, { prompt: `first ${k * size + i}` }))
              return [...first, ...first.map((s, i) => ({ ...s, prompt: `second ${k * size + i}` }))]
            }).flat()
            const base = yield* TraceWriter.TraceSink
            const failedOnce = new Set<string>()
            const landed = new Map<string, Array<string>>()
            const sink = {
              ...base,
              storeSpans: (spans: ReadonlyArray<TraceSpan>, versions: ReadonlyArray<number>) =>
                Effect.suspend(() => {
                  const key = spans[0]!.spanId + spans[0]!.prompt
                  if (spans.some((s) => s.prompt.startsWith("first")) && !failedOnce.has(key)) {
                    failedOnce.add(key)
                    return Effect.fail(unavailable("connection reset"))
                  }
                  return Effect.tap(base.storeSpans(spans, versions), () =>
                    Effect.sync(() => spans.forEach((s) => landed.set(s.spanId, [...(landed.get(s.spanId) ?? []), s.prompt.split(" ")[0]!]))))
                })
            }
            yield* Effect.scoped(Effect.gen(function*() {
              const writer = yield* TraceWriter.make({ batchSize: size, concurrency: 2, retryDelay: "500 millis", deadLetterPath: deadLetters, replayOnStart: false })
              yield* writer.writeAll(written)
              yield* writer.flush
              const stats = yield* writer.stats
              expect(stats.retried).toBeGreaterThanOrEqual(blocks)
              expect([stats.stored, stats.deadLettered, stats.lost]).toEqual([2 * blocks * size, 0, 0])
            })).pipe(Effect.provideService(TraceWriter.TraceSink, sink), Effect.provide(MemoryFileSystem.layer))
            // The fault happened as intended: first copies reached the engine after their second copies.
            expect([...landed.values()].filter((order) => order.join() === "second,first").length).toBeGreaterThan(0)
            const stored = Option.getOrThrow(yield* (yield* TraceRepository.TraceRepository).getTrace(tenantId, traceId))
            expect(stored.spans.map((s) => s.prompt).sort()).toEqual(written.filter((s) => s.prompt.startsWith("second")).map((s) => s.prompt).sort())
          }), timeout)

        it.effect("OLD dead-lettered (unavailable after its retries), NEW stored, OLD replayed by the next writer: NEW stays", () =>
          Effect.gen(function*() {
            const { heal, landed, sink } = yield* flakySink(new Set(["OLD"]), 10)
            const fs = MemoryFileSystem.make()
            const old = span(newTenantId(), newTraceId(), { prompt: "OLD" })
            yield* Effect.scoped(Effect.gen(function*() {
              const writer = yield* TraceWriter.make({ batchSize: 1, concurrency: 2, maxRetries: 1, retryDelay: "1 millis", deadLetterPath: deadLetters, replayOnStart: false })
              yield* writer.write(old)
              yield* writer.write({ ...old, prompt: "NEW" })
              yield* writer.flush
              expect((yield* writer.stats).deadLettered).toBe(1)
            })).pipe(Effect.provideService(TraceWriter.TraceSink, sink), Effect.provideService(FileSystem.FileSystem, fs))
            expect(landed).toEqual(["NEW"])
            // The engine is back; the next writer starts and replays OLD.
            heal()
            yield* Effect.scoped(TraceWriter.make({ deadLetterPath: deadLetters })).pipe(
              Effect.provideService(TraceWriter.TraceSink, sink),
              Effect.provideService(FileSystem.FileSystem, fs)
            )
            expect(landed).toEqual(["NEW", "OLD"])
            expect(yield* storedPrompt(old)).toEqual(Option.some("NEW"))
          }), timeout)

        it.effect("NEW dead-lettered, OLD stored, NEW replayed later: NEW is stored", () =>
          Effect.gen(function*() {
            const { heal, landed, sink } = yield* flakySink(new Set(["NEW"]), 10)
            const fs = MemoryFileSystem.make()
            const old = span(newTenantId(), newTraceId(), { prompt: "OLD" })
            yield* Effect.scoped(Effect.gen(function*() {
              const writer = yield* TraceWriter.make({ batchSize: 1, maxRetries: 1, retryDelay: "1 millis", deadLetterPath: deadLetters, replayOnStart: false })
              yield* writer.write(old)
              yield* writer.write({ ...old, prompt: "NEW" })
              yield* writer.flush
              expect((yield* writer.stats).deadLettered).toBe(1)
            })).pipe(Effect.provideService(TraceWriter.TraceSink, sink), Effect.provideService(FileSystem.FileSystem, fs))
            expect(yield* storedPrompt(old)).toEqual(Option.some("OLD"))
            heal()
            yield* TraceWriter.replayDeadLetters(deadLetters).pipe(Effect.provideService(TraceWriter.TraceSink, sink), Effect.provideService(FileSystem.FileSystem, fs))
            expect(landed).toEqual(["OLD", "NEW"])
            expect(yield* storedPrompt(old)).toEqual(Option.some("NEW"))
          }), timeout)
      })
    }
  )
