import { afterAll, describe, expect, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { SpanId, TenantId, TraceId, TraceSpan } from "../../src/index.js"
import * as DeadLetters from "../../src/internal/ingest/DeadLetters.js"
import * as Cli from "../support/cli.js"
import { deadLines } from "../support/deadLetters.js"
import { freePort, silentServer } from "../support/ports.js"

// SIGTERM in every phase a user can be in: the command stops, exits with code 143 by itself (README: 128 + 15; not
// killed by the signal), and loses nothing it accepted. Each wait for the exit is bounded (Cli.stop): a phase that
// ignored the signal fails the test.
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-signals-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

const until = async (condition: () => boolean, what: string, running: Cli.Running) => {
  let exited = false
  void running.done.then(() => (exited = true))
  while (!condition()) {
    if (exited) throw new Error(`exited before ${what}: ${(await running.done).stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string>) => Cli.cli(scratch, args, env)

/** A lite data directory with one tenant (and its API token); returns its environment and the tenant's id. */
const liteWithTenant = async (name: string) => {
  const env = { LLMTRACE_DATA_DIR: path.join(scratch, name) }
  const created = await cli(["tenants", "create", "--name", name, "--token", `tok-${name}`], env)
  expect(created.code).toBe(0)
  return { env, tenantId: uuid.exec(created.stdout)![0] }
}

/** Traces and spans of a tenant, as `stats --tenant` prints them. */
const countsOf = async (env: Record<string, string>, tenantId: string) => {
  const stats = await cli(["stats", "--tenant", tenantId], env)
  expect(stats.code, stats.stderr).toBe(0)
  const row = stats.stdout.split("\n").find((line) => line.startsWith(tenantId))!.trim().split(/\s+/)
  return { traces: Number(row[1]), spans: Number(row[2]) }
}

const span = (tenantId: string, trace: number, n: number) =>
  TraceSpan.make({
    traceId: TraceId.make(`11111111-1111-4111-8111-${String(trace).padStart(12, "0")}`),
    spanId: SpanId.make(`22222222-2222-4222-8222-${String(n).padStart(12, "0")}`),
    tenantId: TenantId.make(tenantId),
    operationName: "chat",
    startTime: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    provider: "OpenAI",
    modelName: "gpt-4o",
    prompt: `prompt ${n}`
  })

describe("SIGTERM in every phase of llmtrace-storage", () => {
  it("opening storage, a connection pending (PostgreSQL or Redis, whichever comes first): health, migrate, ingest and serve stop with exit 143", async () => {
    const file = path.join(scratch, "one.jsonl")
    writeFileSync(file, JSON.stringify(span("33333333-3333-4333-8333-333333333333", 1, 1)) + "\n")
    for (const args of [["health"], ["migrate"], ["ingest", file], ["serve", "--port", String(await freePort())]]) {
      // Servers that accept connections and never answer: the command waits on them (the timeouts are far away).
      const postgres = await silentServer()
      const redis = await silentServer()
      try {
        const running = Cli.start(scratch, args, {
          LLMTRACE_STORAGE_PROFILE: "production",
          LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(scratch, "opening-dead-letters"),
          LLMTRACE_CLICKHOUSE_URL: "chdb::memory:",
          LLMTRACE_AUTO_MIGRATE: "true",
          LLMTRACE_POSTGRES_URL: `postgres://llmtrace@127.0.0.1:${postgres.port}/llmtrace`,
          LLMTRACE_POSTGRES_CONNECT_TIMEOUT: "10 minutes",
          LLMTRACE_REDIS_URL: `redis://127.0.0.1:${redis.port}`,
          LLMTRACE_REDIS_CONNECT_TIMEOUT: "10 minutes"
        }, "ignore")
        await Promise.race([postgres.connected, redis.connected, running.done.then((r) => Promise.reject(new Error(`${args[0]} exited first: ${r.stderr}`)))])
        const result = await Cli.stop(running)
        expect([result.code, result.signal], `${args[0]}: ${result.stderr}`).toEqual([143, null])
        expect(result.stderr, args[0]).not.toContain("error:")
      } finally {
        await postgres.close()
        await redis.close()
      }
    }
  }, 600_000)

  it("creating the lite data directory: exit 143, and the next command opens the directory and migrates it", async () => {
    const dir = path.join(scratch, "fresh", "data")
    const running = Cli.start(scratch, ["migrate"], { LLMTRACE_DATA_DIR: dir }, "ignore")
    await until(() => existsSync(dir), "creating the data directory", running)
    const result = await Cli.stop(running)
    expect([result.code, result.signal], result.stderr).toEqual([143, null])
    const again = await cli(["migrate", "--json"], { LLMTRACE_DATA_DIR: dir })
    expect(again.stderr).toBe("")
    expect(again.code).toBe(0)
    expect(again.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { pending: Array<string> }).pending)).toEqual([[], []])
  }, 300_000)

  it("ingest mid-file (lite, a large file): stops where it was, exit 143, and the spans it reports are exactly those stored", async () => {
    const { env, tenantId } = await liteWithTenant("ingest")
    const total = 40_000
    // Line 5001 is bad: its report says the ingest is under way, with a batch of spans handed to the writer already.
    const lines = Array.from({ length: total }, (_, i) => (i === 5_000 ? "not json" : JSON.stringify(span(tenantId, Math.floor(i / 10), i))))
    const file = path.join(scratch, "large.jsonl")
    writeFileSync(file, lines.join("\n") + "\n")
    const running = Cli.start(scratch, ["ingest", file], env, "ignore")
    await running.stderrMatches(/line 5001: not JSON/)
    const result = await Cli.stop(running)
    expect([result.code, result.signal], result.stderr).toEqual([143, null])
    const interrupted = /interrupted at line (\d+): (\d+) spans stored\n/.exec(result.stderr)
    expect(interrupted, `stderr: ${result.stderr}\nstdout: ${result.stdout}`).not.toBeNull()
    const [line, stored] = [Number(interrupted![1]), Number(interrupted![2])]
    expect(line).toBeGreaterThanOrEqual(5_001)
    expect(line).toBeLessThan(total)
    expect((await countsOf(env, tenantId)).spans).toBe(stored)
    expect(deadLines(path.join(env.LLMTRACE_DATA_DIR, "dead-letters"))).toEqual([])
  }, 300_000)

  it("replay-dead-letters mid-replay (lite): exit 143, and the next replay stores every dead letter, none lost", async () => {
    const env = { LLMTRACE_DATA_DIR: path.join(scratch, "replay") }
    expect((await cli(["migrate"], env)).code).toBe(0)
    const dir = path.join(env.LLMTRACE_DATA_DIR, "dead-letters")
    const tenantId = "44444444-4444-4444-8444-444444444444"
    const segments = 20
    const perSegment = 2_000
    await Effect.runPromise(Effect.forEach(Array.from({ length: segments }, (_, s) => s), (s) => {
      const spans = Array.from({ length: perSegment }, (_, i) => span(tenantId, s, s * perSegment + i))
      return DeadLetters.append(dir, { spans, versions: spans.map((_, i) => 1_000 + s * perSegment + i) }, "engine down")
    }, { discard: true }).pipe(Effect.provide(NodeFileSystem.layer)))

    const running = Cli.start(scratch, ["replay-dead-letters"], env, "ignore")
    // A replayer claims each segment by renaming it: the first claim means the replay is under way.
    await until(() => readdirSync(dir).some((name) => name.includes(".claimed-")), "claiming a segment", running)
    const result = await Cli.stop(running)
    expect([result.code, result.signal], result.stderr).toEqual([143, null])
    expect(readdirSync(dir).filter((name) => name.endsWith(".jsonl")).length).toBeGreaterThan(0)

    const again = await cli(["replay-dead-letters"], env)
    expect(again.stderr).toBe("")
    expect(again.code).toBe(0)
    expect(deadLines(dir)).toEqual([])
    expect(await countsOf(env, tenantId)).toEqual({ traces: segments, spans: segments * perSegment })
  }, 300_000)

  it("serve with a client stalled mid-request: what others sent is stored, exit 143 (the stalled connection is closed)", async () => {
    const { env, tenantId } = await liteWithTenant("serve")
    const port = await freePort()
    const running = Cli.start(scratch, ["serve", "--port", String(port)], { ...env, LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL: "1 hour" }, "ignore")
    await running.stderrMatches(/listening on/)
    // Headers and the first byte of a 1000-byte body, then nothing: the request stays open.
    const stalled = net.connect(port, "127.0.0.1")
    stalled.on("error", () => undefined)
    const closed = new Promise<void>((resolve) => stalled.on("close", () => resolve()))
    await new Promise<void>((resolve) =>
      stalled.write(
        `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer tok-serve\r\nContent-Length: 1000\r\n\r\n{`,
        () => resolve()
      )
    )
    const traceId = "0af7651916cd43dd8448eb211c80319c"
    const body = JSON.stringify({
      resourceSpans: [{
        scopeSpans: [{ spans: ["b7ad6b7169203331", "b7ad6b7169203332"].map((spanId) => ({ traceId, spanId, name: "chat", startTimeUnixNano: "1700000000000000000" })) }]
      }]
    })
    const sent = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/json", authorization: "Bearer tok-serve" } })
    expect(sent.status).toBe(200)
    const result = await Cli.stop(running)
    expect(result.stderr).toContain("stopped: every accepted span is stored")
    expect([result.code, result.signal]).toEqual([143, null])
    await closed
    expect(await countsOf(env, tenantId)).toEqual({ traces: 1, spans: 2 })
  }, 300_000)
})
