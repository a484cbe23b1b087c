import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { newTenantId, newTraceId, type StorageError, StorageProfile, TraceEvent, TraceRepository, TraceWriter } from "../../src/index.js"
import { span } from "../support/fixtures.js"

const dataDir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-writer-lite-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const profiles: ReadonlyArray<readonly [string, Layer.Layer<StorageProfile.Services, StorageError>]> = [
  ["memory", StorageProfile.memory],
  ["lite", StorageProfile.lite({ dataDir })]
]

describe.each(profiles)("the TraceWriter of the %s profile", (_, profile) => {
  it.live("refuses writeAll with an invalid span by its index, accepting none, and stores a valid call on flush", () =>
    Effect.gen(function*() {
      const writer = yield* TraceWriter.TraceWriter
      const repo = yield* TraceRepository.TraceRepository
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const good = [span(tenantId, traceId), span(tenantId, traceId)]
      const error = yield* Effect.flip(writer.writeAll([good[0]!, { ...good[1]!, endTime: new Date(Date.UTC(2300, 0, 1)) }]))
      expect(error).toMatchObject({ _tag: "InvalidInput", path: [1, "endTime"] })
      expect(error.message).toContain("endTime")
      expect((yield* writer.stats).accepted).toBe(0)
      yield* writer.writeAll(good)
      yield* writer.flush // a partial batch: sent at once, not after the flush interval
      expect((yield* repo.getStats(tenantId)).totalSpans).toBe(2)
      expect(yield* writer.stats).toMatchObject({ accepted: 2, stored: 2, deadLettered: 0, buffered: 0 })
    }).pipe(Effect.provide(profile)), 120_000)

  it.live("writeTrace stores the trace's own record: its createdAt is kept (not its earliest span's) and a trace with no spans exists; flush waits for the records", () =>
    Effect.gen(function*() {
      const writer = yield* TraceWriter.TraceWriter
      const repo = yield* TraceRepository.TraceRepository
      const tenantId = newTenantId()
      const withSpans = newTraceId()
      const empty = newTraceId()
      const created = new Date(Date.UTC(2026, 0, 1, 12))
      const spans = [span(tenantId, withSpans), span(tenantId, withSpans)]
      yield* writer.writeTrace(TraceEvent.make({ tenantId, traceId: withSpans, createdAt: created, spans }))
      yield* writer.writeTrace(TraceEvent.make({ tenantId, traceId: empty, createdAt: created, spans: [] }))
      // The default flush interval is 1 second: without the flush waiting for the records, they would not be there yet.
      yield* writer.flush
      expect(yield* writer.stats).toMatchObject({ accepted: 2, stored: 2, buffered: 0, tracesAccepted: 2, tracesStored: 2, tracesLost: 0 })
      // The spans start at midnight, the trace was created at noon: the record, not the spans, says when.
      const stored = Option.getOrThrow(yield* repo.getTrace(tenantId, withSpans))
      expect(stored.createdAt.toISOString()).toBe(created.toISOString())
      expect(stored.spans).toHaveLength(2)
      const none = Option.getOrThrow(yield* repo.getTrace(tenantId, empty))
      expect(none).toMatchObject({ traceId: empty, spans: [] })
      expect(none.createdAt.toISOString()).toBe(created.toISOString())
    }).pipe(Effect.provide(profile)), 120_000)

  it.live("writeTrace refuses a span of another trace, accepting nothing", () =>
    Effect.gen(function*() {
      const writer = yield* TraceWriter.TraceWriter
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const error = yield* Effect.flip(writer.writeTrace({ tenantId, traceId, createdAt: new Date(), spans: [span(tenantId, traceId), span(tenantId, newTraceId())] }))
      expect(error).toMatchObject({ _tag: "InvalidInput", path: ["spans", 1] })
      expect(yield* writer.stats).toMatchObject({ accepted: 0, tracesAccepted: 0 })
    }).pipe(Effect.provide(profile)), 120_000)
})
