import * as Layer from "effect/Layer"
import { ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"
import { hostileTraces } from "./hostileSuite.js"

// Every hostile string through @clickhouse/client's HTTP transport: URL-escaped `param_*` values,
// JSONEachRow insert bodies, gzip both ways, credentials; on the HTTP fixture over the embedded engine.
hostileTraces(
  "ClickHouse over HTTP (fixture)",
  ClickHouseTraceRepository.layer({}).pipe(Layer.provide(ClickHouseHttp.client("llmtrace_hostile")))
)
