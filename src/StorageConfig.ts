import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as path from "node:path"
import * as CachedMetadataRepository from "./CachedMetadataRepository.js"
import * as ClickHouseClient from "./clickhouse/ClickHouseClient.js"
import * as ClickHouseTraceRepository from "./clickhouse/ClickHouseTraceRepository.js"
import * as TraceWriter from "./ingest/TraceWriter.js"
import * as ConfigFields from "./ConfigFields.js"
import * as RedisConfig from "./redis/RedisConfig.js"
import * as PostgresClient from "./sql/PostgresClient.js"

/**
 * A profile's configuration, one concept: what each profile's options are, and where they come
 * from. Every `LLMTRACE_*` variable is named here and nowhere else. Each adapter describes its
 * options as unnamed `fields` (type, check, default); this module gives them the variables' names
 * and builds each profile's options (`.env.example` lists the same names, and a test keeps the two
 * in sync). `StorageProfile` builds the layers from these options (and re-exports their types).
 */

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
  readonly redis: RedisConfig.RedisOptions
  /** Run pending migrations when the layer is built. Default false: production migrates with `llmtrace-storage migrate`, a job before a deploy. */
  readonly autoMigrate?: boolean | undefined
  readonly tenantCache?: CachedMetadataRepository.Options
}

/** A profile and its options: what `StorageProfile.layer` builds. */
export type Options =
  | { readonly profile: "memory" }
  | ({ readonly profile: "lite" } & LiteOptions)
  | ({ readonly profile: "production" } & ProductionOptions)

export const Profiles = ["memory", "lite", "production"] as const
export type Profile = (typeof Profiles)[number]

/** `LLMTRACE_STORAGE_PROFILE`: which composite to build (default `lite`, the embedded one). */
export const profile: Config.Config<Profile> = Config.literal(...Profiles)("LLMTRACE_STORAGE_PROFILE").pipe(
  Config.withDefault("lite" as const)
)

/** `LLMTRACE_DATA_DIR`: where the lite profile keeps `clickhouse/` and `metadata.db` (default `./.llmtrace`). */
export const dataDir: Config.Config<string> = Config.string("LLMTRACE_DATA_DIR").pipe(
  Config.withDefault("./.llmtrace"),
  Config.map((dir) => path.resolve(dir))
)

/**
 * `LLMTRACE_AUTO_MIGRATE`: run pending migrations when a layer is built, for every backend. Unset, the
 * profile decides: on for lite and memory, off for production (which migrates with `llmtrace-storage migrate`).
 */
export const autoMigrate: Config.Config<boolean | undefined> = Config.string("LLMTRACE_AUTO_MIGRATE").pipe(
  // Empty means unset, so `.env.example` can list the variable without choosing for every profile.
  Config.validate({ message: "must be true, false or empty (the profile's default)", validation: (s) => /^(true|false|)$/i.test(s.trim()) }),
  Config.withDefault(""),
  Config.map((s) => (s.trim() === "" ? undefined : s.trim().toLowerCase() === "true"))
)

/** `LLMTRACE_CLICKHOUSE_RETENTION_DAYS`: the tables' TTL (empty: keep), in every ClickHouse profile. */
export const retentionDays: Config.Config<number | undefined> = Config.nested(
  ClickHouseTraceRepository.fields.retentionDays,
  "LLMTRACE_CLICKHOUSE_RETENTION_DAYS"
)

/** `LLMTRACE_CLICKHOUSE_*`: the ClickHouse client of the production profile. */
export const clickhouse: Config.Config<ClickHouseClient.Options> = ConfigFields.named(ClickHouseClient.fields, {
  url: "LLMTRACE_CLICKHOUSE_URL",
  database: "LLMTRACE_CLICKHOUSE_DATABASE",
  username: "LLMTRACE_CLICKHOUSE_USER",
  password: "LLMTRACE_CLICKHOUSE_PASSWORD",
  requestTimeout: "LLMTRACE_CLICKHOUSE_REQUEST_TIMEOUT",
  connectTimeout: "LLMTRACE_CLICKHOUSE_CONNECT_TIMEOUT",
  compression: "LLMTRACE_CLICKHOUSE_COMPRESSION"
})

/** The trace repository on ClickHouse (its `autoMigrate` is {@link autoMigrate}, shared with the metadata). */
export const traces: Config.Config<Omit<ClickHouseTraceRepository.Options, "autoMigrate">> = ConfigFields.named(
  ClickHouseTraceRepository.fields,
  {
    timeout: "LLMTRACE_CLICKHOUSE_QUERY_TIMEOUT",
    retentionDays: "LLMTRACE_CLICKHOUSE_RETENTION_DAYS",
    cluster: "LLMTRACE_CLICKHOUSE_CLUSTER"
  }
)

const writerNames = {
  batchSize: "LLMTRACE_TRACE_WRITER_BATCH_SIZE",
  flushInterval: "LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL",
  capacity: "LLMTRACE_TRACE_WRITER_CAPACITY",
  maxBufferBytes: "LLMTRACE_TRACE_WRITER_MAX_BUFFER_BYTES",
  maxRetries: "LLMTRACE_TRACE_WRITER_MAX_RETRIES",
  deadLetterPath: "LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH",
  replayOnStart: "LLMTRACE_TRACE_WRITER_REPLAY_ON_START",
  maxLineBytes: "LLMTRACE_TRACE_WRITER_MAX_LINE_BYTES",
  validate: "LLMTRACE_TRACE_WRITER_VALIDATE",
  flushTimeout: "LLMTRACE_TRACE_WRITER_FLUSH_TIMEOUT"
} as const

