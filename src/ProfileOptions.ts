import type * as CachedMetadataRepository from "./CachedMetadataRepository.js"
import type * as ClickHouseClient from "./clickhouse/ClickHouseClient.js"
import type * as ClickHouseTraceRepository from "./clickhouse/ClickHouseTraceRepository.js"
import type * as TraceWriter from "./ingest/TraceWriter.js"
import type * as RedisCache from "./redis/RedisCache.js"
import type * as PostgresClient from "./postgres/PostgresClient.js"

// The options of each profile, apart from the layers that build them: `StorageConfig` reads them
// from the environment and `StorageProfile` builds them, and neither needs the other for it.

export interface LiteOptions {
  /** Holds `clickhouse/` (the embedded engine's data), `metadata.db` (SQLite) and `dead-letters.jsonl`. */
  readonly dataDir: string
  /** Run pending migrations when the layer is built. Default true (lite is for one process: nobody else migrates it). */
  readonly autoMigrate?: boolean | undefined
  /** Drop spans and traces older than this many days (the tables' TTL, set when they are created or by `migrate`). */
  readonly retentionDays?: number | undefined
  readonly writer?: Omit<TraceWriter.Options, "deadLetterPath">
  readonly tenantCache?: CachedMetadataRepository.Options
}

export interface ProductionOptions {
  readonly clickhouse: ClickHouseClient.Options
  readonly traces?: Omit<ClickHouseTraceRepository.Options, "autoMigrate">
  readonly writer?: TraceWriter.Options
  readonly postgres: PostgresClient.Options
  readonly redis: RedisCache.Options
  /** Run pending migrations when the layer is built. Default false: production migrates with `llmtrace-storage migrate`, a job before a deploy. */
  readonly autoMigrate?: boolean | undefined
  readonly tenantCache?: CachedMetadataRepository.Options
}

/** A profile and its options: what {@link layer} builds. */
export type Options =
  | { readonly profile: "memory" }
  | ({ readonly profile: "lite" } & LiteOptions)
  | ({ readonly profile: "production" } & ProductionOptions)
