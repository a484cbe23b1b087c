import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import * as CachedMetadataRepository from "./CachedMetadataRepository.js"
import * as ClickHouseClient from "./clickhouse/ClickHouseClient.js"
import * as ClickHouseTraceRepository from "./clickhouse/ClickHouseTraceRepository.js"
import * as TraceWriter from "./clickhouse/TraceWriter.js"
import * as MemoryCache from "./memory/MemoryCache.js"
import * as MemoryTraceRepository from "./memory/MemoryTraceRepository.js"
import * as RedisCache from "./redis/RedisCache.js"
import * as RedisConfig from "./redis/RedisConfig.js"
import * as PostgresClient from "./sql/PostgresClient.js"
import * as SqliteClient from "./sql/SqliteClient.js"
import * as SqlMetadataRepository from "./sql/SqlMetadataRepository.js"
import type * as Storage from "./Storage.js"
import * as StorageConfig from "./StorageConfig.js"
import * as StorageMigrations from "./StorageMigrations.js"
import { StorageUnavailable, type StorageError } from "./StorageError.js"

/** What every profile provides: the three services, and the buffered writer for bulk ingestion. */
export type Services = Storage.Storage | TraceWriter.TraceWriter | TraceWriter.TraceSink

/**
 * The memory profile: traces and cache in plain maps, metadata in SQLite `:memory:`. Nothing
 * outlives the layer's scope; every build is a fresh, private store (tests, examples, demos).
 */
export const memory: Layer.Layer<Services, StorageError> = Layer.mergeAll(
  TraceWriter.layerWith().pipe(Layer.provideMerge(TraceWriter.sinkFromRepository), Layer.provideMerge(MemoryTraceRepository.layer)),
  SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)),
  MemoryCache.layer
)

export interface LiteOptions {
  /** Holds `clickhouse/` (the embedded engine's data), `metadata.db` (SQLite) and `dead-letters.jsonl`. */
  readonly dataDir: string
  readonly autoMigrate?: boolean
  readonly writer?: Omit<TraceWriter.Options, "deadLetterPath">
  readonly tenantCache?: CachedMetadataRepository.Options
}

const ensureDir = (dir: string) =>
  Effect.try({
    try: () => mkdirSync(dir, { recursive: true }),
    catch: (cause) =>
      new StorageUnavailable({ backend: "storage", operation: "StorageProfile.lite", message: `cannot create the data directory ${dir}: ${String(cause)}` })
  })

/**
 * The lite profile, the embedded default: traces in the embedded ClickHouse engine under
 * `<dataDir>/clickhouse`, metadata in SQLite `<dataDir>/metadata.db`, an in-process cache, and
 * tenant-token lookups through it. Data survives a restart; one process may open a data directory at a time.
 */
export const lite = (options: LiteOptions): Layer.Layer<Services, StorageError> => {
  const clients = liteClients(options.dataDir)
  const autoMigrate = options.autoMigrate ?? true
  const traces = ClickHouseTraceRepository.layerWith({ autoMigrate }).pipe(Layer.provide(clients.clickhouse))
  const writer = TraceWriter.layerWith({ ...options.writer, deadLetterPath: clients.deadLetters })
  const metadata = CachedMetadataRepository.layer(options.tenantCache).pipe(
    Layer.provide(SqlMetadataRepository.layer({ autoMigrate }).pipe(Layer.provide(clients.sql)))
  )
  return Layer.unwrapEffect(
    Effect.as(
      ensureDir(clients.dir),
      Layer.mergeAll(writer.pipe(Layer.provideMerge(traces)), metadata.pipe(Layer.provideMerge(MemoryCache.layer)))
    )
  )
}

/** The dead-letter file of the profile named by the configuration. */
export const deadLetterPath: Config.Config<string> = Config.map(
  Config.all([StorageConfig.profile, StorageConfig.dataDir, TraceWriter.config]),
  ([profile, dir, writer]) =>
    profile === "lite" ? liteClients(dir).deadLetters : path.resolve(writer.deadLetterPath ?? TraceWriter.defaultDeadLetterPath)
)

/** Where the lite profile keeps each backend's data. */
const liteClients = (dataDir: string) => {
  const dir = path.resolve(dataDir)
  const clickhouseDir = path.join(dir, "clickhouse")
  const sqliteFile = path.join(dir, "metadata.db")
  return {
    dir,
    clickhouseDir,
    sqliteFile,
    clickhouse: ClickHouseClient.layerWith({ url: `chdb:${clickhouseDir}`, database: "llmtrace" }),
    sql: SqliteClient.layer(sqliteFile),
    deadLetters: path.join(dir, "dead-letters.jsonl")
  }
}

