import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { PostgresClient } from "../../src/postgres/index.js"
import { LiveService, TestStorage } from "../../src/testing/index.js"
import { requireService } from "./live.js"

/** The server the live suites use; its role needs CREATEDB (`.ci/run` creates it so). */
export const postgresUrl = process.env.LLMTRACE_POSTGRES_URL ?? "postgres://llmtrace:llmtrace@localhost:5432/llmtrace"

const server = Redacted.make(postgresUrl)

/**
 * Probed once per test file: under `CI=true` a missing server fails the file with one line naming
 * the service, the variable and how to start it; elsewhere the suite is reported as skipped with it.
 */
export const livePostgres = () => requireService(LiveService.postgres(server))

/** A fresh database `<prefix>_<random>` on the server (`{ name, url }`), dropped when the scope closes. */
export const freshDatabase = (prefix = "llmtrace_test") => TestStorage.postgresDatabase(server, prefix)

/** A database URL on the same server, for a database name. */
export const databaseUrl = (name: string): string => {
  const u = new URL(postgresUrl)
  u.pathname = `/${name}`
  return u.toString()
}

/** A fresh database for one test file, created when the layer is built and dropped when its scope closes. */
export const scopedDatabase: Layer.Layer<SqlClient.SqlClient, unknown> = Layer.unwrapScoped(
  Effect.map(TestStorage.postgresDatabase(server, "llmtrace_test"), (database) => PostgresClient.layer({ url: database.url, maxConnections: 10 }))
)
