import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type MetadataRepository, StorageProfile, type TraceRepository, type TraceWriter } from "../../src/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { hostileCorpusThroughReceiver } from "../support/otlpHostile.js"

// The lite profile (embedded ClickHouse in a temporary directory, SQLite) behind the receiver, in a file of its own:
// chDB takes one data directory per process (each test file runs in its own forked process), so one store serves both
// cases, and each case runs its own receiver on it.
let store: ManagedRuntime.ManagedRuntime<TraceWriter.TraceWriter | TraceRepository.TraceRepository | MetadataRepository.MetadataRepository, unknown>
let storage: Layer.Layer<TraceWriter.TraceWriter | TraceRepository.TraceRepository | MetadataRepository.MetadataRepository>

beforeAll(async () => {
  store = ManagedRuntime.make(Layer.unwrapScoped(Effect.map(TestStorage.temporaryDirectory("llmtrace-otlp-hostile-lite-"), (dataDir) =>
    StorageProfile.layer({ profile: "lite", dataDir, writer: { flushInterval: "50 millis" } }))))
  storage = Layer.succeedContext((await store.runtime()).context)
})
afterAll(() => store.dispose())

for (const format of ["json", "protobuf"] as const) {
  it(`lite, ${format}: stores every hostile string byte-exact (prompt, response, model, a tag) or refuses the request with 400`, async () => {
    const outcome = await hostileCorpusThroughReceiver(storage, format)
    expect(outcome.problems).toEqual([])
    expect(outcome.stored).toBe(outcome.sent)
  }, 300_000)
}
