import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { gzipSync } from "node:zlib"
import * as Cli from "../support/cli.js"
import { onTerminal, plain } from "../support/terminal.js"

// The operator's side of issue 25: names for tenants, a purge that says what it will do, bounded lines, gzip anywhere.
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-ops-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const env = { LLMTRACE_DATA_DIR: path.join(scratch, "data") }
const cli = (args: ReadonlyArray<string>, input?: string | Uint8Array) => Cli.cli(scratch, args, env, input)
const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g

/** A data directory of its own with a tenant named `name` holding the examples' spans (2 traces, 4 spans); its environment. */
const tenantWithExamples = async (directory: string, name: string) => {
  const environment = { LLMTRACE_DATA_DIR: path.join(scratch, directory) }
  const created = await Cli.cli(scratch, ["tenants", "create", "--name", name], environment)
  expect(created.code).toBe(0)
  const id = created.stdout.match(uuid)![0]
  const lines = readFileSync("examples/spans.jsonl", "utf8").replace(/f1f5dce2-fe0e-5503-bb00-e4873ed2f7fe/g, id)
  expect((await Cli.cli(scratch, ["ingest", "-"], environment, lines)).code).toBe(0)
  return environment
}

describe("llmtrace-storage operations", () => {
  it("tenants by name, duplicate names refused, purge --dry-run / --yes / refused without a terminal", async () => {
    const first = await cli(["tenants", "create", "--name", "initech"])
    expect(first.code).toBe(0)
    const id = first.stdout.match(uuid)![0]
    const twice = await cli(["tenants", "create", "--name", "initech"])
    expect(twice.code).toBe(1)
    expect(twice.stderr.trim()).toBe(`error: a tenant named "initech" exists already (${id}): --allow-duplicate-name creates another`)
    const lines = readFileSync("examples/spans.jsonl", "utf8").replace(/f1f5dce2-fe0e-5503-bb00-e4873ed2f7fe/g, id)
    expect((await cli(["ingest", "-"], gzipSync(lines))).stdout).toContain("ingested 4 spans (1 whole trace) from 3 lines")
    expect((await cli(["stats", "--tenant", "initech"])).stdout).toMatch(/initech\s+2\s+4\s/)

    const dryRun = await cli(["purge", "--tenant", "initech", "--before", "2299-01-01", "--dry-run"])
    expect(dryRun.stdout.trim()).toBe(`would delete 2 traces of initech (${id}) created before 2299-01-01T00:00:00.000Z (dry run: nothing deleted)`)
    const unasked = await cli(["purge", "--tenant", "initech", "--before", "2299-01-01"])
    expect(unasked.code).toBe(1)
    expect(unasked.stderr).toContain("pass --yes")
    const purged = await cli(["purge", "--tenant", "initech", "--before", "2299-01-01", "--yes"])
    expect(purged.stdout.trim()).toBe(`deleted 2 traces of initech (${id}) created before 2299-01-01T00:00:00.000Z`)

    const again = await cli(["tenants", "create", "--name", "initech", "--allow-duplicate-name"])
    expect(again.code).toBe(0)
    const ambiguous = await cli(["query", "--tenant", "initech"])
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toMatch(/^error: 2 tenants are named "initech": give one of their ids: /)
    expect(ambiguous.stderr).toContain(id)
  }, 600_000)

  it("purge on a terminal asks first: answering no deletes nothing, answering yes deletes", async () => {
    const asks = await tenantWithExamples("asks", "hooli")
    const traces = async () => (await Cli.cli(scratch, ["stats", "--tenant", "hooli"], asks)).stdout
    const question = /Delete 2 traces of hooli \(\S+\) created before 2299-01-01T00:00:00\.000Z with their spans\?/

    for (const [answer, outcome, left] of [["n", "nothing deleted", /hooli\s+2\s+4\s/], ["y", "deleted 2 traces of hooli", /hooli\s+0\s+0\s/]] as const) {
      const purge = onTerminal(scratch, ["purge", "--tenant", "hooli", "--before", "2299-01-01"], asks)
      await purge.shows(question)
      // Nothing is deleted while the question waits for its answer.
      expect(purge.screen()).not.toContain("deleted")
      purge.type(answer)
      const { code, screen } = await purge.done
      expect(plain(screen)).toContain(outcome)
      expect(code).toBe(0)
      expect(await traces()).toMatch(left)
    }
  }, 600_000)

  it("purge on a terminal, SIGTERM while the question waits: exit 143 and nothing deleted", async () => {
    const stopped = await tenantWithExamples("stopped", "pied-piper")

    const purge = onTerminal(scratch, ["purge", "--tenant", "pied-piper", "--before", "2299-01-01"], stopped)
    await purge.shows(/Delete 2 traces of pied-piper \(\S+\) created before 2299-01-01T00:00:00\.000Z with their spans\?/)
    purge.signal("SIGTERM")
    const { code, screen } = await purge.done
    expect(code).toBe(143)
    expect(plain(screen)).not.toContain("deleted 2 traces")
    expect((await Cli.cli(scratch, ["stats", "--tenant", "pied-piper"], stopped)).stdout).toMatch(/pied-piper\s+2\s+4\s/)
  }, 600_000)

  it("a line over --max-line-bytes is refused by number, the rest stored; a file without a newline is never held whole", async () => {
    const span = (n: number) => JSON.stringify({ traceId: "11111111-1111-4111-8111-111111111111", tenantId: "7d1c5c52-62a6-4f38-9d3c-7a4f1f6d1a11", operationName: "chat", provider: "OpenAI", modelName: "m", prompt: `p${n}` })
    const file = path.join(scratch, "long.jsonl")
    writeFileSync(file, [span(1), "x".repeat(5000), span(3)].join("\n"))
    const result = await Cli.cli(scratch, ["ingest", "--max-line-bytes", "1000", file], { LLMTRACE_STORAGE_PROFILE: "memory" })
    expect(result.stderr).toContain("line 2: longer than the limit of 1000 bytes (5000 bytes; --max-line-bytes) (skipped)")
    expect(result.stdout).toContain("ingested 2 spans from 3 lines")
    expect(result.code).toBe(2)
  }, 180_000)

  it("a usage error is 'error: …' with the command's usage", async () => {
    const result = await Cli.cli(scratch, ["query", "--limit", "x"], { LLMTRACE_STORAGE_PROFILE: "memory", NO_COLOR: "1" })
    expect(result.code).toBe(1)
    const lines = result.stderr.trim().split("\n")
    expect(lines[0]).toMatch(/^error: .*'x' is not a integer/)
    expect(lines[1]).toMatch(/^usage: \$ llmtrace-storage .* query$/)
    expect(lines.at(-1)).toBe("(llmtrace-storage query --help for more)")
  }, 120_000)
})
