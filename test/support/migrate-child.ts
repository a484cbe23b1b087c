// Runs the SQL migrations against the PostgreSQL database named by argv[2]; used by the
// concurrent-migration test, which starts several of these processes at once.
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { PostgresClient } from "../../src/postgres/index.js"
import * as SqlMigrations from "../../src/internal/sql/Migrations.js"

const url = process.argv[2]
if (url === undefined) throw new Error("usage: migrate-child.ts <postgres url>")

SqlMigrations.run.pipe(
  Effect.provide(PostgresClient.layer({ url: Redacted.make(url), maxConnections: 2 })),
  Effect.runPromise
).then(
  (ran) => console.log(JSON.stringify({ ran: ran.map(([id]) => id) })),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
