import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/index.js"
import { hostileTraces } from "./hostileSuite.js"

// The embedded ClickHouse engine: one temporary data directory for this file, closed with the layer.
hostileTraces(
  "ClickHouse (embedded chDB)",
  ClickHouseTraceRepository.layerWith().pipe(Layer.provide(ClickHouseClient.layerWith({ url: "chdb::memory:", database: "llmtrace_hostile" })))
)
