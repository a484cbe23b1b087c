/**
 * `llmtrace-storage/clickhouse`: traces in ClickHouse, a server over HTTP(S) or the embedded chDB
 * engine. Building a client loads `@clickhouse/client`, and chDB only for a `chdb:` URL.
 */
export * as ClickHouseClient from "./ClickHouseClient.js"
export * as ClickHouseTraceRepository from "./ClickHouseTraceRepository.js"
