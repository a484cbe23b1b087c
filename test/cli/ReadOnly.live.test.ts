import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import type { StorageMigrations } from "../../src/index.js"
import * as Cli from "../support/cli.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"
import { liveRedis, redisUrl, testPrefix } from "../support/redis.js"

// Read-only commands never write schema, whatever LLMTRACE_AUTO_MIGRATE says: on a fresh PostgreSQL
// database and a fresh lite data directory, no migration table exists after them.
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-readonly-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const readOnly = (tenant: string): ReadonlyArray<ReadonlyArray<string>> => [
  ["health"],
  ["health", "--json"],
  ["stats"],
  ["query", "--tenant", tenant],
  ["tenants", "list"]
]
const tenant = "7d1c5c52-62a6-4f38-9d3c-7a4f1f6d1a11"

const statuses = (stdout: string) => stdout.trim().split("\n").map((line) => JSON.parse(line) as StorageMigrations.MigrationStatus)

describe("read-only commands on a fresh lite data directory", () => {
  it("write no schema (even with LLMTRACE_AUTO_MIGRATE=true); health reports the schema as pending", async () => {
    const env = { LLMTRACE_DATA_DIR: path.join(scratch, "lite"), LLMTRACE_AUTO_MIGRATE: "true" }
    const results = []
    for (const args of readOnly(tenant)) results.push(await Cli.cli(scratch, args, env))
    expect(results[0]!.code).toBe(0)
    expect(results[0]!.stdout).toMatch(/traces\s+clickhouse\s+ok\s+\d+\s+4 pending: run migrate/)
    expect(results[0]!.stdout).toMatch(/metadata\s+sqlite\s+ok\s+\d+\s+2 pending: run migrate/)
    expect(results[0]!.stdout).toMatch(/cache\s+memory\s+ok/)
    expect(results[2]!.stderr).toContain("llmtrace-storage migrate")
    const after = await Cli.cli(scratch, ["migrate", "--dry-run", "--json"], env)
    expect(statuses(after.stdout).map((s) => [s.backend, s.applied])).toEqual([["clickhouse", []], ["sqlite", []]])
  }, 240_000)
})

const postgres = await livePostgres()
const redis = postgres.available ? await liveRedis() : postgres

describeLive(redis, () =>
  describe("read-only commands on a fresh PostgreSQL database (production profile)", () => {
    const scope = Effect.runSync(Scope.make())
    let url = ""
    beforeAll(async () => {
      url = Redacted.value((await Effect.runPromise(Scope.extend(freshDatabase("llmtrace_readonly"), scope))).url)
    })
    afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

    it("leave no table behind, with auto-migration on or off; health lists every backend", async () => {
      const env = (autoMigrate: string) => ({
        LLMTRACE_STORAGE_PROFILE: "production",
        LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(scratch, "dead-letters"),
        LLMTRACE_AUTO_MIGRATE: autoMigrate,
        LLMTRACE_CLICKHOUSE_URL: `chdb:${path.join(scratch, "prod-clickhouse")}`,
        LLMTRACE_POSTGRES_URL: url,
        LLMTRACE_REDIS_URL: redisUrl,
        LLMTRACE_CACHE_PREFIX: testPrefix("readonly")
      })
      for (const autoMigrate of ["", "true"]) {
        for (const args of readOnly(tenant)) await Cli.cli(scratch, args, env(autoMigrate))
      }
      const health = await Cli.cli(scratch, ["health"], env(""))
      expect(health.code).toBe(0)
      expect(health.stdout).toMatch(/metadata\s+postgres\s+ok\s+\d+\s+2 pending: run migrate/)
      expect(health.stdout).toMatch(/cache\s+redis\s+ok/)
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        expect(tables.rows).toEqual([])
      } finally {
        await client.end()
      }
      const after = await Cli.cli(scratch, ["migrate", "--dry-run", "--json"], env(""))
      expect(statuses(after.stdout).map((s) => [s.backend, s.applied])).toEqual([["clickhouse", []], ["postgres", []]])
    }, 300_000)

    it("health: every backend's state, exit 1 when one is down, the others still checked", async () => {
      const result = await Cli.cli(scratch, ["health", "--json"], {
        LLMTRACE_STORAGE_PROFILE: "production",
        LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(scratch, "dead-letters"),
        LLMTRACE_CLICKHOUSE_URL: "http://127.0.0.1:1",
        LLMTRACE_POSTGRES_URL: url,
        LLMTRACE_REDIS_URL: redisUrl
      })
      expect(result.code).toBe(1)
      const reports = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as { service: string; healthy: boolean; error: string | null })
      expect(reports.map((r) => [r.service, r.healthy])).toEqual([["traces", false], ["metadata", true], ["cache", true]])
      expect(reports[0]!.error).toMatch(/StorageUnavailable \[clickhouse\].*127\.0\.0\.1:1/)
      expect(result.stderr.trim()).toBe("error: down: traces (clickhouse)")
    }, 120_000)
  }))
