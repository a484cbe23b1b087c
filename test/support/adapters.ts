import {
  CachedMetadataRepository,
  ClickHouseClient,
  ClickHouseTraceRepository,
  MemoryCache,
  MemoryTraceRepository,
  PostgresClient,
  RedisCache,
  RedisClient,
  RedisTokenChanges,
  SqliteClient,
  SqlMetadataRepository,
  TraceWriter
} from "../../src/index.js"

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
