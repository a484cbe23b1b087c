import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import * as CachedMetadataRepository from "./CachedMetadataRepository.js"
import * as ClickHouseClient from "./clickhouse/ClickHouseClient.js"
import * as DataDirectory from "./DataDirectory.js"
import * as ClickHouseTraceRepository from "./clickhouse/ClickHouseTraceRepository.js"
import * as TraceWriter from "./ingest/TraceWriter.js"
import * as MemoryCache from "./memory/MemoryCache.js"
import * as MemoryFileSystem from "./memory/MemoryFileSystem.js"
import * as MemoryTraceRepository from "./memory/MemoryTraceRepository.js"
import * as RedisCache from "./redis/RedisCache.js"
import * as RedisClient from "./redis/RedisClient.js"
import * as RedisTokenChanges from "./redis/RedisTokenChanges.js"
import * as PostgresClient from "./sql/PostgresClient.js"
import * as SqliteClient from "./sql/SqliteClient.js"
import * as SqlMetadataRepository from "./sql/SqlMetadataRepository.js"
import type * as Storage from "./Storage.js"
import * as StorageConfig from "./StorageConfig.js"
import * as StorageMigrations from "./StorageMigrations.js"
import * as TokenChanges from "./TokenChanges.js"
import { StorageUnavailable, type StorageError } from "./StorageError.js"
import type { LiteOptions, Options, ProductionOptions } from "./StorageConfig.js"
import * as Context from "effect/Context"
import type * as Scope from "effect/Scope"
import * as Cache from "./Cache.js"
import * as MetadataRepository from "./MetadataRepository.js"
import * as TraceRepository from "./TraceRepository.js"

/** Each profile's options, defined with the configuration that reads them (`StorageConfig`). */
export type { LiteOptions, Options, ProductionOptions } from "./StorageConfig.js"

/** What every profile provides: the three services, and the buffered writer for bulk ingestion. */
export type Services = Storage.Storage | TraceWriter.TraceWriter | TraceWriter.TraceSink

/** The memory profile's dead-letter directory, on its own in-memory file system (never the host's). */
const memoryDeadLetterPath = "/dead-letters"

/**
 * The memory profile: traces and cache in plain maps, metadata in SQLite `:memory:`, the writer's
 * dead letters on a private in-memory file system (MemoryFileSystem). Nothing outlives the
 * layer's scope and no file is touched; every build is a fresh, private store (tests, examples, demos).
 */
export const memory: Layer.Layer<Services, StorageError> = Layer.mergeAll(
  TraceWriter.layer({ deadLetterPath: memoryDeadLetterPath }).pipe(
    Layer.provideMerge(MemoryTraceRepository.layer()),
    Layer.provide(MemoryFileSystem.layer)
  ),
  SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)),
  MemoryCache.layer()
)

