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
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs/promises"
import pg from "pg"
import type { ConnectionOptions } from "node:tls"
import * as ConfigFields from "../ConfigFields.js"
import { StorageUnavailable } from "../StorageError.js"
import * as PgPrepared from "./PgPrepared.js"

export interface Options {
  /** `postgres://user:password@host:port/database`; kept `Redacted` so it never reaches a log. */
  readonly url: Redacted.Redacted
  readonly maxConnections?: number
  readonly connectTimeout?: Duration.DurationInput
  readonly idleTimeout?: Duration.DurationInput
  /** Server-side bound of one statement (`statement_timeout`): work stops on the server, not just in the client. */
  readonly statementTimeout?: Duration.DurationInput
  /**
   * What sits between this client and PostgreSQL (default `none`): it decides how the statement
   * timeout is applied and whether statements are prepared by name. See {@link Pooler}.
   */
  readonly pooler?: Pooler
  /**
   * A PEM file of the certificate authorities the server's certificate must chain to. Set, the
   * connection uses TLS and checks the server's name too (the URL's `sslmode=verify-ca` checks the
   * chain only); the URL's own `sslmode`/`sslrootcert` are replaced by it.
   */
  readonly caFile?: string | undefined
}

/**
 * - `none`: a direct connection (or a pooler that passes startup parameters and keeps one server
 *   session per client): `statement_timeout` is sent at startup, statements are prepared by name.
 * - `session`: a pooler in session mode (pgbouncer `pool_mode = session`): it refuses the startup
 *   parameter, so each connection sets `statement_timeout` first; statements are prepared by name.
 * - `transaction`: a pooler in transaction mode (pgbouncer `pool_mode = transaction`, most managed
 *   poolers): one client's statements run on any server session, so nothing is prepared by name
 *   and no session setting holds; a statement past the timeout is cancelled by the client.
 */
export const Poolers = ["none", "session", "transaction"] as const
export type Pooler = (typeof Poolers)[number]

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
 * The URL with the statement bounds every pooled connection gets: without a pooler,
 * `statement_timeout` as a startup parameter stops the work on the server (a pooler refuses it:
 * see {@link settingsOf}); always the driver's `query_timeout`, a second later, which fails a call
 * whose server or network went silent. With the pool's `connectTimeout` on acquiring a connection,
 * every call is bounded by the driver itself.
 */
const withStatementTimeout = (url: Redacted.Redacted, timeout: Duration.Duration, pooler: Pooler): Redacted.Redacted => {
  const u = new URL(Redacted.value(url))
  const ms = Duration.toMillis(timeout)
  if (pooler === "none") u.searchParams.set("options", `${u.searchParams.get("options") ?? ""} -c statement_timeout=${ms}`.trim())
  u.searchParams.set("query_timeout", String(ms + 1000))
  return Redacted.make(u.toString())
}

/** How `PgPrepared` runs statements behind each kind of pooler. */
const settingsOf = (pooler: Pooler, statementTimeout: Duration.Duration): PgPrepared.Settings =>
  pooler === "transaction" ? { prepare: false, cancelAfter: statementTimeout } : PgPrepared.direct

/**
 * TLS from a CA file: the URL's own TLS parameters go (the driver would let them override these),
 * the file's authorities are the only ones trusted, and the server's name is checked unless the
 * URL asked for `verify-ca`. `sslmode=disable` with a CA file is a contradiction, refused.
 */
const withCa = (url: Redacted.Redacted, caFile: string) =>
  Effect.gen(function*() {
    const u = new URL(Redacted.value(url))
    const mode = u.searchParams.get("sslmode") ?? "verify-full"
    if (mode === "disable") return yield* Effect.fail(unavailable(`a PostgreSQL CA file (${caFile}) is set but the URL says sslmode=disable`))
    const ca = yield* Effect.tryPromise({
      try: () => fs.readFile(caFile, "utf8"),
      catch: (cause) => unavailable(`cannot read the PostgreSQL CA file ${caFile}: ${(cause as Error).message}`)
    })
    for (const key of ["sslmode", "sslrootcert", "ssl"]) u.searchParams.delete(key)
    const ssl: ConnectionOptions = mode === "verify-ca" ? { ca, checkServerIdentity: () => undefined } : { ca }
    return { url: Redacted.make(u.toString()), ssl }
  })

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

/** The `pg` pool behind a client this module made, provided beside it by {@link layer}. */
export interface PgPoolShape {
  /** The client the pool is behind: statements built with another client's `sql` do not belong on it. */
  readonly client: SqlClient.SqlClient
  readonly pool: pg.Pool
  /** Runs a statement on the pool, prepared by name where the pooler allows (see `PgPrepared`): the pool's one runner. */
  readonly run: PgPrepared.Run
}

/** The pool behind the `SqlClient` in context, when `PostgresClient` made it: the repository runs its statements there. */
export class PgPool extends Context.Tag("llmtrace-storage/PgPool")<PgPool, PgPoolShape>() {}

