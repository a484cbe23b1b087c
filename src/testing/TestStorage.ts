import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { randomBytes } from "node:crypto"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import pg from "pg"
import * as ClickHouseClient from "../clickhouse/ClickHouseClient.js"
import * as PostgresClient from "../sql/PostgresClient.js"
import * as RedisConfig from "../redis/RedisConfig.js"
import { type StorageError, StorageUnavailable } from "../StorageError.js"
import * as StorageConfig from "../StorageConfig.js"
import * as StorageProfile from "../StorageProfile.js"

/**
 * Storage layers for tests: each build is a private store, and everything it created is removed
 * when the layer's scope closes. Each provides the full services of a profile (`Storage`, the
 * writer), so a test reads `layer(TestStorage.fromEnv)("my service", (it) => { it.effect(...) })`.
 */
export type Services = StorageProfile.Services

/** Traces and cache in memory, metadata in SQLite `:memory:`: no file, no service. */
export const memory: Layer.Layer<Services, StorageError> = StorageProfile.memory

const unavailable = (message: string, cause?: unknown) =>
  new StorageUnavailable({ backend: "storage", operation: "TestStorage", message, ...(cause === undefined ? {} : { cause }) })

/** A temporary directory under the system's (or `TMPDIR`), removed when the scope closes. */
const temporaryDirectory = (prefix: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => mkdtemp(path.join(tmpdir(), prefix)),
      catch: (cause) => unavailable(`cannot create a temporary directory: ${String(cause)}`, cause)
    }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/**
 * The lite profile (embedded ClickHouse engine, SQLite file, in-process cache) in a temporary data
 * directory, removed when the scope closes. Needs the optional `chdb` package. One process may hold
 * one embedded engine directory at a time: give each test file its own layer, one after the other.
 */
export const lite: Layer.Layer<Services, StorageError> = Layer.unwrapScoped(
  Effect.map(temporaryDirectory("llmtrace-testkit-"), (dataDir) => StorageProfile.lite({ dataDir }))
)

export interface LiveOptions {
  /** How long each service may take to answer its probe. Default 5 s. */
  readonly probeTimeout?: Duration.DurationInput
}

/** A service the live layer needs, and what to tell a developer when it is not there. */
interface Service {
  readonly name: string
  readonly variable: string
  readonly address: string
  readonly howToStart: string
  readonly probe: () => Promise<unknown>
}

/** The one line that says what is missing, where it was looked for, and how to start it. */
const diagnose = (service: Service, reason: string) =>
  `${service.name} is not reachable at ${service.address} (${service.variable}; ${reason}): start it with ${service.howToStart}, or point ${service.variable} at a running server`

const probe = (service: Service, timeout: Duration.Duration) =>
  Effect.tryPromise({ try: service.probe, catch: (cause) => cause }).pipe(
    Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`no answer within ${Duration.format(timeout)}`) }),
    Effect.mapError((cause) => unavailable(diagnose(service, cause instanceof Error ? cause.message : String(cause)), cause))
  )

const postgresService = (url: Redacted.Redacted): Service => ({
  name: "PostgreSQL",
  variable: "LLMTRACE_POSTGRES_URL",
  address: PostgresClient.describe(url),
  howToStart: "`docker compose up -d --wait postgres` (its role needs CREATEDB)",
  probe: () => withPostgres(url, (c) => c.query("SELECT 1"))
})

const redisService = (url: Redacted.Redacted<string>): Service => ({
  name: "Redis",
  variable: "LLMTRACE_REDIS_URL",
  address: RedisConfig.address(url),
  howToStart: "`docker compose up -d redis` (or `redis-server --daemonize yes`)",
  probe: () => withRedis(url, (r) => r.ping())
})

const clickhouseService = (url: string): Service => ({
  name: "ClickHouse",
  variable: "LLMTRACE_CLICKHOUSE_URL",
  address: ClickHouseClient.redactUrl(url),
  howToStart: "`docker compose up -d clickhouse`",
  probe: async () => {
    const response = await fetch(new URL("/ping", url))
    if (!response.ok) throw new Error(`/ping answered ${response.status}`)
  }
})

