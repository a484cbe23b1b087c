/**
 * llmtrace-storage: the typed storage layer of an LLM observability and security proxy.
 * Services (ports), domain schemas and errors, and each backend's layers (adapters).
 */
export * from "./domain/ApiKey.js"
export * from "./domain/Audit.js"
export * from "./domain/Ids.js"
export * from "./domain/Primitives.js"
export * from "./domain/Query.js"
export * from "./domain/Report.js"
export * from "./domain/Tenant.js"
export * from "./domain/Trace.js"
export * from "./StorageError.js"

export * as Cache from "./Cache.js"
export * as ConfigFields from "./ConfigFields.js"
export * as MetadataRepository from "./MetadataRepository.js"
export * as Storage from "./Storage.js"
export * as StorageConfig from "./StorageConfig.js"
export * as StorageMigrations from "./StorageMigrations.js"
export * as StorageProfile from "./StorageProfile.js"
export * as TraceRepository from "./TraceRepository.js"

export * as MemoryCache from "./memory/MemoryCache.js"
export * as MemoryTraceRepository from "./memory/MemoryTraceRepository.js"
export * as PostgresClient from "./sql/PostgresClient.js"
export * as SqliteClient from "./sql/SqliteClient.js"
export * as SqlMetadataRepository from "./sql/SqlMetadataRepository.js"
export * as SqlMigrations from "./sql/Migrations.js"

export * as CachedMetadataRepository from "./CachedMetadataRepository.js"
export * as RedisCache from "./redis/RedisCache.js"
export * as RedisClient from "./redis/RedisClient.js"
export * as RedisConfig from "./redis/RedisConfig.js"
export * as ClickHouseClient from "./clickhouse/ClickHouseClient.js"
export * as ClickHouseMigrations from "./clickhouse/ClickHouseMigrations.js"
export * as ClickHouseTraceRepository from "./clickhouse/ClickHouseTraceRepository.js"
export * as DeadLetters from "./clickhouse/DeadLetters.js"
export * as TraceWriter from "./clickhouse/TraceWriter.js"
