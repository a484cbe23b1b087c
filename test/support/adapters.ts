import { CachedMetadataRepository, TraceWriter } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { SqliteClient } from "../../src/sqlite/index.js"
import { RedisCache, RedisClient, RedisTokenChanges } from "../../src/redis/index.js"
import { MemoryCache, MemoryTraceRepository } from "../../src/memory/index.js"

/** Every adapter module: each has make, layer, layerConfig, config and fields (test/types/LayerConvention.test.ts). */
export const adapters = {
  ClickHouseClient,
  ClickHouseTraceRepository,
  PostgresClient,
  SqliteClient,
  SqlMetadataRepository,
  RedisClient,
  RedisCache,
  RedisTokenChanges,
  CachedMetadataRepository,
  MemoryTraceRepository,
  MemoryCache,
  TraceWriter
}
