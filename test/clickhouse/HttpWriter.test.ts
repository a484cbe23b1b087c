import * as Layer from "effect/Layer"
import { ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { traceWriterContract } from "../../src/testing/TraceWriterContract.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"

// The writer's contract through @clickhouse/client's HTTP transport, on the fixture over the embedded engine.
traceWriterContract(
  "ClickHouse HTTP fixture over chDB",
  ClickHouseTraceRepository.layer().pipe(Layer.provide(ClickHouseHttp.client("llmtrace_writer_contract")))
)
