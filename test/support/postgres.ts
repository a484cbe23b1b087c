import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { PostgresClient } from "../../src/index.js"
import { requireService } from "./live.js"

/** The server the live suites use; its role needs CREATEDB (`.ci/run` creates it so). */
export const postgresUrl = process.env.LLMTRACE_POSTGRES_URL ?? "postgres://llmtrace:llmtrace@localhost:5432/llmtrace"

const withAdmin = async <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/**
 * Probed once per test file: under `CI=true` a missing server fails the file with one line naming
 * the service, the variable and how to start it; elsewhere the suite is reported as skipped with it.
 */
export const livePostgres = () =>
  requireService({
    name: "PostgreSQL",
    variable: "LLMTRACE_POSTGRES_URL",
    address: PostgresClient.describe(Redacted.make(postgresUrl)),
    probe: () => withAdmin((c) => c.query("SELECT 1")),
    howToStart:
      "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` and `bash .ci/run` (which creates the llmtrace role), or `docker compose up -d --wait postgres`"
  })

/** A database URL on the same server, for a database name. */
export const databaseUrl = (name: string): string => {
  const u = new URL(postgresUrl)
  u.pathname = `/${name}`
  return u.toString()
}

/** Creates a uniquely named database; returns its name. */
export const createDatabase = (prefix = "llmtrace_test"): Promise<string> => {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`
  return withAdmin((c) => c.query(`CREATE DATABASE ${name}`)).then(() => name)
}

export const dropDatabase = (name: string): Promise<void> =>
  withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)

/** A fresh database for one test file, created when the layer is built and dropped when its scope closes. */
export const scopedDatabase: Layer.Layer<SqlClient.SqlClient, unknown> = Layer.unwrapScoped(
  Effect.acquireRelease(
    Effect.promise(() => createDatabase()),
    (name) => Effect.promise(() => dropDatabase(name)).pipe(Effect.orDie)
  ).pipe(Effect.map((name) => PostgresClient.layer({ url: Redacted.make(databaseUrl(name)), maxConnections: 10 })))
)
