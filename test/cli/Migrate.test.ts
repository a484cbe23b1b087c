import { afterAll, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { StorageMigrations } from "../../src/index.js"
import * as Cli from "../support/cli.js"

const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-migrate-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => Cli.cli(scratch, args, env)

/** `--json` prints one status per backend and line. */
const statuses = (stdout: string) =>
  stdout.trim().split("\n").map((line) => JSON.parse(line) as StorageMigrations.MigrationStatus & { readonly ran?: ReadonlyArray<string> })

describe("llmtrace-storage migrate", () => {
  it("--dry-run --json on a fresh (not created by it), then a migrated lite data directory: what is applied and pending, read from each database", async () => {
    const dir = path.join(scratch, "lite")
    const env = { LLMTRACE_DATA_DIR: dir }
    const fresh = await cli(["migrate", "--dry-run", "--json"], env)
    expect(fresh.stderr).toBe("")
    expect(fresh.code).toBe(0)
    expect(statuses(fresh.stdout)).toEqual([
      { backend: "clickhouse", target: `chdb:${path.join(dir, "clickhouse")} (database llmtrace)`, applied: [], pending: ["1_traces_and_spans", "2_span_identity_and_size", "3_column_codecs", "4_span_granules"], changes: [] },
      { backend: "sqlite", target: path.join(dir, "metadata.db"), applied: [], pending: ["0001_metadata", "0002_tenant_token_hash"], changes: [] }
    ])
    expect(existsSync(dir)).toBe(false)

    const table = await cli(["migrate", "--dry-run"], env)
    expect(table.stdout.split("\n")[0]).toMatch(/^backend\s+target\s+applied\s+pending$/)
    expect(table.stdout).toMatch(/sqlite\s+\S+metadata\.db\s+\(none\)\s+0001_metadata, 0002_tenant_token_hash/)

    const migrated = await cli(["migrate", "--json"], env)
    expect(migrated.code).toBe(0)
    expect(statuses(migrated.stdout).map((s) => [s.backend, s.ran, s.applied, s.pending])).toEqual([
      ["clickhouse", ["1_traces_and_spans", "2_span_identity_and_size", "3_column_codecs", "4_span_granules"], ["1_traces_and_spans", "2_span_identity_and_size", "3_column_codecs", "4_span_granules"], []],
      ["sqlite", ["0001_metadata", "0002_tenant_token_hash"], ["0001_metadata", "0002_tenant_token_hash"], []]
    ])

    const after = await cli(["migrate", "--dry-run", "--json"], env)
    expect(after.code).toBe(0)
    expect(statuses(after.stdout).map((s) => [s.backend, s.applied, s.pending])).toEqual([
      ["clickhouse", ["1_traces_and_spans", "2_span_identity_and_size", "3_column_codecs", "4_span_granules"], []],
      ["sqlite", ["0001_metadata", "0002_tenant_token_hash"], []]
    ])
  }, 180_000)

  it("retention changes only through migrate: other commands warn once and keep the TTL; --dry-run shows the change; a bad value is refused", async () => {
    const dir = path.join(scratch, "retention")
    const at = (days?: string) => ({ LLMTRACE_DATA_DIR: dir, ...(days === undefined ? {} : { LLMTRACE_CLICKHOUSE_RETENTION_DAYS: days }) })
    const created = await cli(["migrate", "--json"], at("30"))
    expect(created.code).toBe(0)
    expect(statuses(created.stdout)[0]!.changes).toEqual([])

    // A process configured otherwise (here: no retention) says so once and changes nothing.
    const stats = await cli(["stats"], at())
    expect(stats.code).toBe(0)
    expect(stats.stderr.match(/retention/g)?.length).toBe(1)
    expect(stats.stderr).toMatch(/spans: TTL 30 days → none, traces: TTL 30 days → none.*llmtrace-storage migrate/)
    const ingest = await cli(["ingest", path.resolve("examples/spans.jsonl")], at("7"))
    expect(ingest.code).toBe(0)
    expect(ingest.stderr).toMatch(/spans: TTL 30 days → 7 days/)

    const dryRun = await cli(["migrate", "--dry-run", "--json"], at("7"))
    expect(statuses(dryRun.stdout).map((s) => s.changes)).toEqual([["spans: TTL 30 days → 7 days", "traces: TTL 30 days → 7 days"], []])
    const table = await cli(["migrate", "--dry-run"], at("7"))
    expect(table.stdout.split("\n")[0]).toMatch(/^backend\s+target\s+applied\s+pending\s+changes$/)
    expect(table.stdout).toContain("spans: TTL 30 days → 7 days, traces: TTL 30 days → 7 days")
    // The dry run changed nothing: the next one still sees the change pending.
    expect(statuses((await cli(["migrate", "--dry-run", "--json"], at("7"))).stdout)[0]!.changes).toHaveLength(2)

    const applied = await cli(["migrate", "--json"], at("7"))
    expect(statuses(applied.stdout)[0]).toMatchObject({ ran: ["spans: TTL 30 days → 7 days", "traces: TTL 30 days → 7 days"], changes: [] })
    const quiet = await cli(["stats"], at("7"))
    expect(quiet.stderr).toBe("")

    const bad = await cli(["stats"], at("abc"))
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: configuration: LLMTRACE_CLICKHOUSE_RETENTION_DAYS: /)])
  }, 240_000)

  it("--dry-run --json against an unreachable PostgreSQL: one line naming postgres and exit 1, never a status and never the password", async () => {
    const result = await cli(["migrate", "--dry-run", "--json"], {
      LLMTRACE_STORAGE_PROFILE: "production",
      LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-test-dead-letters"), // required by production; nothing is written
      LLMTRACE_CLICKHOUSE_URL: "chdb::memory:",
      LLMTRACE_POSTGRES_URL: "postgres://llmtrace:Secr3t-Pa55@127.0.0.1:1/llmtrace"
    })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: StorageUnavailable \[postgres\]: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/llmtrace/)])
    expect(result.stderr).not.toContain("Secr3t-Pa55")
  }, 120_000)

  it("--dry-run --json against an unreachable ClickHouse server and PostgreSQL: one line naming one of them and exit 1", async () => {
    const result = await cli(["migrate", "--dry-run", "--json"], {
      LLMTRACE_STORAGE_PROFILE: "production",
      LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-test-dead-letters"), // required by production; nothing is written
      LLMTRACE_CLICKHOUSE_URL: "http://127.0.0.1:1",
      LLMTRACE_CLICKHOUSE_PASSWORD: "Secr3t-Pa55",
      LLMTRACE_POSTGRES_URL: "postgres://llmtrace:Secr3t-Pa55@127.0.0.1:1/llmtrace"
    })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: StorageUnavailable \[(clickhouse|postgres)\]: .*127\.0\.0\.1:1/)])
    expect(result.stderr).not.toContain("Secr3t-Pa55")
  }, 120_000)
})
