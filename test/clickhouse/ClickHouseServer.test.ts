import { describe } from "@effect/vitest"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository, StorageConfig } from "../../src/index.js"
import { traceRepositoryContract } from "../contract/TraceRepositoryContract.js"

// The contract on a live ClickHouse server, when LLMTRACE_CLICKHOUSE_URL points at one
// (`docker compose up -d clickhouse`, then LLMTRACE_CLICKHOUSE_URL=http://localhost:8123 npx vitest run test/clickhouse).
const url = process.env.LLMTRACE_CLICKHOUSE_URL ?? ""
const isServer = /^https?:\/\//.test(url)

const reachable = async (): Promise<boolean> => {
  try {
    return (await fetch(new URL("/ping", url), { signal: AbortSignal.timeout(3000) })).ok
  } catch {
    return false
  }
}

const up = isServer && (await reachable())
if (!up) {
  const reason = isServer
    ? `live ClickHouse suite: nothing answers at ${ClickHouseClient.redactUrl(url)} (start it with \`docker compose up -d clickhouse\`)`
    : "live ClickHouse suite skipped: LLMTRACE_CLICKHOUSE_URL is not an http(s):// URL (set LLMTRACE_CLICKHOUSE_URL=http://localhost:8123 with `docker compose up -d clickhouse`)"
  // Where a server is named but missing on CI, fail with that line rather than skip silently.
  if (isServer && process.env.CI) throw new Error(reason)
  console.info(reason)
}

// This run's own database, dropped when the layer's scope closes (before the client is closed).
const database = `llmtrace_test_${Date.now()}_${process.pid}`
const dropOnClose = Layer.scopedDiscard(
  Effect.flatMap(ClickHouseClient.ClickHouseClient, (ch) =>
    Effect.addFinalizer(() => Effect.ignore(ch.command("test.drop", `DROP DATABASE IF EXISTS ${database}`))))
)
const client = dropOnClose.pipe(Layer.provideMerge(ClickHouseClient.layerConfig(Config.map(StorageConfig.clickhouse, (options) => ({ ...options, database })))))

describe.skipIf(!up)("live ClickHouse server", () => {
  traceRepositoryContract(
    `ClickHouse server at ${ClickHouseClient.redactUrl(url)}`,
    ClickHouseTraceRepository.layerConfig(StorageConfig.traces).pipe(Layer.provide(client)),
    { excludeTestServices: true }
  )
})
