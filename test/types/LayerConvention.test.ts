import type * as SqlClient from "@effect/sql/SqlClient"
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as Sqlite from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import {
  Cache,
  CachedMetadataRepository,
  type InvalidInput,
  ClickHouseClient,
  ClickHouseTraceRepository,
  MemoryCache,
  MemoryTraceRepository,
  MetadataRepository,
  PostgresClient,
  RedisCache,
  RedisTokenChanges,
  RedisClient,
  SqliteClient,
  SqlMetadataRepository,
  type StorageError,
  type StorageQueryError,
  type StorageUnavailable,
  StorageProfile,
  TokenChanges,
  TraceRepository,
  TraceWriter
} from "../../src/index.js"
import type { TraceSink } from "../../src/ingest/TraceWriter.js"
import type * as FileSystem from "@effect/platform/FileSystem"
import { adapters } from "../support/adapters.js"

/**
 * The one shape of every adapter module, as Effect's own SQL clients have it: `make(options)`,
 * `layer(options)` (reads nothing), `layerConfig(config)` (the same layer, plus `ConfigError`),
 * and `config`, the default configuration. `Args` is `[options?: O]` where every option has a default.
 */
interface Convention<O, L, M, Args extends ReadonlyArray<unknown> = [options: O]> {
  readonly make: (...args: Args) => M
  readonly layer: (...args: Args) => L
  readonly layerConfig: (config: Config.Config.Wrap<O>) => WithConfigError<L>
  readonly config: Config.Config<O>
}

type WithConfigError<L> = L extends Layer.Layer<infer A, infer E, infer R> ? Layer.Layer<A, E | ConfigError.ConfigError, R> : never

/** The convention's part of a module, to compare with {@link Convention} exactly. */
type Trio<M extends Record<keyof Convention<never, unknown, unknown>, unknown>> = {
  readonly make: M["make"]
  readonly layer: M["layer"]
  readonly layerConfig: M["layerConfig"]
  readonly config: M["config"]
}

type Optional<O> = [options?: O]

/** What each adapter module must be. */
interface Expected {
  readonly ClickHouseClient: Convention<
    ClickHouseClient.Options,
    Layer.Layer<ClickHouseClient.ClickHouseClient, StorageUnavailable>,
    Effect.Effect<ClickHouseClient.ClickHouseClientShape, StorageUnavailable, Scope.Scope>
  >
  readonly ClickHouseTraceRepository: Convention<
    ClickHouseTraceRepository.Options,
    Layer.Layer<TraceRepository.TraceRepository | TraceSink, StorageError, ClickHouseClient.ClickHouseClient>,
    Effect.Effect<TraceRepository.TraceRepositoryShape, StorageError, ClickHouseClient.ClickHouseClient>,
    Optional<ClickHouseTraceRepository.Options>
  >
  readonly PostgresClient: Convention<
    PostgresClient.Options,
    Layer.Layer<SqlClient.SqlClient | PgClient.PgClient | PostgresClient.PgPool, StorageUnavailable>,
    Effect.Effect<PgClient.PgClient, StorageUnavailable, Scope.Scope>
  >
  readonly SqliteClient: Convention<
    SqliteClient.Options,
    Layer.Layer<SqlClient.SqlClient | Sqlite.SqliteClient, StorageUnavailable>,
    Effect.Effect<Sqlite.SqliteClient, StorageUnavailable, Scope.Scope>,
    Optional<SqliteClient.Options>
  >
  readonly SqlMetadataRepository: Convention<
    SqlMetadataRepository.Options,
    Layer.Layer<MetadataRepository.MetadataRepository, StorageUnavailable | StorageQueryError, SqlClient.SqlClient>,
    Effect.Effect<MetadataRepository.MetadataRepositoryShape, StorageUnavailable | StorageQueryError, SqlClient.SqlClient>,
    Optional<SqlMetadataRepository.Options>
  >
  readonly RedisClient: Convention<
    RedisClient.Options,
    Layer.Layer<RedisClient.RedisClient, StorageUnavailable | StorageQueryError>,
    Effect.Effect<RedisClient.RedisClientShape, StorageUnavailable | StorageQueryError, Scope.Scope>
  >
  readonly RedisCache: Convention<
    RedisCache.Options,
    Layer.Layer<Cache.Cache, StorageUnavailable | StorageQueryError>,
    Effect.Effect<Cache.CacheShape, StorageUnavailable | StorageQueryError, Scope.Scope>
  >
  readonly RedisTokenChanges: Convention<
    RedisTokenChanges.Options,
    Layer.Layer<TokenChanges.TokenChanges, StorageUnavailable | StorageQueryError>,
    Effect.Effect<TokenChanges.TokenChangesShape, StorageUnavailable | StorageQueryError, Scope.Scope>
  >
  readonly CachedMetadataRepository: Convention<
    CachedMetadataRepository.Options,
    Layer.Layer<MetadataRepository.MetadataRepository, never, MetadataRepository.MetadataRepository | Cache.Cache>,
    Effect.Effect<MetadataRepository.MetadataRepositoryShape, never, MetadataRepository.MetadataRepository | Cache.Cache | Scope.Scope>,
    Optional<CachedMetadataRepository.Options>
  >
  readonly MemoryTraceRepository: Convention<
    MemoryTraceRepository.Options,
    Layer.Layer<TraceRepository.TraceRepository | TraceSink, InvalidInput>,
    Effect.Effect<TraceRepository.TraceRepositoryShape, InvalidInput>,
    Optional<MemoryTraceRepository.Options>
  >
  readonly MemoryCache: Convention<
    MemoryCache.Options,
    Layer.Layer<Cache.Cache>,
    Effect.Effect<Cache.CacheShape & MemoryCache.Sized>,
    Optional<MemoryCache.Options>
  >
  readonly TraceWriter: Convention<
    TraceWriter.Options,
    Layer.Layer<TraceWriter.TraceWriter, InvalidInput, TraceSink | FileSystem.FileSystem>,
    Effect.Effect<TraceWriter.TraceWriterShape, InvalidInput, TraceSink | FileSystem.FileSystem | Scope.Scope>,
    Optional<TraceWriter.Options>
  >
}

