import { closedPort } from "../support/ports.js"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { StorageConfig } from "../../src/index.js"
import { ClickHouseClient } from "../../src/clickhouse/index.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))


describe("ClickHouse configuration", () => {
  it.effect("reads defaults, and the password as a redacted value", () =>
    Effect.gen(function*() {
      const client = yield* StorageConfig.clickhouse.pipe(withEnv({ LLMTRACE_CLICKHOUSE_PASSWORD: "s3cret" }))
      expect(Redacted.value(client.url)).toBe("http://localhost:8123")
      expect(client).toMatchObject({ database: "llmtrace", username: "default", compression: true })
      expect(Redacted.isRedacted(client.password)).toBe(true)
      expect(String(client.password)).not.toContain("s3cret")
      const repo = yield* StorageConfig.traces.pipe(withEnv({ LLMTRACE_CLICKHOUSE_RETENTION_DAYS: "", LLMTRACE_CLICKHOUSE_CLUSTER: "" }))
      expect(repo).toMatchObject({ retentionDays: undefined, cluster: undefined })
      expect(yield* StorageConfig.autoMigrate.pipe(withEnv({}))).toBeUndefined() // the profile decides
      expect(yield* StorageConfig.autoMigrate.pipe(withEnv({ LLMTRACE_AUTO_MIGRATE: "" }))).toBeUndefined()
      expect(yield* StorageConfig.autoMigrate.pipe(withEnv({ LLMTRACE_AUTO_MIGRATE: "false" }))).toBe(false)
      const writer = yield* StorageConfig.writer.pipe(withEnv({ LLMTRACE_TRACE_WRITER_BATCH_SIZE: "5000", LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL: "250 millis" }))
      expect(writer).toMatchObject({ batchSize: 5000, maxRetries: 5, validate: true, flushTimeout: Duration.seconds(30) })
      expect(writer.capacity).toBeUndefined() // unset: the writer derives it from the batch size
    }))

  it.effect("names the variable of a bad value", () =>
    Effect.gen(function*() {
      const retention = yield* Effect.flip(StorageConfig.traces.pipe(withEnv({ LLMTRACE_CLICKHOUSE_RETENTION_DAYS: "-3" })))
      expect(String(retention)).toContain("LLMTRACE_CLICKHOUSE_RETENTION_DAYS")
      const database = yield* Effect.flip(StorageConfig.clickhouse.pipe(withEnv({ LLMTRACE_CLICKHOUSE_DATABASE: "a;b" })))
      expect(String(database)).toContain("LLMTRACE_CLICKHOUSE_DATABASE")
    }))

  it.effect("the adapter's own config reads each option under its option name, nothing of the environment's", () =>
    Effect.gen(function*() {
      const options = yield* ClickHouseClient.config.pipe(withEnv({ url: "chdb::memory:", requestTimeout: "5 seconds", LLMTRACE_CLICKHOUSE_URL: "http://elsewhere:8123" }))
      expect(Redacted.value(options.url)).toBe("chdb::memory:")
      expect(options).toMatchObject({ database: "llmtrace", verify: true })
      expect(Duration.toMillis(options.requestTimeout ?? 0)).toBe(5000)
      const bad = yield* Effect.flip(ClickHouseClient.config.pipe(withEnv({ database: "a;b" })))
      expect(String(bad)).toContain("database")
    }))

  it("prints a URL without its password", () => {
    expect(ClickHouseClient.redactUrl("https://alice:s3cret@ch.example.com:8443")).toBe("https://alice@ch.example.com:8443")
    expect(ClickHouseClient.redactUrl("chdb:./data")).toBe("chdb:./data")
  })

  it.live("fails to build with StorageUnavailable naming the address (no password) when nothing answers", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const layer = ClickHouseClient.layerConfig(StorageConfig.clickhouse).pipe(Layer.launch, Effect.scoped)
      const error = yield* Effect.flip(layer.pipe(withEnv({
        LLMTRACE_CLICKHOUSE_URL: `http://bob:hunter2@127.0.0.1:${port}`,
        LLMTRACE_CLICKHOUSE_CONNECT_TIMEOUT: "3 seconds"
      })))
      expect(error._tag).toBe("StorageUnavailable")
      expect(error.message).toContain(`http://bob@127.0.0.1:${port}`)
      expect(error.message).not.toContain("hunter2")
    }), 30_000)

  it.live("refuses an unsupported URL", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(ClickHouseClient.make({ url: Redacted.make("ftp://x") })))
      expect(error.message).toContain("unsupported ClickHouse URL")
    }))
})
