import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import type { StorageMigrations } from "../../src/index.js"
import * as Cli from "../support/cli.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"

// SIGTERM while `migrate` runs on PostgreSQL (the phases that need no live service: Signals.test.ts). Another
// migration holds the migrations' advisory lock, so this one waits inside its transaction when the signal comes.
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-signals-live-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** The key `src/internal/sql/Migrations.ts` serialises migration runs with ("llmtrace"). */
const migrationLock = 0x6c6c6d74

const postgres = await livePostgres()

describeLive(postgres, () =>
  describe("SIGTERM while migrating (PostgreSQL)", () => {
    const scope = Effect.runSync(Scope.make())
    let database = { name: "", url: "" }
    beforeAll(async () => {
      const made = await Effect.runPromise(Scope.extend(freshDatabase("llmtrace_signals"), scope))
      database = { name: made.name, url: Redacted.value(made.url) }
    })
    afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

    it("a migration waiting for the lock stops with exit 143; the schema is untouched, and the next migrate applies it all", async () => {
      const env = {
        LLMTRACE_STORAGE_PROFILE: "production",
        LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(scratch, "dead-letters"),
        LLMTRACE_CLICKHOUSE_URL: "chdb::memory:",
        LLMTRACE_POSTGRES_URL: database.url
      }
      const statuses = async () => {
        const result = await Cli.cli(scratch, ["migrate", "--dry-run", "--json"], env)
        expect(result.code, result.stderr).toBe(0)
        const postgres = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as StorageMigrations.MigrationStatus).find((s) => s.backend === "postgres")!
        return { applied: postgres.applied, pending: postgres.pending }
      }
      const before = await statuses()
      expect(before.applied).toEqual([])

      const holder = new pg.Client({ connectionString: database.url })
      const watcher = new pg.Client({ connectionString: database.url })
      await holder.connect()
      await watcher.connect()
      try {
        await holder.query("BEGIN")
        await holder.query("SELECT pg_advisory_xact_lock($1)", [migrationLock])
        const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid
        const running = Cli.start(scratch, ["migrate"], env, "ignore")
        let exited = false
        void running.done.then(() => (exited = true))
        // Until the command's transaction waits for the lock.
        for (;;) {
          // Asked outside the holder's transaction, whose view of pg_stat_activity is taken once.
          const waiting = await watcher.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> $2",
            [database.name, holderPid]
          )
          if (Number(waiting.rows[0]!.n) > 0) break
          if (exited) throw new Error(`migrate exited before waiting for the lock: ${(await running.done).stderr}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        const result = await Cli.stop(running)
        expect([result.code, result.signal], result.stderr).toEqual([143, null])
        expect(result.stderr).not.toContain("error:")
      } finally {
        await holder.query("ROLLBACK").catch(() => undefined)
        await holder.end()
        await watcher.end()
      }
      // The stopped run's transaction never committed: nothing is half applied.
      expect(await statuses()).toEqual(before)
      const migrated = await Cli.cli(scratch, ["migrate"], env)
      expect(migrated.code, migrated.stderr).toBe(0)
      expect(await statuses()).toEqual({ applied: before.pending, pending: [] })
    }, 300_000)
  }))
