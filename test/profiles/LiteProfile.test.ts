import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { MetadataRepository, newTraceId, NewTenant, StorageMigrations, StorageProfile, storedTenant, TraceRepository, TraceWriter } from "../../src/index.js"
import { complexSpan, sortSpans, span } from "../support/fixtures.js"

const dataDir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-lite-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const run = promisify(execFile)
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))
const reader = fileURLToPath(new URL("../support/lite-reader.ts", import.meta.url))

describe("lite profile", () => {
  it.live("keeps what it stored: written here, closed, then read back by a new process", () =>
    Effect.gen(function*() {
      const tenant = NewTenant.make({ name: "lite ✓", apiToken: "lite-token", plan: "free" })
      const traceId = newTraceId()
      const spans = [complexSpan(tenant.id, traceId, new Date(Date.UTC(2026, 0, 2))), span(tenant.id, traceId, { startTime: new Date(Date.UTC(2026, 0, 2, 0, 5)) })]
      yield* Effect.gen(function*() {
        yield* (yield* MetadataRepository.MetadataRepository).createTenant(tenant)
        const writer = yield* TraceWriter.TraceWriter
        yield* writer.writeAll(spans)
        yield* writer.flush
        expect(Option.isSome(yield* (yield* TraceRepository.TraceRepository).getTrace(tenant.id, traceId))).toBe(true)
      }).pipe(Effect.provide(StorageProfile.lite({ dataDir })))
      // The layer's scope is closed: the embedded engine released the directory for another process.
      const { stdout } = yield* Effect.promise(() => run(tsx, [reader, dataDir, "lite-token", traceId], { timeout: 120_000 }))
      const read = JSON.parse(stdout) as { tenant: unknown; spans: Array<unknown> }
      expect(read.tenant).toEqual(JSON.parse(JSON.stringify(storedTenant(tenant))))
      expect(read.spans).toEqual(JSON.parse(JSON.stringify(sortSpans(spans))))
    }), 180_000)

  it.live("StorageProfile.migrations: pending (creating nothing), then run, then nothing pending, in one process", () =>
    Effect.gen(function*() {
      const backends = yield* StorageMigrations.StorageMigrations
      const before = yield* Effect.forEach(backends, (b) => b.status)
      expect(existsSync(path.join(dataDir, "migrations"))).toBe(false)
      expect(before.map((s) => [s.backend, s.applied, s.pending])).toEqual([
        ["clickhouse", [], StorageMigrations.known("clickhouse")],
        ["sqlite", [], StorageMigrations.known("sqlite")]
      ])
      yield* Effect.forEach(backends, (b) => b.run)
      const after = yield* Effect.forEach(backends, (b) => b.status)
      expect(after.map((s) => [s.backend, s.applied, s.pending])).toEqual([
        ["clickhouse", StorageMigrations.known("clickhouse"), []],
        ["sqlite", StorageMigrations.known("sqlite"), []]
      ])
    }).pipe(
      Effect.provide(StorageProfile.migrations({ profile: "lite", dataDir: path.join(dataDir, "migrations") })),
      Effect.scoped
    ), 120_000)
})