const withPostgres = async <A>(url: Redacted.Redacted, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: Redacted.value(url), connectionTimeoutMillis: 5000 })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

const withRedis = async <A>(url: Redacted.Redacted<string>, f: (client: Redis) => Promise<A>): Promise<A> => {
  const client = new Redis(Redacted.value(url), { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await f(client)
  } finally {
    client.disconnect()
  }
}

/** Removes every key under `prefix` (SCAN + UNLINK). */
const dropPrefix = (url: Redacted.Redacted<string>, prefix: string) =>
  withRedis(url, async (client) => {
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`, "COUNT", 500)
      if (keys.length > 0) await client.unlink(...keys)
      cursor = next
    } while (cursor !== "0")
  })

const suffix = () => randomBytes(6).toString("hex")

/** A database on the server of `url`, created now and dropped (with its connections) when the scope closes. */
const scopedPostgresDatabase = (url: Redacted.Redacted) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const name = `llmtrace_testkit_${suffix()}`
        await withPostgres(url, (c) => c.query(`CREATE DATABASE ${name}`))
        const database = new URL(Redacted.value(url))
        database.pathname = `/${name}`
        return { name, url: Redacted.make(database.toString()) }
      },
      catch: (cause) => unavailable(`cannot create a test database on ${PostgresClient.describe(url)} (the role needs CREATEDB): ${String(cause)}`, cause)
    }),
    ({ name }) => Effect.promise(() => withPostgres(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined))
  )

/** A ClickHouse database on the server, dropped when the scope closes (the migrations create it). */
const scopedClickHouseDatabase = (options: ClickHouseClient.Options) =>
  Effect.gen(function*() {
    const database = `llmtrace_testkit_${suffix()}`
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
      const timeout = Duration.decode(options.probeTimeout ?? "5 seconds")
      const base = yield* StorageConfig.production
      // A server only where the variable names one: the configuration's default (localhost:8123) is not a request for it.
      const named = yield* Config.option(Config.string("LLMTRACE_CLICKHOUSE_URL"))
      const server = Option.filter(named, (url) => /^https?:\/\//.test(url))
      const redisUrl = Redacted.make(base.redis.url === undefined ? RedisConfig.defaults.url : typeof base.redis.url === "string" ? base.redis.url : Redacted.value(base.redis.url))
      yield* Effect.all(
        [
          probe(postgresService(base.postgres.url), timeout),
          probe(redisService(redisUrl), timeout),
          ...Option.toArray(Option.map(server, (url) => probe(clickhouseService(url), timeout)))
        ],
        { concurrency: "unbounded" }
      )
      const postgres = yield* scopedPostgresDatabase(base.postgres.url)
      // The embedded engine's data (when there is no server) and the writer's dead letters stay out of the working directory.
      const scratch = yield* temporaryDirectory("llmtrace-testkit-")
      const clickhouse: ClickHouseClient.Options = Option.isSome(server)
        ? { ...base.clickhouse, database: yield* scopedClickHouseDatabase(base.clickhouse) }
        : { ...base.clickhouse, url: Redacted.make(`chdb:${path.join(scratch, "clickhouse")}`), database: "llmtrace" }
      const prefix = `llmtrace-testkit:${suffix()}:`
      yield* Effect.addFinalizer(() => Effect.promise(() => dropPrefix(redisUrl, prefix).catch(() => undefined)))
      return StorageProfile.production({
        ...base,
        clickhouse,
        writer: { ...base.writer, deadLetterPath: path.join(scratch, "dead-letters.jsonl") },
        postgres: { ...base.postgres, url: postgres.url },
        redis: { ...base.redis, prefix },
        autoMigrate: true
      })
    })
  )

/** True where a live service is expected to run: `CI` set to anything but empty, `0` or `false`. */
const isCI = Config.string("CI").pipe(
  Config.map((ci) => ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"),
  Config.withDefault(false)
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
    const ci = yield* isCI
    return ci ? live() : live().pipe(
      Layer.catchAll((error) =>
        Layer.unwrapEffect(Effect.as(Effect.logWarning(`TestStorage.fromEnv runs on lite: ${error.message}`), lite))
      )
    )
  })
)
