import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/index.js"
import { traceRepositoryContract } from "../contract/TraceRepositoryContract.js"
import * as Redacted from "effect/Redacted"

// The embedded engine in a temporary directory: one per process, closed with the layer's scope.
const repository = ClickHouseTraceRepository.layer().pipe(
  Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_contract" }))
)

traceRepositoryContract("ClickHouse (embedded chDB, in memory)", repository, { excludeTestServices: true })
