import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import * as Cli from "../support/cli.js"
import { onTerminal } from "../support/terminal.js"

const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-ingest-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}, input?: string | Uint8Array) => Cli.cli(scratch, args, env, input)

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

/** `n` span lines of one trace of `tenantId`, with distinct span ids. */
const spanLines = (tenantId: string, n: number, trace = "11111111-1111-4111-8111-111111111111", from = 0) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      traceId: trace,
      spanId: `22222222-2222-4222-8222-${String(from + i).padStart(12, "0")}`,
      tenantId,
      operationName: "chat",
      startTime: new Date(Date.UTC(2026, 0, 1, 0, from + i)).toISOString(),
      provider: "OpenAI",
      modelName: "gpt-4o",
      prompt: `prompt ${from + i}`
    }))

/** A lite data directory with one tenant; returns its environment and the tenant's id. */
const liteWithTenant = async (name: string) => {
  const env = { LLMTRACE_DATA_DIR: path.join(scratch, name) }
  const created = await cli(["tenants", "create", "--name", name], env)
  expect(created.code).toBe(0)
  return { env, tenantId: uuid.exec(created.stdout)![0] }
}

const spansOf = async (env: Record<string, string>, tenantId: string) => {
  const result = await cli(["query", "--tenant", tenantId, "--limit", "1000", "--json"], env)
  expect(result.code).toBe(0)
  return result.stdout.trim() === "" ? [] : result.stdout.trim().split("\n")
}

const memory = { LLMTRACE_STORAGE_PROFILE: "memory" }
const someTenant = "33333333-3333-4333-8333-333333333333"

