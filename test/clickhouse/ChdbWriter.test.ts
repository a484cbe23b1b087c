import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { traceWriterContract } from "../../src/testing/TraceWriterContract.js"

// The writer's contract on the embedded engine in a temporary directory (one per process: its own file).
traceWriterContract(
  "ClickHouse (embedded chDB, in memory)",
  ClickHouseTraceRepository.layer().pipe(Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database: "llmtrace_writer_contract" })))
)
