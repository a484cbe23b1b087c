import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as ClickHouseClient from "../clickhouse/ClickHouseClient.js"
import * as RedisConfig from "../redis/RedisConfig.js"
import * as PostgresClient from "../postgres/PostgresClient.js"
import { StorageUnavailable } from "../StorageError.js"
import * as Namespaces from "./Namespaces.js"

/**
 * A live service a test needs, and what to tell a developer when it is not there. The one
 * implementation of the probe and its diagnosis, for `TestStorage.live` and our own live suites.
 */
export interface LiveService {
  /** e.g. `Redis`, `PostgreSQL`. */
  readonly name: string
  /** The variable that points the tests at the service, e.g. `LLMTRACE_REDIS_URL`. */
  readonly variable: string
  /** Where the tests look, for the message: `host:port`, never a password. */
  readonly address: string
  /** The command(s) that start it. */
  readonly howToStart: string
  /** Resolves when the service answers; rejects otherwise. */
  readonly probe: () => Promise<unknown>
}

/** The one line that says what is missing, where it was looked for, and how to start it. */
export const diagnose = (service: LiveService, reason: string): string =>
  `${service.name} is not reachable at ${service.address} (${service.variable}; ${reason}): start it with ${service.howToStart}, or point ${service.variable} at a running server`

/** Probes the service once within `timeout`; fails with {@link diagnose}'s line. */
export const probe = (service: LiveService, timeout: Duration.DurationInput = "5 seconds"): Effect.Effect<void, StorageUnavailable> => {
  const limit = Duration.decode(timeout)
  return Effect.tryPromise({ try: service.probe, catch: (cause) => cause }).pipe(
    Effect.timeoutFail({ duration: limit, onTimeout: () => new Error(`no answer within ${Duration.format(limit)}`) }),
    Effect.mapError((cause) => {
      const reason = cause instanceof Error ? cause.message : String(cause)
      // The reason only, never the driver's error object: it may carry the command (AUTH's password) or the URL.
      return new StorageUnavailable({ backend: "storage", operation: "TestStorage", message: diagnose(service, reason), cause: new Error(reason) })
    }),
    Effect.asVoid
  )
}

/** True where a live service is expected to run: `CI` set to anything but empty, `0` or `false`. */
export const isCI: Config.Config<boolean> = Config.string("CI").pipe(
  Config.map((ci) => ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"),
  Config.withDefault(false)
)

export const postgres = (url: Redacted.Redacted): LiveService => ({
  name: "PostgreSQL",
  variable: "LLMTRACE_POSTGRES_URL",
  address: PostgresClient.describe(url),
  howToStart:
    "`docker compose up -d --wait postgres` (its role needs CREATEDB), or `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` and `bash .ci/run` (which creates the llmtrace role)",
  probe: () => Namespaces.withPostgres(url, (c) => c.query("SELECT 1"))
})

export const redis = (url: Redacted.Redacted<string>): LiveService => ({
  name: "Redis",
  variable: "LLMTRACE_REDIS_URL",
  address: RedisConfig.address(url),
  howToStart: "`redis-server --daemonize yes --port 6379` (or `docker compose up -d redis`)",
  probe: () => Namespaces.withRedis(url, (r) => r.ping())
})

export const clickhouse = (url: string): LiveService => ({
  name: "ClickHouse",
  variable: "LLMTRACE_CLICKHOUSE_URL",
  address: ClickHouseClient.redactUrl(url),
  howToStart: "`docker compose up -d clickhouse`",
  probe: async () => {
    // `/ping` needs no credentials, and `fetch` refuses a URL with them, repeating it (password included) in its error.
    const ping = new URL("/ping", url)
    ping.username = ""
    ping.password = ""
    const response = await fetch(ping)
    if (!response.ok) throw new Error(`/ping answered ${response.status}`)
  }
})
