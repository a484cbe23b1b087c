import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { newTenantId, newTraceId, type StorageError, StorageProfile, TraceRepository, TraceWriter } from "../../src/index.js"
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
})
