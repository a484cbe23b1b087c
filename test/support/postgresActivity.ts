import * as Effect from "effect/Effect"
import pg from "pg"
import { postgresUrl } from "./postgres.js"

/**
 * The statements running on the live suites' server whose text contains `marker`, asked on a
 * connection of its own straight to the server (never through a pooler a test puts in between).
 */
export const activeStatements = (marker: string, url: string = postgresUrl): Effect.Effect<ReadonlyArray<{ readonly pid: number; readonly query: string }>> =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    client.on("error", () => undefined)
    await client.connect()
    try {
      const result = await client.query<{ pid: number; query: string }>(
        "SELECT pid, query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0",
        [marker]
      )
      return result.rows
    } finally {
      await client.end().catch(() => undefined)
    }
  })