describe("every adapter module has make, layer, layerConfig and config, with the same signatures", () => {
  it("pins each module's signatures (checked by tsc: `npm run typecheck`)", () => {
    expectTypeOf<{ readonly [K in keyof typeof adapters]: Trio<(typeof adapters)[K]> }>().toEqualTypeOf<Expected>()
    // RedisClient and RedisCache share one set of options: same names, same meaning.
    expectTypeOf<RedisCache.Options>().toEqualTypeOf<RedisClient.Options>()
  })

  it("pins the options every adapter shares: URLs are Redacted, connect timeouts one name, auto-migration one name", () => {
    expectTypeOf<ClickHouseClient.Options["url"]>().toEqualTypeOf<PostgresClient.Options["url"]>()
    expectTypeOf<RedisClient.Options["url"]>().toEqualTypeOf<PostgresClient.Options["url"]>()
    expectTypeOf<ClickHouseClient.Options["connectTimeout"]>().toEqualTypeOf<PostgresClient.Options["connectTimeout"]>()
    expectTypeOf<RedisClient.Options["connectTimeout"]>().toEqualTypeOf<PostgresClient.Options["connectTimeout"]>()
    expectTypeOf<ClickHouseTraceRepository.Options["autoMigrate"]>().toEqualTypeOf<SqlMetadataRepository.Options["autoMigrate"]>()
  })

  it("pins the profile: layer(options) reads nothing, layerConfig(config) reads the given configuration", () => {
    expectTypeOf(StorageProfile.layer).toEqualTypeOf<(options: StorageProfile.Options) => Layer.Layer<StorageProfile.Services, StorageError>>()
    expectTypeOf(StorageProfile.layerConfig).toEqualTypeOf<
      (config: Effect.Effect<StorageProfile.Options, ConfigError.ConfigError>) => Layer.Layer<StorageProfile.Services, StorageError | ConfigError.ConfigError>
    >()
    expectTypeOf(StorageProfile.config).toEqualTypeOf<Effect.Effect<StorageProfile.Options, ConfigError.ConfigError>>()
  })

  it.effect("layerConfig takes a Config.Wrap: the options under the caller's own names", () =>
    Effect.gen(function*() {
      const file = path.join(mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-wrap-")), "named-by-caller.db")
      const provider = ConfigProvider.fromMap(new Map([["MY_METADATA_FILE", file]]))
      yield* Effect.scoped(Layer.build(SqliteClient.layerConfig({ filename: Config.string("MY_METADATA_FILE") }))).pipe(Effect.withConfigProvider(provider))
      expect(existsSync(file)).toBe(true)
    }))

  // The same, at run time: the kinds (function or value) every module exports, and no `layerWith`.
  for (const [name, module] of Object.entries(adapters)) {
    it(`${name}: make, layer and layerConfig are functions, config a Config, fields one Config per option; no layerWith`, () => {
      expect([typeof module.make, typeof module.layer, typeof module.layerConfig]).toEqual(["function", "function", "function"])
      expect(Config.isConfig(module.config)).toBe(true)
      expect(Object.values(module.fields).every(Config.isConfig)).toBe(true)
      expect(Object.keys(module)).not.toContain("layerWith")
    })
  }
})
