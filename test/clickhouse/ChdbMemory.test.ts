import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { traceRepositoryContract } from "../../src/testing/TraceRepositoryContract.js"
import { traceRepositoryTracing } from "../contract/TracingContract.js"
import * as Redacted from "effect/Redacted"

// The embedded engine in a temporary directory: one per process, closed with the layer's scope.
const repository = ClickHouseTraceRepository.layer().pipe(
  Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_contract" }))
)

traceRepositoryContract("ClickHouse (embedded chDB, in memory)", repository, { excludeTestServices: true })
traceRepositoryTracing("ClickHouse (embedded chDB, in memory)", "clickhouse", repository, { excludeTestServices: true })
