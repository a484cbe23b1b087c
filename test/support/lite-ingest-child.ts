// Ingests spans into a lite data directory through the TraceWriter until it is killed: after each
// batch it calls `flush` and prints `flushed <n>`, the number of spans acknowledged so far (and
// `writing <n>` before each batch). Span
// number i has the id `spanIdAt(i)`, so the parent knows every acknowledged id. Used by the
// SIGKILL test, which kills this process mid-ingest and reopens the directory.
import * as Effect from "effect/Effect"
import { StorageProfile, TenantId, TraceWriter } from "../../src/index.js"
import { ingestSpan } from "./liteIngest.js"

const [dataDir, tenant, batchArg] = process.argv.slice(2)
if (dataDir === undefined || tenant === undefined) throw new Error("usage: lite-ingest-child.ts <dataDir> <tenantId> [batch]")
const tenantId = TenantId.make(tenant)
const batch = Number(batchArg ?? "2000")

Effect.gen(function*() {
  const writer = yield* TraceWriter.TraceWriter
  console.log("ready")
  for (let done = 0; ; done += batch) {
    // Announced before the batch starts, so the parent can kill this process while it writes.
    console.log(`writing ${done + batch}`)
    yield* writer.writeAll(Array.from({ length: batch }, (_, j) => ingestSpan(tenantId, done + j)))
    yield* writer.flush
    console.log(`flushed ${done + batch}`)
  }
}).pipe(
  Effect.provide(StorageProfile.lite({ dataDir, writer: { batchSize: 1000, flushInterval: "20 millis" } })),
  Effect.runPromise
).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
