import * as Layer from "effect/Layer"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { hostileTraces } from "./hostileSuite.js"
import { traceIsolation } from "./isolationSuite.js"
import { concurrentStores } from "./loadSuite.js"
import * as Redacted from "effect/Redacted"

// The embedded ClickHouse engine. Each suite opens its own temporary data directory and closes it
// before the next one opens (one chDB directory per process at a time).
const chdb = (database: string, options: ClickHouseTraceRepository.Options = {}) =>
  ClickHouseTraceRepository.layer(options).pipe(Layer.provide(ClickHouseClient.layer({ url: Redacted.make("chdb::memory:"), database })))

hostileTraces("ClickHouse (embedded chDB)", chdb("llmtrace_hostile"))
traceIsolation("ClickHouse (embedded chDB)", chdb("llmtrace_isolation"))
// The engine runs one statement at a time: 1000 concurrent calls (1500 inserts) queue for longer
// than the default 30 s per call, which is the wait for the engine, not a hang.
concurrentStores("ClickHouse (embedded chDB)", chdb("llmtrace_load", { timeout: "5 minutes" }))
