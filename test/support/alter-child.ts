// Another release's migration, run by a second process against the PostgreSQL database named by
// argv[2]: it adds a column to tenants and changes the type of one the repository reads (text to
// varchar, as a release tightening it would). Used by the rolling-deploy test.
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { PostgresClient } from "../../src/postgres/index.js"

const url = process.argv[2]
if (url === undefined) throw new Error("usage: alter-child.ts <postgres url>")

Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql.unsafe("ALTER TABLE tenants ADD COLUMN region TEXT NOT NULL DEFAULT 'eu'")
    yield* sql.unsafe("ALTER TABLE tenants ALTER COLUMN plan TYPE VARCHAR(200)")
  }))
}).pipe(
  Effect.provide(PostgresClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
  Effect.runPromise
).then(
  () => console.log("migrated"),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