/**
 * `LLMTRACE_TRACE_WRITER_*`: the buffered writer of both ClickHouse profiles. Its dead-letter
 * directory is read here, but only the production profile uses it (lite derives its own from the data directory).
 */
export const writer: Config.Config<TraceWriter.Options> = TraceWriter.checkOptions(ConfigFields.named(TraceWriter.fields, writerNames), writerNames)

/**
 * The production profile's writer: `LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH` is required (several
 * hosts or containers must not share a default by accident), and made absolute once, here.
 */
export const productionWriter: Config.Config<TraceWriter.Options> = Config.mapOrFail(writer, (o) =>
  o.deadLetterPath === undefined || o.deadLetterPath.trim() === ""
    ? Either.left(ConfigError.MissingData([writerNames.deadLetterPath], "the production profile needs a dead-letter directory (an absolute path, e.g. /var/lib/llmtrace/dead-letters)"))
    : Either.right({ ...o, deadLetterPath: path.resolve(o.deadLetterPath) }))

/** `LLMTRACE_POSTGRES_*`: the metadata database of the production profile. */
export const postgres: Config.Config<PostgresClient.Options> = ConfigFields.named(PostgresClient.fields, {
  url: "LLMTRACE_POSTGRES_URL",
  maxConnections: "LLMTRACE_POSTGRES_POOL_SIZE",
  connectTimeout: "LLMTRACE_POSTGRES_CONNECT_TIMEOUT",
  idleTimeout: "LLMTRACE_POSTGRES_IDLE_TIMEOUT",
  statementTimeout: "LLMTRACE_POSTGRES_STATEMENT_TIMEOUT",
  pooler: "LLMTRACE_POSTGRES_POOLER",
  caFile: "LLMTRACE_POSTGRES_CA_FILE"
})

/** `LLMTRACE_REDIS_*` and `LLMTRACE_CACHE_PREFIX`: the cache of the production profile. */
export const redis: Config.Config<RedisConfig.RedisOptions> = ConfigFields.named(RedisConfig.fields, {
  url: "LLMTRACE_REDIS_URL",
  prefix: "LLMTRACE_CACHE_PREFIX",
  connectTimeout: "LLMTRACE_REDIS_CONNECT_TIMEOUT",
  commandTimeout: "LLMTRACE_REDIS_COMMAND_TIMEOUT",
  reconnectMaxDelay: "LLMTRACE_REDIS_RECONNECT_MAX_DELAY",
  shutdownTimeout: "LLMTRACE_REDIS_SHUTDOWN_TIMEOUT",
  clusterNodes: "LLMTRACE_REDIS_CLUSTER_NODES",
  autoPipelining: "LLMTRACE_REDIS_AUTO_PIPELINING",
  caFile: "LLMTRACE_REDIS_CA_FILE",
  clusterNodeTimeout: "LLMTRACE_REDIS_CLUSTER_NODE_TIMEOUT",
  clusterSlotsRefreshInterval: "LLMTRACE_REDIS_CLUSTER_SLOTS_REFRESH_INTERVAL",
  clusterRetryDelay: "LLMTRACE_REDIS_CLUSTER_RETRY_DELAY",
  clusterMaxRedirections: "LLMTRACE_REDIS_CLUSTER_MAX_REDIRECTIONS"
})

/** `LLMTRACE_TENANT_*`: the cached tenant-token lookups of the lite and production profiles. */
export const tenantCache: Config.Config<CachedMetadataRepository.Options> = ConfigFields.named(CachedMetadataRepository.fields, {
  hitTtl: "LLMTRACE_TENANT_CACHE_TTL",
  missTtl: "LLMTRACE_TENANT_MISS_TTL",
  changeTtl: "LLMTRACE_TENANT_CHANGE_TTL",
  localMaxEntries: "LLMTRACE_TENANT_LOCAL_MAX_ENTRIES",
  localTtl: "LLMTRACE_TENANT_LOCAL_TTL",
  markTimeout: "LLMTRACE_TENANT_MARK_TIMEOUT"
})

/** The lite profile's options. */
export const lite: Config.Config<LiteOptions> = Config.all({ dataDir, autoMigrate, retentionDays, writer, tenantCache })

/**
 * The production profile's options where the caller supplies the dead-letter directory itself
 * (the test kit's scratch directory): the writer's other options, unchecked for the directory.
 */
export const productionOwnDeadLetters: Config.Config<ProductionOptions> = Config.all({
  clickhouse,
  traces,
  writer,
  postgres,
  redis,
  autoMigrate,
  tenantCache
})

/** The production profile's options. */
export const production: Config.Config<ProductionOptions> = Config.all({
  clickhouse,
  traces,
  writer: productionWriter,
  postgres,
  redis,
  autoMigrate,
  tenantCache
})

/** The options of one profile, read from the rest of the configuration. */
export const forProfile = (selected: Profile): Config.Config<Options> => {
  switch (selected) {
    case "memory":
      return Config.succeed({ profile: selected })
    case "lite":
      return Config.map(lite, (options) => ({ profile: selected, ...options }))
    case "production":
      return Config.map(production, (options) => ({ profile: selected, ...options }))
  }
}

/**
 * The profile named by `LLMTRACE_STORAGE_PROFILE` (default `lite`) with its options, what
 * `StorageProfile.config` is. An `Effect` rather than a `Config`: which variables to read depends
 * on the profile's value, and a `Config` cannot branch on a value it read.
 */
export const config: Effect.Effect<Options, ConfigError.ConfigError> = Effect.flatMap(profile, forProfile)