export interface ProductionOptions {
  readonly clickhouse: ClickHouseClient.Options
  readonly traces?: Omit<ClickHouseTraceRepository.Options, "autoMigrate">
  readonly writer?: TraceWriter.Options
  readonly postgres: PostgresClient.PostgresOptions
  readonly redis: RedisConfig.RedisOptions
  readonly autoMigrate?: boolean
  readonly tenantCache?: CachedMetadataRepository.Options
}

/** The production profile: a ClickHouse server, PostgreSQL and Redis, with tenant-token lookups through Redis. */
export const production = (options: ProductionOptions): Layer.Layer<Services, StorageError> => {
  const autoMigrate = options.autoMigrate ?? true
  const traces = ClickHouseTraceRepository.layerWith({ ...options.traces, autoMigrate }).pipe(
    Layer.provide(ClickHouseClient.layerWith(options.clickhouse))
  )
  const metadata = CachedMetadataRepository.layer(options.tenantCache).pipe(
    Layer.provide(SqlMetadataRepository.layer({ autoMigrate }).pipe(Layer.provide(PostgresClient.layer(options.postgres))))
  )
  return Layer.mergeAll(
    TraceWriter.layerWith(options.writer).pipe(Layer.provideMerge(traces)),
    metadata.pipe(Layer.provideMerge(RedisCache.layer(options.redis)))
  )
}

/** The lite profile from `LLMTRACE_DATA_DIR`, `LLMTRACE_AUTO_MIGRATE`, the writer's and the tenant cache's variables. */
export const liteConfig: Config.Config<LiteOptions> = Config.all({
  dataDir: StorageConfig.dataDir,
  autoMigrate: StorageConfig.autoMigrate,
  writer: TraceWriter.config,
  tenantCache: CachedMetadataRepository.config
})

/** The production profile from the environment: every `LLMTRACE_*` variable of `.env.example`. */
export const productionConfig: Config.Config<ProductionOptions> = Config.all({
  clickhouse: ClickHouseClient.config,
  traces: ClickHouseTraceRepository.config,
  writer: TraceWriter.config,
  postgres: PostgresClient.config,
  redis: RedisConfig.config,
  autoMigrate: StorageConfig.autoMigrate,
  tenantCache: CachedMetadataRepository.config
})

/** The profile named by `LLMTRACE_STORAGE_PROFILE` (default `lite`), built from the rest of the configuration. */
export const layer: Layer.Layer<Services, StorageError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    switch (yield* StorageConfig.profile) {
      case "memory":
        return memory
      case "lite":
        return lite(yield* liteConfig)
      case "production":
        return production(yield* productionConfig)
    }
  })
)

/**
 * The schema migrations of the profile named by the configuration, each on its own client and
 * without building any repository (so `migrate --dry-run` works on an unmigrated schema).
 */
export const migrations: Layer.Layer<StorageMigrations.StorageMigrations, StorageError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    switch (yield* StorageConfig.profile) {
      case "memory":
        return Layer.succeed(StorageMigrations.StorageMigrations, [])
      case "lite": {
        // Opened per call, and not at all while the data directory is missing: `migrate --dry-run` creates nothing.
        const clients = liteClients(yield* StorageConfig.dataDir)
        const open = <A, R>(migrations: Effect.Effect<A, StorageError, R>, client: Layer.Layer<R, StorageError>) =>
          Effect.zipRight(ensureDir(clients.dir), Effect.flatMap(Layer.build(client), (context) => Effect.provide(migrations, context)))
        return Layer.succeed(StorageMigrations.StorageMigrations, [
          StorageMigrations.onDemand(
            { backend: "clickhouse", target: StorageMigrations.clickhouseTarget(`chdb:${clients.clickhouseDir}`, "llmtrace"), path: clients.clickhouseDir },
            open(StorageMigrations.clickhouse({}), clients.clickhouse)
          ),
          StorageMigrations.onDemand({ backend: "sqlite", target: clients.sqliteFile, path: clients.sqliteFile }, open(StorageMigrations.sql, clients.sql))
        ])
      }
      case "production": {
        const options = yield* productionConfig
        return Layer.effect(StorageMigrations.StorageMigrations, Effect.all([StorageMigrations.clickhouse({ cluster: options.traces?.cluster, retentionDays: options.traces?.retentionDays }), StorageMigrations.sql])).pipe(
          Layer.provide(Layer.mergeAll(ClickHouseClient.layerWith(options.clickhouse), PostgresClient.layer(options.postgres)))
        )
      }
    }
  })
)
