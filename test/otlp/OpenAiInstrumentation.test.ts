import { expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StorageProfile } from "../../src/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { expectRecorded, runOpenAiScenario } from "../support/openaiScenario.js"

// The lite profile (embedded ClickHouse in a temporary directory, SQLite) behind `serve`'s receiver.
it("lite: an openai client instrumented by Traceloop's OpenTelemetry instrumentation feeds the store: model, tokens, prompt, response, error, parent/child", async () => {
  const lite = Layer.unwrapScoped(Effect.map(TestStorage.temporaryDirectory("llmtrace-otel-lite-"), (dataDir) =>
    StorageProfile.layer({ profile: "lite", dataDir, writer: { flushInterval: "100 millis" } })))
  expectRecorded(await runOpenAiScenario(lite), expect)
}, 120_000)
