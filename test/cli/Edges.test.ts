import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as Cli from "../support/cli.js"

const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-edges-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => Cli.cli(scratch, args, env)
const memory = { LLMTRACE_STORAGE_PROFILE: "memory" }

describe("llmtrace-storage edges", () => {
  it("tenants create refuses an empty or blank name with one line", async () => {
    for (const name of ["", "   "]) {
      const result = await cli(["tenants", "create", "--name", name], memory)
      expect(result.code).toBe(1)
      expect(result.stderr.trim()).toBe("error: --name must not be empty")
      expect(result.stdout).toBe("")
    }
  }, 120_000)

  it("replay-dead-letters says there is nothing to replay, or what it replayed; --failed replays the refused ones", async () => {
    const dir = path.join(scratch, "dead-letters")
    mkdirSync(dir, { recursive: true })
    const none = await cli(["replay-dead-letters", "--dir", dir], memory)
    expect(none.code).toBe(0)
    expect(none.stdout.trim()).toBe(`nothing to replay: no dead letters in ${dir}`)

    const span = {
      traceId: "11111111-1111-4111-8111-111111111111",
      spanId: "22222222-2222-4222-8222-222222222222",
      tenantId: "33333333-3333-4333-8333-333333333333",
      operationName: "chat",
      startTime: "2026-01-01T00:00:00.000Z",
      provider: "OpenAI",
      modelName: "gpt-4o",
      prompt: "hello",
      securityFindings: [],
      tags: {},
      events: [],
      agentActions: []
    }
    writeFileSync(path.join(dir, "000000000000001-test.jsonl"), `${JSON.stringify({ version: 1, span })}\n{"not":"a span"}\n`)
    const replayed = await cli(["replay-dead-letters", "--dir", dir], memory)
    expect(replayed.code).toBe(0)
    expect(replayed.stdout.trim()).toBe(`replayed 1 dead-lettered span from ${dir}; 1 invalid line kept in ${path.join(dir, "rejected")}`)
    // The writer's warning is a log line: on standard error, and without colour off a terminal.
    expect(replayed.stderr).toContain("kept in")
    expect(replayed.stderr).not.toContain("\u001b[")

    mkdirSync(path.join(dir, "failed"), { recursive: true })
    writeFileSync(path.join(dir, "failed", "000000000000002-test.jsonl"), `${JSON.stringify({ version: 2, reason: "refused (test)", span })}\n`)
    const failed = await cli(["replay-dead-letters", "--dir", dir, "--failed"], memory)
    expect(failed.stdout.trim()).toBe(`replayed 1 dead-lettered span from ${dir}`)
  }, 120_000)

  it("help and errors carry no ANSI codes off a terminal or with NO_COLOR", async () => {
    const results = await Promise.all([
      cli(["--help"], { ...memory, NO_COLOR: "1" }),
      cli(["ingest", "--help"], memory),
      cli(["query", "--tenant"], memory)
    ])
    for (const result of results) expect(`${result.stdout}${result.stderr}`).not.toContain("\u001b[")
    expect(results[0]!.stdout).toContain("USAGE")
    expect(results[0]!.code).toBe(0)
  }, 120_000)

  it("a configuration error says the variable and the reason, nothing else", async () => {
    const profile = await cli(["health"], { LLMTRACE_STORAGE_PROFILE: "nope" })
    expect(profile.code).toBe(1)
    expect(profile.stderr.trim()).toBe('error: configuration: LLMTRACE_STORAGE_PROFILE: Expected one of (memory, lite, production) but received "nope"')
    const pool = await cli(["health"], { LLMTRACE_STORAGE_PROFILE: "production", LLMTRACE_POSTGRES_POOL_SIZE: "0" })
    expect(pool.stderr.trim()).toBe("error: configuration: LLMTRACE_POSTGRES_POOL_SIZE: must be at least 1")
  }, 120_000)

  it("an option error names the option and the reason only", async () => {
    const tenant = ["query", "--tenant", "33333333-3333-4333-8333-333333333333"]
    const score = await cli([...tenant, "--min-score", "101"], memory)
    expect(score.code).toBe(1)
    expect(score.stderr.trim()).toBe("error: invalid query: --min-score: Expected a number between 0 and 100, actual 101")
    const tag = await cli([...tenant, "--tag", "env"], memory)
    expect(tag.code).toBe(1)
    expect(tag.stderr.trim()).toBe('error: --tag expects key=value, got "env"')
    const tags = await cli([...tenant, "--tag", "env=prod", "--tag", "expr=a=b", "--json"], memory)
    expect(tags.code).toBe(0)
  }, 120_000)
})
