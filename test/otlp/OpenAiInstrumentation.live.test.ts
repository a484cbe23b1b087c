import { expect, it } from "vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import { StorageProfile } from "../../src/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { describeLive } from "../support/live.js"
import { expectRecorded, runOpenAiScenario } from "../support/openaiScenario.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"
import { dropPrefix, liveRedis, redisUrl, testPrefix } from "../support/redis.js"

// The production profile as ProductionProfile.live.test.ts builds it: live PostgreSQL and Redis (the cached token
// lookup goes through both), ClickHouse embedded unless LLMTRACE_CLICKHOUSE_URL names a server.
const postgres = await livePostgres()
const redis = await liveRedis()
const clickhouseUrl = /^https?:\/\//.test(process.env.LLMTRACE_CLICKHOUSE_URL ?? "") ? process.env.LLMTRACE_CLICKHOUSE_URL! : "chdb::memory:"
const prefix = testPrefix("otel")

const production = Layer.unwrapScoped(
  Effect.gen(function*() {
    const database = yield* freshDatabase("llmtrace_otel")
    const scratch = yield* TestStorage.temporaryDirectory("llmtrace-otel-")
    yield* Effect.addFinalizer(() => Effect.promise(() => dropPrefix(prefix)))
    const variables = new Map([
      ["LLMTRACE_STORAGE_PROFILE", "production"],
      ["LLMTRACE_CLICKHOUSE_URL", clickhouseUrl],
      ["LLMTRACE_CLICKHOUSE_DATABASE", `llmtrace_otel_${process.pid}`],
      ["LLMTRACE_POSTGRES_URL", Redacted.value(database.url)],
      ["LLMTRACE_REDIS_URL", redisUrl],
      ["LLMTRACE_CACHE_PREFIX", prefix],
      ["LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH", path.join(scratch, "dead-letters.jsonl")],
      ["LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL", "100 millis"]
    ])
    return StorageProfile.layerConfig(StorageProfile.config).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(variables))))
  })
)

describeLive(postgres.available ? redis : postgres, () => {
  it("production: an instrumented openai client feeds the store through serve: model, tokens, prompt, response, error, parent/child", async () => {
    expectRecorded(await runOpenAiScenario(production), expect)
  }, 120_000)
})
