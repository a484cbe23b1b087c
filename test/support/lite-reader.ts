// Opens a lite data directory in its own process and prints a tenant (by token) and a trace's spans
// as JSON: the "reopen in a new process" half of the lite persistence test.
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { MetadataRepository, StorageProfile, TenantId, TraceId, TraceRepository } from "../../src/index.js"

const [dataDir, token, traceId] = process.argv.slice(2)
if (dataDir === undefined || token === undefined || traceId === undefined) throw new Error("usage: lite-reader.ts <dataDir> <token> <traceId>")

Effect.gen(function*() {
  const tenant = Option.getOrThrow(yield* (yield* MetadataRepository.MetadataRepository).getTenantByToken(token))
  const trace = Option.getOrThrow(yield* (yield* TraceRepository.TraceRepository).getTrace(TenantId.make(tenant.id), TraceId.make(traceId)))
  console.log(JSON.stringify({ tenant, spans: trace.spans }))
}).pipe(Effect.provide(StorageProfile.lite({ dataDir, autoMigrate: false })), Effect.runPromise).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