interface Connection {
  readonly url: Redacted.Redacted
  readonly ssl: ConnectionOptions | undefined
  readonly pooler: Pooler
  readonly statementTimeout: Duration.Duration
}

/** A `pg` pool opened with one connection checked within `connectTimeout`, ended with the scope. */
const openPool = ({ pooler, ssl, statementTimeout, url }: Connection, options: Options, connectTimeout: Duration.Duration) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new pg.Pool({
        connectionString: Redacted.value(url),
        ...(ssl === undefined ? {} : { ssl }),
        connectionTimeoutMillis: Duration.toMillis(connectTimeout),
        idleTimeoutMillis: Duration.toMillis(Duration.decode(options.idleTimeout ?? "30 seconds")),
        max: options.maxConnections ?? 10,
        application_name: "llmtrace-storage"
      })
      // An idle connection the server drops is replaced by the pool on next use; the error itself
      // reaches the caller of the statement that needed the connection.
      pool.on("error", () => {})
      // A checked-out connection that dies emits "error" as well as failing its statement; the pool
      // listens only while a connection is idle, so without this the process would crash.
      pool.on("connect", (client) => void client.on("error", () => {}))
      // A session-mode pooler refuses the startup parameter: the session's first statement sets it.
      // Queued on the new connection before any other, so no statement runs unbounded.
      if (pooler === "session") {
        pool.on("connect", (client) => void client.query(`SET statement_timeout = ${Duration.toMillis(statementTimeout)}`, () => undefined))
      }
      return pool
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption("1 second"))
  ).pipe(
    // The first connection is awaited outside the (uninterruptible) acquire, so SIGTERM or any
    // interrupt stops the wait at once; the scope then ends the pool.
    Effect.tap((pool) =>
      Effect.tryPromise(() => pool.query("SELECT 1")).pipe(
        Effect.timeoutFail({ duration: connectTimeout, onTimeout: () => new Error(`no connection within ${Duration.format(connectTimeout)}`) })
      )
    )
  )

/** The client and the pool behind it, in the current scope (see {@link make}). */
const open = (options: Options): Effect.Effect<{ readonly client: PgClient.PgClient; readonly pool: PgPoolShape }, StorageUnavailable, Scope.Scope> => {
  const connectTimeout = Duration.decode(options.connectTimeout ?? "5 seconds")
  const statementTimeout = Duration.decode(options.statementTimeout ?? "30 seconds")
  const pooler = options.pooler ?? "none"
  const where = describe(options.url)
  return Effect.try({
    try: () => withStatementTimeout(options.url, statementTimeout, pooler),
    catch: () => unavailable("the PostgreSQL url is not a valid URL")
  }).pipe(
    Effect.flatMap((url) =>
      options.caFile === undefined
        ? Effect.succeed<{ url: Redacted.Redacted; ssl: ConnectionOptions | undefined }>({ url, ssl: undefined })
        : withCa(url, options.caFile)
    ),
    Effect.flatMap(({ ssl, url }) =>
      openPool({ url, ssl, pooler, statementTimeout }, options, connectTimeout).pipe(
        Effect.flatMap((pool) =>
          Effect.map(PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: "llmtrace-storage" }), (client) => ({
            client,
            // The pool's one runner, with this pooler's settings.
            pool: { client, pool, run: PgPrepared.make(pool, settingsOf(pooler, statementTimeout)) }
          }))
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

/**
 * A pooled PostgreSQL client in the current scope. Building it opens a connection within
 * `connectTimeout`; a server that cannot be reached fails with `StorageUnavailable` naming host and
 * database (never the password). The client alone: {@link layer} provides its pool (`PgPool`) beside
 * it, where the repository runs its statements as named prepared statements.
 */
export const make = (options: Options): Effect.Effect<PgClient.PgClient, StorageUnavailable, Scope.Scope> =>
  Effect.map(open(options), ({ client }) => client)

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  url: Config.redacted().pipe(Config.withDefault(Redacted.make("postgres://llmtrace:llmtrace@localhost:5432/llmtrace"))),
  maxConnections: Config.integer().pipe(
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(10)
  ),
  connectTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(5))),
  idleTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30))),
  statementTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30))),
  pooler: Config.literal(...Poolers)().pipe(Config.withDefault("none" as const)),
  caFile: Config.string().pipe(Config.option, Config.map(Option.getOrUndefined))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`url`, `maxConnections`, …), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** A pooled PostgreSQL `SqlClient` (and `PgClient`, and its `PgPool`) from explicit options; reads no configuration. */
export const layer = (options: Options): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient | PgPool, StorageUnavailable> =>
  Layer.scopedContext(
    Effect.map(open(options), ({ client, pool }) =>
      Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client), Context.add(PgPool, pool)))
  )

/** A pooled PostgreSQL `SqlClient` from a configuration, e.g. {@link config} or `StorageConfig.postgres`. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient | PgPool, StorageUnavailable | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
