import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { newTenantId, newTraceId, TraceEvent, TraceRepository } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { traceRepositoryContract } from "../../src/testing/TraceRepositoryContract.js"
import { at, complexSpan, sortSpans, span } from "../support/fixtures.js"
import * as Redacted from "effect/Redacted"

// One data directory for this whole file (chDB allows one per process); each layer below opens it
// and closes it in its own scope, one after the other.
const dir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-chdb-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const repository = (database: string) =>
  ClickHouseTraceRepository.layer().pipe(Layer.provide(ClickHouseClient.layer({ url: Redacted.make(`chdb:${dir}`), database })))

traceRepositoryContract("ClickHouse (embedded chDB, on disk)", repository("llmtrace_contract"), { excludeTestServices: true })

describe("ClickHouse on disk", () => {
  it.live("keeps its data when the engine is closed and opened again", () =>
    Effect.gen(function*() {
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const trace = TraceEvent.make({
        tenantId,
        traceId,
        createdAt: at(3),
        spans: [complexSpan(tenantId, traceId, at(3)), span(tenantId, traceId, { startTime: at(4) })]
      })
      const layer = repository("llmtrace_reopen")
      yield* Effect.flatMap(TraceRepository.TraceRepository, (repo) => repo.storeTrace(trace)).pipe(Effect.provide(layer))
      // The first layer's scope is closed here: the engine released the directory.
      const found = yield* Effect.flatMap(TraceRepository.TraceRepository, (repo) => repo.getTrace(tenantId, traceId)).pipe(
        Effect.provide(layer)
      )
      expect(Option.getOrThrow(found)).toEqual({ ...trace, spans: sortSpans(trace.spans) })
    }), 120_000)
})
