/**
 * llmtrace-storage: the typed storage layer of an LLM observability and security proxy.
 *
 * The core: domain schemas and errors, the services (ports), the buffered writer, and the profiles
 * with their configuration. It loads no database driver; each integration is its own entry
 * (`llmtrace-storage/clickhouse`, `/postgres`, `/sqlite`, `/redis`, `/memory`, `/otlp`), and a
 * driver is loaded when a layer that needs it is built.
 */
export * from "./domain/ApiKey.js"
export * from "./domain/Audit.js"
export * from "./domain/Ids.js"
export * from "./domain/Primitives.js"
export * from "./domain/Query.js"
export * from "./domain/Report.js"
export * as SpanFilters from "./domain/SpanFilters.js"
export * from "./domain/StorageSize.js"
export * from "./domain/Tenant.js"
export * from "./domain/Trace.js"
export * from "./domain/TraceSpanGuard.js"
export * from "./StorageError.js"

export * as Cache from "./Cache.js"
export * as MetadataRepository from "./MetadataRepository.js"
export * as TraceRepository from "./TraceRepository.js"
export * as TokenChanges from "./TokenChanges.js"
export * as TraceSink from "./TraceSink.js"
export * as Storage from "./Storage.js"
export * as CachedMetadataRepository from "./CachedMetadataRepository.js"
export * as TraceWriter from "./ingest/TraceWriter.js"

export * as StorageConfig from "./StorageConfig.js"
export * as StorageMigrations from "./StorageMigrations.js"
export * as StorageProfile from "./StorageProfile.js"