const ensureDir = (dir: string) =>
  Effect.try({
    try: () => DataDirectory.make(dir),
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
  const traces = ClickHouseTraceRepository.layer({ autoMigrate, retentionDays: options.retentionDays }).pipe(Layer.provide(clients.clickhouse))
  const writer = TraceWriter.layer({ ...options.writer, deadLetterPath: clients.deadLetters }).pipe(Layer.provide(NodeFileSystem.layer))
  const metadata = CachedMetadataRepository.layer(options.tenantCache).pipe(
    Layer.provide(SqlMetadataRepository.layer({ autoMigrate }).pipe(Layer.provide(clients.sql)))
  )
  return Layer.unwrapEffect(
    Effect.as(
      ensureDir(clients.dir),
      Layer.mergeAll(
        writer.pipe(Layer.provideMerge(traces)),
        metadata.pipe(Layer.provide(TokenChanges.layerLocal), Layer.provideMerge(MemoryCache.layer()))
      )
    )
  )
}

/**
 * The dead-letter directory of a profile: under the data directory (lite), the one configured
 * (production; required), or none on the host (memory: in memory).
 */
export const deadLetterPath = (options: Options): string | undefined => {
  switch (options.profile) {
    case "memory":
      return undefined
    case "lite":
      return liteClients(options.dataDir).deadLetters
    case "production":
      return options.writer?.deadLetterPath === undefined ? undefined : path.resolve(options.writer.deadLetterPath)
  }
}

/** Where the lite profile keeps each backend's data. */
const liteClients = (dataDir: string) => {
  const dir = path.resolve(dataDir)
  const clickhouseDir = path.join(dir, "clickhouse")
  const sqliteFile = path.join(dir, "metadata.db")
  return {
    dir,
    clickhouseDir,
    sqliteFile,
    clickhouse: ClickHouseClient.layer({ url: Redacted.make(`chdb:${clickhouseDir}`), database: "llmtrace" }),
    sql: SqliteClient.layer({ filename: sqliteFile }),
    deadLetters: path.join(dir, "dead-letters")
  }
}

/** The production profile: a ClickHouse server, PostgreSQL and Redis, with tenant-token lookups through Redis. */
export const production = (options: ProductionOptions): Layer.Layer<Services, StorageError> => {
  const autoMigrate = options.autoMigrate ?? false
  const traces = ClickHouseTraceRepository.layer({ ...options.traces, autoMigrate }).pipe(
    Layer.provide(ClickHouseClient.layer(options.clickhouse))
  )
  const metadata = CachedMetadataRepository.layer(options.tenantCache).pipe(
    Layer.provide(SqlMetadataRepository.layer({ autoMigrate }).pipe(Layer.provide(PostgresClient.layer(options.postgres))))
  )
  return Layer.mergeAll(
    TraceWriter.layer(options.writer).pipe(Layer.provideMerge(traces), Layer.provide(NodeFileSystem.layer)),
    // One Redis client for the cache and the publishing side of token changes (the subscriber has its own connection).
    metadata.pipe(
      Layer.provideMerge(RedisCache.layerFromClient),
      Layer.provide(RedisTokenChanges.layerFromClient),
      Layer.provide(RedisClient.layer(options.redis))
    )
  )
}

/** The profile the options name; reads no configuration. */
export const layer = (options: Options): Layer.Layer<Services, StorageError> => {
  switch (options.profile) {
    case "memory":
      return memory
    case "lite":
      return lite(options)
    case "production":
      return production(options)
  }
}

/** The profile named by a configuration (a `Config`, or an `Effect` reading one such as {@link config}). */
export const layerConfig = (config: Effect.Effect<Options, ConfigError.ConfigError>): Layer.Layer<Services, StorageError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))

/**
 * The default configuration: the profile named by `LLMTRACE_STORAGE_PROFILE` (default `lite`) and its
 * options from the other `LLMTRACE_*` variables (named in `StorageConfig`, listed in `.env.example`).
 */
export const config: Effect.Effect<Options, ConfigError.ConfigError> = StorageConfig.config

/**
 * The schema migrations of a profile, each on its own client and without building any repository
 * (so `migrate --dry-run` works on an unmigrated schema).
 */
export const migrations = (options: Options): Layer.Layer<StorageMigrations.StorageMigrations, StorageError> => {
  switch (options.profile) {
    case "memory":
      return Layer.succeed(StorageMigrations.StorageMigrations, [])
    case "lite": {
      // Opened per call, and not at all while the data directory is missing: `migrate --dry-run` creates nothing.
      const clients = liteClients(options.dataDir)
      const open = <A, R>(migrations: Effect.Effect<A, StorageError, R>, client: Layer.Layer<R, StorageError>) =>
        Effect.zipRight(ensureDir(clients.dir), Effect.flatMap(Layer.build(client), (context) => Effect.provide(migrations, context)))
      return Layer.succeed(StorageMigrations.StorageMigrations, [
        StorageMigrations.onDemand(
          { backend: "clickhouse", target: StorageMigrations.clickhouseTarget(`chdb:${clients.clickhouseDir}`, "llmtrace"), path: clients.clickhouseDir },
          open(StorageMigrations.clickhouse({ retentionDays: options.retentionDays }), clients.clickhouse)
        ),
        StorageMigrations.onDemand({ backend: "sqlite", target: clients.sqliteFile, path: clients.sqliteFile }, open(StorageMigrations.sql, clients.sql))
      ])
    }
    case "production":
      return Layer.effect(StorageMigrations.StorageMigrations, Effect.all([StorageMigrations.clickhouse({ cluster: options.traces?.cluster, retentionDays: options.traces?.retentionDays }), StorageMigrations.sql])).pipe(
        Layer.provide(Layer.mergeAll(ClickHouseClient.layer(options.clickhouse), PostgresClient.layer(options.postgres)))
      )
  }
}