describe("llmtrace-storage ingest: input", () => {
  it("reads standard input with `-`, a UTF-8 byte order mark ignored, CRLF line ends accepted", async () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(spanLines(someTenant, 3).join("\r\n") + "\r\n")])
    const result = await cli(["ingest", "-"], memory, input)
    expect(result.stderr).not.toMatch(/line \d+:/)
    expect(result.stdout).toContain("ingested 3 spans from 3 lines")
    expect(result.code).toBe(0)
  }, 120_000)

  it("gzip is recognised by its first bytes, not its name: a gzip file named .jsonl is decompressed, a plain file named .gz is read as text", async () => {
    const file = path.join(scratch, "spans-gzip.jsonl")
    writeFileSync(file, gzipSync(spanLines(someTenant, 4).join("\n") + "\n"))
    const result = await cli(["ingest", file], memory)
    expect(result.stdout).toContain("ingested 4 spans from 4 lines")
    expect(result.code).toBe(0)
    const plain = path.join(scratch, "plain.jsonl.gz")
    writeFileSync(plain, spanLines(someTenant, 1).join("\n"))
    const read = await cli(["ingest", plain], memory)
    expect(read.stdout).toContain("ingested 1 span from 1 line")
    expect(read.code).toBe(0)
  }, 120_000)

  it("progress on a gzip file is measured in compressed bytes: on a terminal the bar follows the lines read, through values between 0 and 100%", async () => {
    // JSON Lines compress about tenfold: decompressed bytes measured against the file's size would read 100% while a
    // tenth of the lines are read. Enough lines for many of the bar's 100 ms ticks.
    const total = 60_000
    const file = path.join(scratch, "progress.jsonl.gz")
    writeFileSync(file, gzipSync(spanLines(someTenant, total).join("\n") + "\n"))
    const ingest = onTerminal(scratch, ["ingest", file], memory)
    const { code, screen } = await ingest.done
    expect(screen).toContain(`ingested ${total} spans from ${total} lines`)
    expect(code).toBe(0)
    const shown = [...screen.matchAll(/\[[# ]{30}\] +(\d+)% +([\d,]+) lines/g)].map((m) => ({ pct: Number(m[1]), read: Number(m[2]!.replace(/,/g, "")) / total * 100 }))
    const trace = shown.map((s) => `${s.pct}%/${s.read.toFixed(0)}%`).join(" ")
    expect(shown.at(-1)?.pct, trace).toBe(100)
    expect(new Set(shown.map((s) => s.pct).filter((pct) => pct > 0 && pct < 100)).size, trace).toBeGreaterThanOrEqual(3)
    // The compressed bytes zlib has taken run ahead of the lines by what sits in the stream's buffers: a few percent.
    for (const s of shown) expect(Math.abs(s.pct - s.read), trace).toBeLessThanOrEqual(10)
  }, 240_000)

  it("a missing file or a directory is one line and exit code 1, before any storage is opened", async () => {
    const dir = path.join(scratch, "a-directory")
    mkdirSync(dir, { recursive: true })
    const dataDir = path.join(scratch, "never-created")
    const missing = await cli(["ingest", path.join(scratch, "nope.jsonl")], { LLMTRACE_DATA_DIR: dataDir })
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe(`error: cannot read ${path.join(scratch, "nope.jsonl")}: no such file`)
    const directory = await cli(["ingest", dir], { LLMTRACE_DATA_DIR: dataDir })
    expect(directory.code).toBe(1)
    expect(directory.stderr.trim()).toBe(`error: cannot read ${dir}: it is a directory`)
    expect(() => rmSync(dataDir)).toThrow(/ENOENT/)
  }, 120_000)
})

describe("llmtrace-storage ingest: exit codes and tenants", () => {
  it("spans the engine refused are not reported as ingested: exit code 1 naming the dead letters; parked, and stored by replay-dead-letters --failed once the cause is gone (lite)", async () => {
    // A CHECK constraint on the lite store's spans table makes the engine refuse these rows.
    const { env, tenantId } = await liteWithTenant("refused")
    const engine = path.join(env.LLMTRACE_DATA_DIR, "clickhouse")
    const sql = (statement: string) =>
      execFileSync(path.resolve("node_modules/.bin/tsx"), [path.resolve("test/support/chdb-sql.ts"), engine, statement], { stdio: ["ignore", "inherit", "inherit"] })
    sql("ALTER TABLE llmtrace.spans ADD CONSTRAINT refuse_test CHECK prompt NOT LIKE 'prompt %'")
    const file = path.join(scratch, "refused.jsonl")
    writeFileSync(file, spanLines(tenantId, 3).join("\n") + "\n")
    const result = await cli(["ingest", file], env)
    expect(result.stdout).not.toContain("ingested 3 spans")
    expect(result.stderr).toContain("3 spans could not be stored and went to the dead letters in")
    expect(result.code).toBe(1)
    // Nothing was lost: rows the engine refused are parked (not replayed at every start, which would refuse them
    // again); once the cause is gone, `replay-dead-letters --failed` stores them on purpose.
    sql("ALTER TABLE llmtrace.spans DROP CONSTRAINT refuse_test")
    await cli(["ingest", "--allow-bad-lines", "-"], env, "")
    expect(await spansOf(env, tenantId)).toHaveLength(0)
    const replayed = await cli(["replay-dead-letters", "--failed"], env)
    expect(replayed.code).toBe(0)
    expect(await spansOf(env, tenantId)).toHaveLength(3)
  }, 240_000)

  it("data piped to standard input does not reach the embedded engine when the input is a file (lite)", async () => {
    const env = { LLMTRACE_DATA_DIR: path.join(scratch, "piped") }
    const result = await cli(["ingest", path.resolve("examples/spans.jsonl")], env, "x\n")
    expect(result.stderr).not.toMatch(/dead-letter|error/)
    expect(result.stdout).toContain("ingested 4 spans (1 whole trace) from 3 lines")
    expect(result.code).toBe(0)
  }, 180_000)

  it("bad lines: exit code 2 with each reported; --allow-bad-lines: exit code 0, still reported", async () => {
    const input = [...spanLines(someTenant, 2), "{not json", JSON.stringify({ tenantId: someTenant, operationName: "no trace" })].join("\n")
    const strict = await cli(["ingest", "-"], memory, input)
    expect(strict.code).toBe(2)
    expect(strict.stdout).toContain("ingested 2 spans from 4 lines")
    expect(strict.stderr).toContain("line 3: not JSON")
    expect(strict.stderr).toMatch(/line 4: traceId/)
    expect(strict.stderr).toContain("error: 2 lines not stored (exit code 2; --allow-bad-lines accepts them)")
    const allowed = await cli(["ingest", "--allow-bad-lines", "-"], memory, input)
    expect(allowed.code).toBe(0)
    expect(allowed.stderr).toContain("line 3: not JSON")
    expect(allowed.stdout).toContain("2 bad lines skipped")
  }, 120_000)

  it("spans of tenants the metadata store does not know are counted per tenant; --known-tenants-only refuses them", async () => {
    const { env, tenantId } = await liteWithTenant("tenants")
    const strangers = ["44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555"]
    const input = [
      ...spanLines(tenantId, 2),
      ...spanLines(strangers[0]!, 3, "66666666-1111-4111-8111-111111111111", 10),
      ...spanLines(strangers[1]!, 1, "77777777-1111-4111-8111-111111111111", 20)
    ].join("\n")
    const refused = await cli(["ingest", "--known-tenants-only", "-"], env, input)
    expect(refused.code).toBe(2)
    expect(refused.stdout).toContain("ingested 2 spans from 6 lines")
    expect(refused.stdout).toContain(`tenants the metadata store does not know (refused): ${strangers[0]} (3 spans), ${strangers[1]} (1 span)`)
    expect(await spansOf(env, strangers[0]!)).toEqual([])
    const stored = await cli(["ingest", "-"], env, input)
    expect(stored.code).toBe(0)
    expect(stored.stdout).toContain("ingested 6 spans from 6 lines")
    expect(stored.stdout).toContain(`tenants the metadata store does not know: ${strangers[0]} (3 spans), ${strangers[1]} (1 span)`)
    expect(await spansOf(env, strangers[0]!)).toHaveLength(3)
  }, 240_000)
})

describe("llmtrace-storage ingest: the input format", () => {
  const acme = "f1f5dce2-fe0e-5503-bb00-e4873ed2f7fe"
  const examples = fileURLToPath(new URL("../../examples/spans.jsonl", import.meta.url))

  it("the examples file ingests whole, and query --json output (spans, and whole traces) re-ingests unchanged", async () => {
    const first = { LLMTRACE_DATA_DIR: path.join(scratch, "format-first") }
    const ingested = await cli(["ingest", examples], first)
    expect(ingested.code).toBe(0)
    expect(ingested.stdout).toContain("ingested 4 spans (1 whole trace) from 3 lines")
    const spans = await cli(["query", "--tenant", acme, "--json"], first)
    const traces = await cli(["query", "--tenant", acme, "--traces", "--json"], first)
    expect(spans.stdout.trim().split("\n")).toHaveLength(4)
    expect(traces.stdout.trim().split("\n")).toHaveLength(2)
    // The span that left out its start time got one, as TraceSpan.make gives it; the finding got an id.
    expect(spans.stdout).toMatch(/"spanId":"b0000000-0000-4000-8000-000000000001","tenantId":"[^"]+","operationName":"chat_completion","startTime":"\d{4}-/)
    expect(spans.stdout).toMatch(/"securityFindings":\[\{"id":"[0-9a-f-]{36}"/)

    for (const [name, output, flags] of [["format-spans", spans.stdout, []], ["format-traces", traces.stdout, ["--traces"]]] as const) {
      const again = { LLMTRACE_DATA_DIR: path.join(scratch, name) }
      const reingested = await cli(["ingest", "-"], again, output)
      expect(reingested.code).toBe(0)
      expect(reingested.stdout).toContain("ingested 4 spans")
      const read = await cli(["query", "--tenant", acme, ...flags, "--json"], again)
      expect(read.stdout).toBe(output)
    }
  }, 300_000)

  it("trace lines on lite: each trace keeps its createdAt (not its first span's start), a trace with no spans exists", async () => {
    const { env, tenantId } = await liteWithTenant("trace-lines")
    const traceIds = Array.from({ length: 30 }, (_, i) => `55555555-5555-4555-8555-${String(i).padStart(12, "0")}`)
    // Spans start on 1 January, the traces were created on 1 February (the last trace has no spans).
    const lines = traceIds.map((traceId, i) =>
      JSON.stringify({
        traceId,
        tenantId,
        createdAt: new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString(),
        spans: i === traceIds.length - 1 ? [] : spanLines(tenantId, 2, traceId, i * 2).map((l) => JSON.parse(l) as unknown)
      }))
    const ingested = await cli(["ingest", "-"], env, lines.join("\n") + "\n")
    expect(ingested.stderr).not.toMatch(/line \d+:/)
    expect(ingested.stdout).toContain("ingested 58 spans (30 whole traces) from 30 lines")
    expect(ingested.code).toBe(0)
    const read = await cli(["query", "--tenant", tenantId, "--traces", "--limit", "1000", "--json"], env)
    expect(read.code).toBe(0)
    const traces = read.stdout.trim().split("\n").map((l) => JSON.parse(l) as { traceId: string; createdAt: string; spans: Array<unknown> })
    expect(new Map(traces.map((t) => [t.traceId, t.createdAt]))).toEqual(
      new Map(traceIds.map((id, i) => [id, new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString()]))
    )
    expect(traces.find((t) => t.traceId === traceIds[traceIds.length - 1])?.spans).toEqual([])
  }, 300_000)
})

describe("llmtrace-storage ingest: signals", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal} while reading stops, stores what was accepted, says so and exits ${code}`, async () => {
      const { env, tenantId } = await liteWithTenant(`signal-${signal}`)
      // A named pipe the test keeps open: the command is waiting for more lines when the signal arrives.
      const fifo = path.join(scratch, `signal-${signal}.fifo`)
      execFileSync("mkfifo", [fifo])
      const running = Cli.start(scratch, ["ingest", fifo], env, "ignore")
      const writer = createWriteStream(fifo)
      writer.write(spanLines(tenantId, 7).join("\n") + "\n")
      await running.stderrMatches(/progress: 7 lines/)
      running.child.kill(signal)
      await running.stderrMatches(/interrupted at line/)
      // A read pending on the pipe holds the process until the writer goes (a known limit of named pipes).
      writer.destroy()
      const result = await running.done
      expect(result.code).toBe(code)
      expect(result.stderr).toContain("interrupted at line 7: 7 spans stored")
      expect(result.stderr).not.toContain("error:")
      expect(await spansOf(env, tenantId)).toHaveLength(7)
    }, 240_000)
  }
})
