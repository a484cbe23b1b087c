import type * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { StorageUnavailable } from "../StorageError.js"

export interface PostgresOptions {
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

/**
 * A pooled PostgreSQL `SqlClient`. Building it opens a connection within `connectTimeout`; a
 * server that cannot be reached fails with `StorageUnavailable` naming host and database.
 */
export const layer = (options: PostgresOptions): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, StorageUnavailable> => {
  const connectTimeout = Duration.decode(options.connectTimeout ?? "5 seconds")
  const where = describe(options.url)
  return Layer.unwrapEffect(
    Effect.try({
      try: () => withStatementTimeout(options.url, Duration.decode(options.statementTimeout ?? "30 seconds")),
      catch: () => new StorageUnavailable({ backend: "postgres", operation: "PostgresClient.layer", message: "LLMTRACE_POSTGRES_URL is not a valid URL" })
    }).pipe(
      Effect.map((url) =>
        PgClient.layer({
          url,
          maxConnections: options.maxConnections ?? 10,
          connectTimeout,
          idleTimeout: options.idleTimeout ?? "30 seconds",
          applicationName: "llmtrace-storage"
        }).pipe(
          Layer.catchAllCause((cause) =>
            Layer.fail(
              new StorageUnavailable({
                backend: "postgres",
                operation: "PostgresClient.layer",
                message: `cannot connect to PostgreSQL at ${where} within ${Duration.format(connectTimeout)}: ${reasonOf(cause._tag === "Fail" ? cause.error : cause, options.url)}`
              })
            )
          )
        )
      )
    )
  )
}

/** Options from the environment: `LLMTRACE_POSTGRES_URL`, `_POOL_SIZE`, `_CONNECT_TIMEOUT`, `_IDLE_TIMEOUT`, `_STATEMENT_TIMEOUT`. */
export const config: Config.Config<PostgresOptions> = Config.all({
  url: Config.redacted("LLMTRACE_POSTGRES_URL").pipe(
    Config.withDefault(Redacted.make("postgres://llmtrace:llmtrace@localhost:5432/llmtrace"))
  ),
  maxConnections: Config.integer("LLMTRACE_POSTGRES_POOL_SIZE").pipe(
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(10)
  ),
  connectTimeout: Config.duration("LLMTRACE_POSTGRES_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5))),
  idleTimeout: Config.duration("LLMTRACE_POSTGRES_IDLE_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
  statementTimeout: Config.duration("LLMTRACE_POSTGRES_STATEMENT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
})

export const layerConfig: Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, StorageUnavailable | ConfigError.ConfigError> =
  Layer.unwrapEffect(Effect.map(config, layer))