/** One service of a profile, opened on its own by {@link probes}. */
export interface ServiceProbe {
  readonly service: Storage.BackendHealth["service"]
  /** The engine behind it: `clickhouse`, `postgres`, `sqlite`, `redis` or `memory`. */
  readonly backend: string
  /**
   * Opens the service's backend alone, neither migrating nor checking its schema: its health check,
   * and its schema's status where it keeps one.
   */
  readonly open: Effect.Effect<
    { readonly healthCheck: Effect.Effect<void, StorageError>; readonly schema?: Effect.Effect<StorageMigrations.MigrationStatus, StorageError> },
    StorageError,
    Scope.Scope
  >
}

const openTraces = (client: Layer.Layer<ClickHouseClient.ClickHouseClient, StorageError>, schema: { retentionDays?: number | undefined; cluster?: string | undefined }) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(ClickHouseTraceRepository.layer({ ...schema, skipSchemaCheck: true }).pipe(Layer.provideMerge(client)))
    const migrations = yield* Effect.provide(StorageMigrations.clickhouse(schema), context)
    return { healthCheck: Context.get(context, TraceRepository.TraceRepository).healthCheck(), schema: migrations.status }
  })

const openMetadata = <R>(client: Layer.Layer<R, StorageError>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(SqlMetadataRepository.layer({ skipSchemaCheck: true }).pipe(Layer.provideMerge(client)))
    const migrations = yield* Effect.provide(StorageMigrations.sql, context)
    return { healthCheck: Context.get(context, MetadataRepository.MetadataRepository).healthCheck(), schema: migrations.status }
  })

const openCache = (cache: Layer.Layer<Cache.Cache, StorageError>) =>
  Effect.map(Layer.build(cache), (context) => ({ healthCheck: Context.get(context, Cache.Cache).healthCheck() }))

/**
 * Each service of a profile on its own, for a health check that reports every backend (one that is
 * down does not hide the others) and writes no schema.
 */
export const probes = (options: Options): ReadonlyArray<ServiceProbe> => {
  switch (options.profile) {
    case "memory":
      return [
        { service: "traces", backend: "memory", open: Effect.map(Layer.build(MemoryTraceRepository.layer()), (c) => ({ healthCheck: Context.get(c, TraceRepository.TraceRepository).healthCheck() })) },
        { service: "metadata", backend: "sqlite", open: Effect.map(Layer.build(SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory))), (c) => ({ healthCheck: Context.get(c, MetadataRepository.MetadataRepository).healthCheck() })) },
        { service: "cache", backend: "memory", open: openCache(MemoryCache.layer()) }
      ]
    case "lite": {
      const clients = liteClients(options.dataDir)
      const inDir = <A, E, R>(open: Effect.Effect<A, E, R>) => Effect.zipRight(ensureDir(clients.dir), open)
      return [
        { service: "traces", backend: "clickhouse", open: inDir(openTraces(clients.clickhouse, { retentionDays: options.retentionDays })) },
        { service: "metadata", backend: "sqlite", open: inDir(openMetadata(clients.sql)) },
        { service: "cache", backend: "memory", open: openCache(MemoryCache.layer()) }
      ]
    }
    case "production":
      return [
        { service: "traces", backend: "clickhouse", open: openTraces(ClickHouseClient.layer(options.clickhouse), { retentionDays: options.traces?.retentionDays, cluster: options.traces?.cluster }) },
        { service: "metadata", backend: "postgres", open: openMetadata(PostgresClient.layer(options.postgres)) },
        { service: "cache", backend: "redis", open: openCache(RedisCache.layer(options.redis)) }
      ]
  }
}
