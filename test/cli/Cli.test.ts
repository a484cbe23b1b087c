import { afterAll, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { apiTokenPrefix } from "../../src/index.js"
import * as Cli from "../support/cli.js"

const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => Cli.cli(scratch, args, env)

const dataDir = (name: string) => path.join(scratch, name)

describe("llmtrace-storage", () => {
  it("--version prints the version in package.json", async () => {
    const { version } = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { version: string }
    const result = await cli(["--version"])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe(version)
  }, 60_000)

  it("demo on a fresh data directory with no environment prints the tables, and a second run changes no count", async () => {
    const first = await cli(["demo"], { LLMTRACE_DATA_DIR: dataDir("demo") })
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("Per-tenant stats")
    expect(first.stdout).toContain("Slowest spans")
    expect(first.stdout).toContain("Most suspicious spans")
    expect(first.stdout).toMatch(/acme\s+enterprise\s+150\s+200/)
    expect(first.stdout).toContain("Health: traces ok, metadata ok, cache ok")
    const second = await cli(["demo"], { LLMTRACE_DATA_DIR: dataDir("demo") })
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/acme\s+enterprise\s+150\s+200/)
    expect(second.stdout).toMatch(/globex\s+free\s+150\s+200/)
  }, 180_000)

  it("tenants create prints a generated token once; a given token and tenants list show only its prefix", async () => {
    const env = { LLMTRACE_DATA_DIR: dataDir("tenants") }
    const generated = await cli(["tenants", "create", "--name", "gen"], env)
    expect(generated.code).toBe(0)
    const token = /llmt_[A-Za-z0-9_-]{24}/.exec(generated.stdout)?.[0]
    expect(token).toBeDefined()
    const given = await cli(["tenants", "create", "--name", "given", "--token", "tok-given-secret-value"], env)
    expect(given.code).toBe(0)
    expect(given.stdout).not.toContain("tok-given-secret-value")
    const listed = await cli(["tenants", "list", "--json"], env)
    expect(listed.code).toBe(0)
    const rows = listed.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows.map((r) => r.apiTokenPrefix)).toEqual([apiTokenPrefix(token!), apiTokenPrefix("tok-given-secret-value")])
    expect(listed.stdout).not.toContain(token!)
    expect(listed.stdout).not.toContain("tok-given-secret-value")
    expect(rows.every((r) => !("apiToken" in r) && !("apiTokenHash" in r))).toBe(true)
    const table = await cli(["tenants", "list"], env)
    expect(table.stdout).not.toContain(token!)
    expect(table.stdout).toContain(`${apiTokenPrefix(token!)}…`)
  }, 180_000)

  it("ingest stores every good line, reports each bad one with its number, and the counts are exact", async () => {
    const env = { LLMTRACE_DATA_DIR: dataDir("ingest") }
    const created = await cli(["tenants", "create", "--name", "ingest", "--token", "tok-ingest"], env)
    expect(created.code).toBe(0)
    const tenantId = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(created.stdout)![0]
    const traceId = "11111111-1111-4111-8111-111111111111"
    const good = Array.from({ length: 25 }, (_, i) =>
      JSON.stringify({ traceId, spanId: `22222222-2222-4222-8222-${String(i).padStart(12, "0")}`, tenantId, operationName: "chat", startTime: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), provider: "OpenAI", modelName: "gpt-4o", prompt: `prompt ${i} with "quotes" and \\ and \u0000`, securityScore: i * 4 }))
    const lines = [
      ...good.slice(0, 10),
      "{not json",
      JSON.stringify({ traceId, tenantId, operationName: "no span id" }),
      ...good.slice(10, 20),
      JSON.stringify({ ...JSON.parse(good[0]!), spanId: "33333333-2222-4222-8222-000000000000", securityScore: 101 }),
      "",
      JSON.stringify({ traceId: "44444444-1111-4111-8111-111111111111", tenantId, createdAt: "2026-02-01T00:00:00.000Z", spans: good.slice(20).map((l) => ({ ...JSON.parse(l), traceId: "44444444-1111-4111-8111-111111111111" })) })
    ]
    const file = path.join(scratch, "spans.jsonl")
    writeFileSync(file, lines.join("\n") + "\n")
    const result = await cli(["ingest", file], env)
    expect(result.code).toBe(2)
    expect(result.stdout).toContain("ingested 25 spans (1 whole trace) from 25 lines")
    expect(result.stdout).toContain("3 bad lines skipped")
    expect(result.stderr).toContain("line 11: not JSON")
    // A left-out span id is filled (as TraceSpan.make does); the provider is required.
    expect(result.stderr).toContain("line 12: provider: is missing")
    expect(result.stderr).toMatch(/line 23: securityScore: .*101/)
    const spans = await cli(["query", "--tenant", tenantId, "--limit", "100", "--json"], env)
    const stored = spans.stdout.trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; traceId: string })
    expect(stored).toHaveLength(25)
    expect(stored.filter((s) => s.traceId === traceId)).toHaveLength(20)
    expect(stored.map((s) => s.prompt)).toContain('prompt 3 with "quotes" and \\ and \u0000')
    const stats = await cli(["stats", "--tenant", tenantId], env)
    expect(stats.stdout).toMatch(/\s2\s+25\s/)
  }, 180_000)

  it("health reports every backend down, exits 1 with one error line naming them, and never prints a password", async () => {
    const result = await cli(["health"], {
      LLMTRACE_STORAGE_PROFILE: "production",
      LLMTRACE_CLICKHOUSE_URL: "http://127.0.0.1:1",
      LLMTRACE_CLICKHOUSE_PASSWORD: "Secr3t-Pa55",
      LLMTRACE_POSTGRES_URL: "postgres://llmtrace:Secr3t-Pa55@127.0.0.1:1/llmtrace",
      LLMTRACE_REDIS_URL: "redis://:Secr3t-Pa55@127.0.0.1:1",
      // required by the production profile; nothing is written
      LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-test-dead-letters")
    })
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/traces\s+clickhouse\s+DOWN\s.*StorageUnavailable \[clickhouse\]/)
    expect(result.stdout).toMatch(/metadata\s+postgres\s+DOWN\s.*StorageUnavailable \[postgres\]/)
    expect(result.stdout).toMatch(/cache\s+redis\s+DOWN\s.*StorageUnavailable \[redis\]/)
    expect(result.stderr.trim()).toBe("error: down: traces (clickhouse), metadata (postgres), cache (redis)")
    expect(`${result.stdout}${result.stderr}`).not.toContain("Secr3t-Pa55")
    expect(result.stderr).not.toMatch(/\n\s+at /)
  }, 60_000)

  it("--profile and --data-dir win over LLMTRACE_STORAGE_PROFILE and LLMTRACE_DATA_DIR", async () => {
    const memory = await cli(["--profile", "memory", "migrate"], { LLMTRACE_STORAGE_PROFILE: "production", LLMTRACE_CLICKHOUSE_URL: "http://127.0.0.1:1" })
    expect(memory.stdout.trim()).toBe("the memory profile has no schema to migrate")
    expect(memory.code).toBe(0)
    const chosen = dataDir("flag-dir")
    const lite = await cli(["--data-dir", chosen, "migrate", "--dry-run"], { LLMTRACE_DATA_DIR: dataDir("env-dir") })
    expect(lite.stdout).toContain(`chdb:${path.join(chosen, "clickhouse")}`)
    expect(lite.code).toBe(0)
    expect(existsSync(dataDir("env-dir"))).toBe(false)
  }, 120_000)

  it("a bad argument is one line and a non-zero exit code", async () => {
    const result = await cli(["query", "--tenant", "not-a-uuid"], { LLMTRACE_STORAGE_PROFILE: "memory" })
    expect(result.code).not.toBe(0)
    expect(result.stderr.trim()).toBe('error: no tenant named "not-a-uuid" (give its name or its id: see `tenants list`)')
  }, 60_000)
})
