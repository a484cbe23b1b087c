import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import * as ClickHouseClient from "../clickhouse/ClickHouseClient.js"
import * as RedisConfig from "../redis/RedisConfig.js"
import type { StorageError } from "../StorageError.js"
import * as StorageConfig from "../StorageConfig.js"
import * as StorageProfile from "../StorageProfile.js"
import * as LiveService from "./LiveService.js"
import * as Namespaces from "./Namespaces.js"

/**
 * Storage layers for tests: each build is a private store, and everything it created is removed
 * when the layer's scope closes. Each provides the full services of a profile (`Storage`, the
 * writer), so a test reads `layer(TestStorage.fromEnv)("my service", (it) => { it.effect(...) })`.
 */
export type Services = StorageProfile.Services

/** Traces and cache in memory, metadata in SQLite `:memory:`: no file, no service. */
export const memory: Layer.Layer<Services, StorageError> = StorageProfile.memory

/**
 * The lite profile (embedded ClickHouse engine, SQLite file, in-process cache) in a temporary data
 * directory, removed when the scope closes. Needs the optional `chdb` package. One process may hold
 * one embedded engine directory at a time: give each test file its own layer, one after the other.
 */
export const lite: Layer.Layer<Services, StorageError> = Layer.unwrapScoped(
  Effect.map(Namespaces.temporaryDirectory(), (dataDir) => StorageProfile.lite({ dataDir }))
)

export interface LiveOptions {
  /** How long each service may take to answer its probe. Default 5 s. */
  readonly probeTimeout?: Duration.DurationInput
}

/**
 * A fresh PostgreSQL database on the server of `url` (its role needs CREATEDB), created now and
 * dropped with its connections when the scope closes: `{ name, url }`, for a test that builds its own layers.
 */
export const postgresDatabase = Namespaces.postgresDatabase

/** A fresh random Redis key prefix (`<label>:<random>:`); every key under it is removed when the scope closes. */
export const redisPrefix = Namespaces.redisPrefix

/** A temporary directory under the system's (or `TMPDIR`), removed with its contents when the scope closes. */
export const temporaryDirectory = Namespaces.temporaryDirectory

/** A ClickHouse database on the server, dropped when the scope closes (the migrations create it). */
const scopedClickHouseDatabase = (options: ClickHouseClient.Options) =>
  Effect.gen(function*() {
    const database = `llmtrace_testkit_${randomBytes(6).toString("hex")}`
    yield* Effect.addFinalizer(() =>
      Effect.scoped(Effect.flatMap(ClickHouseClient.make({ ...options, database, verify: false }), (ch) => ch.command("TestStorage.drop", `DROP DATABASE IF EXISTS ${database}`))).pipe(Effect.ignore)
    )
    return database
  })

/**
 * The production profile on live services named by the `LLMTRACE_*` variables, in namespaces of its own:
 * a fresh PostgreSQL database, a fresh ClickHouse database on the server (or a temporary embedded
 * directory when `LLMTRACE_CLICKHOUSE_URL` is unset or not `http(s)://`), a random Redis key prefix, dead letters
 * in a temporary directory; migrated
 * when built, everything dropped when the scope closes. A service that does not answer its probe
 * within the timeout fails the build with one line naming it, the variable and how to start it.
 */
export const live = (options: LiveOptions = {}): Layer.Layer<Services, StorageError | ConfigError.ConfigError> =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const timeout = options.probeTimeout ?? "5 seconds"
      const base = yield* StorageConfig.productionOwnDeadLetters
      // A server only where the variable names one: the configuration's default (localhost:8123) is not a request for it.
      const named = yield* Config.option(Config.string("LLMTRACE_CLICKHOUSE_URL"))
      const server = Option.filter(named, (url) => /^https?:\/\//.test(url))
      const redisUrl = Redacted.make(base.redis.url === undefined ? RedisConfig.defaults.url : typeof base.redis.url === "string" ? base.redis.url : Redacted.value(base.redis.url))
      yield* Effect.all(
        [
          LiveService.probe(LiveService.postgres(base.postgres.url), timeout),
          LiveService.probe(LiveService.redis(redisUrl), timeout),
          ...Option.toArray(Option.map(server, (url) => LiveService.probe(LiveService.clickhouse(url), timeout)))
        ],
        { concurrency: "unbounded" }
      )
      const postgres = yield* Namespaces.postgresDatabase(base.postgres.url)
      // The embedded engine's data (when there is no server) and the writer's dead letters stay out of the working directory.
      const scratch = yield* Namespaces.temporaryDirectory()
      const clickhouse: ClickHouseClient.Options = Option.isSome(server)
        ? { ...base.clickhouse, database: yield* scopedClickHouseDatabase(base.clickhouse) }
        : { ...base.clickhouse, url: Redacted.make(`chdb:${path.join(scratch, "clickhouse")}`), database: "llmtrace" }
      const prefix = yield* Namespaces.redisPrefix(redisUrl)
      return StorageProfile.production({
        ...base,
        clickhouse,
        writer: { ...base.writer, deadLetterPath: path.join(scratch, "dead-letters") },
        postgres: { ...base.postgres, url: postgres.url },
        redis: { ...base.redis, prefix },
        autoMigrate: true
      })
    })
  )

/**
 * {@link live} where `LLMTRACE_POSTGRES_URL` or `LLMTRACE_REDIS_URL` is set, {@link lite} otherwise.
 * Where a named service does not answer: under `CI=true` the build fails with one line naming it, the
 * variable and how to start it; elsewhere that line is logged as a warning and the tests run on `lite`.
 */
export const fromEnv: Layer.Layer<Services, StorageError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const postgres = yield* Config.option(Config.string("LLMTRACE_POSTGRES_URL"))
    const redis = yield* Config.option(Config.string("LLMTRACE_REDIS_URL"))
    if (Option.isNone(postgres) && Option.isNone(redis)) return lite
    const ci = yield* LiveService.isCI
    return ci ? live() : live().pipe(
      Layer.catchAll((error) =>
        Layer.unwrapEffect(Effect.as(Effect.logWarning(`TestStorage.fromEnv runs on lite: ${error.message}`), lite))
      )
    )
  })
)
