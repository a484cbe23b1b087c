// One of two processes writing the same spans through its own TraceWriter to one ClickHouse (the
// HTTP fixture of test/ingest/LastWrite.test.ts):
//   last-write-child.ts PROMPT TENANT TRACE N
// writes spans 0..N-1 of the trace (Fixtures.spanId) with prompt `PROMPT i`, prints
// `{"written":[firstVersion,lastVersion]}`, then waits for a line on standard input before it lets
// the batch go (flush), prints `{"stored":N}` and exits. Nothing leaves before that line: the test
// decides in which order the two processes' inserts reach the engine.
// The engine: LLMTRACE_CLICKHOUSE_URL, _DATABASE, _USER, _PASSWORD.
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createInterface } from "node:readline"
import { StorageConfig, TenantId, TraceId, TraceWriter } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { span, spanId } from "./fixtures.js"
import * as SpanVersion from "../../src/domain/SpanVersion.js"
import * as MemoryFileSystem from "../../src/internal/memory/MemoryFileSystem.js"

const [prompt, tenant, trace, count] = process.argv.slice(2)
const n = Number(count)
const go = new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()))

const engine = ClickHouseTraceRepository.layer({ autoMigrate: false }).pipe(Layer.provide(ClickHouseClient.layerConfig(StorageConfig.clickhouse)))

const program = Effect.gen(function*() {
  const writer = yield* TraceWriter.make({ batchSize: n + 1, flushInterval: "1 hour", deadLetterPath: "/dead-letters", replayOnStart: false })
  const tenantId = TenantId.make(tenant!)
  const traceId = TraceId.make(trace!)
  // The versions this process stamps: the writer stamps its own, from the same clock, as each write is called.
  const before = SpanVersion.next()
  for (let i = 0; i < n; i++) yield* writer.write(span(tenantId, traceId, { spanId: spanId(i), prompt: `${prompt} ${i}` }))
  const after = SpanVersion.next()
  console.log(JSON.stringify({ written: [before, after] }))
  yield* Effect.promise(() => go)
  yield* writer.flush
  const stats = yield* writer.stats
  console.log(JSON.stringify({ stored: stats.stored }))
}).pipe(Effect.scoped, Effect.provide(Layer.merge(engine, MemoryFileSystem.layer)))

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
