import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { expect, it } from "vitest"
import { StorageProfile } from "../../src/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { hostileCorpusThroughReceiver } from "../support/otlpHostile.js"

// The lite profile (embedded ClickHouse in a temporary directory, SQLite) behind the receiver: a file of its own, as
// chDB takes one data directory per process and each test file runs in its own forked process.
it("lite: stores every hostile string byte-exact (prompt, response, model, a tag) or refuses the request with 400", async () => {
  const lite = Layer.unwrapScoped(Effect.map(TestStorage.temporaryDirectory("llmtrace-otlp-hostile-lite-"), (dataDir) =>
    StorageProfile.layer({ profile: "lite", dataDir, writer: { flushInterval: "50 millis" } })))
  const outcome = await hostileCorpusThroughReceiver(lite)
  expect(outcome.problems).toEqual([])
  expect(outcome.stored).toBe(outcome.sent)
}, 300_000)
