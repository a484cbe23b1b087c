import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/index.js"
import { traceIsolation } from "./isolationSuite.js"

traceIsolation(
  "ClickHouse (embedded chDB)",
  ClickHouseTraceRepository.layerWith().pipe(Layer.provide(ClickHouseClient.layerWith({ url: "chdb::memory:", database: "llmtrace_isolation" })))
)
