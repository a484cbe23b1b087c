import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/index.js"
import { concurrentStores } from "./loadSuite.js"

concurrentStores(
  "ClickHouse (embedded chDB)",
  ClickHouseTraceRepository.layerWith({ timeout: "5 minutes" }).pipe(Layer.provide(ClickHouseClient.layerWith({ url: "chdb::memory:", database: "llmtrace_load" })))
)
