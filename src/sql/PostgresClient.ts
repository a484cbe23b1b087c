import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import pg from "pg"
import * as ConfigFields from "../ConfigFields.js"
import { StorageUnavailable } from "../StorageError.js"

export interface Options {
  /** `postgres://user:password@host:port/database`; kept `Redacted` so it never reaches a log. */
  readonly url: Redacted.Redacted
  readonly maxConnections?: number
  readonly connectTimeout?: Duration.DurationInput
  readonly idleTimeout?: Duration.DurationInput
  /** Server-side bound of one statement (`statement_timeout`): work stops on the server, not just in the client. */
  readonly statementTimeout?: Duration.DurationInput
}

/** `host:port/database` of a URL, for messages: never the user's password. */
export const describe = (url: Redacted.Redacted): string => {
  try {
    const u = new URL(Redacted.value(url))
    return `${u.hostname}:${u.port || "5432"}${u.pathname || "/"}`
  } catch {
    return "<unparseable PostgreSQL URL>"
  }
}

/**
 * The URL with the statement bounds every pooled connection gets: `statement_timeout` stops the
 * work on the server; the driver's `query_timeout`, a second later, fails a call whose server or
 * network went silent. With the pool's `connectTimeout` on acquiring a connection, every call is
 * bounded by the driver itself.
 */
const withStatementTimeout = (url: Redacted.Redacted, timeout: Duration.Duration): Redacted.Redacted => {
  const u = new URL(Redacted.value(url))
  const ms = Duration.toMillis(timeout)
  u.searchParams.set("options", `${u.searchParams.get("options") ?? ""} -c statement_timeout=${ms}`.trim())
  u.searchParams.set("query_timeout", String(ms + 1000))
  return Redacted.make(u.toString())
}

/** The driver's reason without anything of the URL's credentials. */
const reasonOf = (cause: unknown, url: Redacted.Redacted): string => {
  const error = (cause as { cause?: unknown })?.cause ?? cause
  const text = error instanceof Error ? error.message : String(error)
  let password = ""
  try {
    password = decodeURIComponent(new URL(Redacted.value(url)).password)
  } catch {
    // an unparseable URL has no password to hide
  }
  return password === "" ? text : text.split(password).join("***")
}

const unavailable = (message: string) => new StorageUnavailable({ backend: "postgres", operation: "PostgresClient.make", message })

/** The `pg` pool behind each client {@link make} built: the repository runs its statements on it prepared (PgPrepared). */
const pools = new WeakMap<SqlClient.SqlClient, pg.Pool>()

/** The `pg` pool behind `client` when this module made it; `undefined` for a client made elsewhere. */
export const poolOf = (client: SqlClient.SqlClient): pg.Pool | undefined => pools.get(client)

/** A `pg` pool opened with one connection checked within `connectTimeout`, ended with the scope. */
const openPool = (url: Redacted.Redacted, options: Options, connectTimeout: Duration.Duration) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const pool = new pg.Pool({
        connectionString: Redacted.value(url),
        connectionTimeoutMillis: Duration.toMillis(connectTimeout),
        idleTimeoutMillis: Duration.toMillis(Duration.decode(options.idleTimeout ?? "30 seconds")),
        max: options.maxConnections ?? 10,
        application_name: "llmtrace-storage"
      })
      // An idle connection the server drops is replaced by the pool on next use; the error itself
      // reaches the caller of the statement that needed the connection.
      pool.on("error", () => {})
      return Effect.tryPromise(() => pool.query("SELECT 1")).pipe(
        Effect.timeoutFail({ duration: connectTimeout, onTimeout: () => new Error(`no connection within ${Duration.format(connectTimeout)}`) }),
        Effect.as(pool),
        Effect.tapError(() => Effect.promise(() => pool.end().catch(() => undefined)))
      )
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption("1 second"))
  )

/**
 * A pooled PostgreSQL client in the current scope. Building it opens a connection within
 * `connectTimeout`; a server that cannot be reached fails with `StorageUnavailable` naming host and
 * database (never the password).
 */
export const make = (options: Options): Effect.Effect<PgClient.PgClient, StorageUnavailable, Scope.Scope> => {
  const connectTimeout = Duration.decode(options.connectTimeout ?? "5 seconds")
  const where = describe(options.url)
  return Effect.try({
    try: () => withStatementTimeout(options.url, Duration.decode(options.statementTimeout ?? "30 seconds")),
    catch: () => unavailable("the PostgreSQL url is not a valid URL")
  }).pipe(
    Effect.flatMap((url) =>
      openPool(url, options, connectTimeout).pipe(
        Effect.flatMap((pool) =>
          PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: "llmtrace-storage" }).pipe(
            Effect.tap((client) => Effect.sync(() => pools.set(client, pool)))
          )
        ),
        Effect.provide(Reactivity.layer),
        Effect.catchAllCause((cause) =>
          Effect.fail(unavailable(
            `cannot connect to PostgreSQL at ${where}: ${reasonOf(Cause.squash(cause), options.url)}`
          ))
        )
      )
    )
  )
}

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  url: Config.redacted().pipe(Config.withDefault(Redacted.make("postgres://llmtrace:llmtrace@localhost:5432/llmtrace"))),
  maxConnections: Config.integer().pipe(
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(10)
  ),
  connectTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(5))),
  idleTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30))),
  statementTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30)))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`url`, `maxConnections`, …), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** A pooled PostgreSQL `SqlClient` from explicit options; reads no configuration. */
export const layer = (options: Options): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, StorageUnavailable> =>
  Layer.scopedContext(Effect.map(make(options), (client) => Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client))))

/** A pooled PostgreSQL `SqlClient` from a configuration, e.g. {@link config} or `StorageConfig.postgres`. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, StorageUnavailable | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
