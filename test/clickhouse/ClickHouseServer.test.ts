import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StorageConfig } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { traceRepositoryContract } from "../../src/testing/TraceRepositoryContract.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"
import { requireService } from "../support/live.js"

// The contract over ClickHouse's HTTP interface: on the server LLMTRACE_CLICKHOUSE_URL names
// (`docker compose up -d clickhouse`, then LLMTRACE_CLICKHOUSE_URL=http://localhost:8123), otherwise on
// the HTTP fixture over the embedded engine (test/support/ClickHouseHttp.ts). Never skipped.
const url = process.env.LLMTRACE_CLICKHOUSE_URL ?? ""
const isServer = /^https?:\/\//.test(url)

if (isServer) {
  await requireService({
    name: "ClickHouse",
    variable: "LLMTRACE_CLICKHOUSE_URL",
    address: ClickHouseClient.redactUrl(url),
    probe: async () => {
      const response = await fetch(new URL("/ping", url))
      if (!response.ok) throw new Error(`/ping answered ${response.status}`)
    },
    howToStart: "`docker compose up -d clickhouse`"
  })
}

// This run's own database, dropped when the layer's scope closes (before the client is closed).
const database = `llmtrace_test_${Date.now()}_${process.pid}`
const dropOnClose = Layer.scopedDiscard(
  Effect.flatMap(ClickHouseClient.ClickHouseClient, (ch) =>
    Effect.addFinalizer(() => Effect.ignore(ch.command("test.drop", `DROP DATABASE IF EXISTS ${database}`))))
)
const client = dropOnClose.pipe(
  Layer.provideMerge(
    isServer ? ClickHouseClient.layerConfig(Config.map(StorageConfig.clickhouse, (options) => ({ ...options, database }))) : ClickHouseHttp.client(database)
  )
)
const where = isServer ? `ClickHouse server at ${ClickHouseClient.redactUrl(url)}` : "ClickHouse HTTP fixture over chDB"

traceRepositoryContract(where, ClickHouseTraceRepository.layerConfig(StorageConfig.traces).pipe(Layer.provide(client)), { excludeTestServices: true })
