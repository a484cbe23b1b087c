import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { newTenantId, newTraceId, StorageProfile, TraceRepository, TraceWriter } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"
import { span } from "../support/fixtures.js"

// "Last write" is the last call to `write`, whatever the retries, the concurrent batches and the
// dead-letter replays do afterwards: the version is stamped at `write` and carried to the engine.
// Within one process that is the TraceWriter contract (src/testing/TraceWriterContract.ts, run on
// memory, chDB and the ClickHouse HTTP fixture); here, two processes.

const child = fileURLToPath(new URL("../support/last-write-child.ts", import.meta.url))
const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url))

interface Child {
  readonly process: ChildProcess
  /** The next JSON line it prints. */
  readonly next: () => Promise<Record<string, unknown>>
}

const start = (prompt: string, tenantId: string, traceId: string, n: number, env: Record<string, string>): Child => {
  const proc = spawn(process.execPath, ["--import", tsx, child, prompt, tenantId, traceId, String(n)], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]()
  return {
    process: proc,
    next: async () => {
      const line = await lines.next()
      if (line.done === true) throw new Error(`${prompt}: exited before printing what the test waits for`)
      return JSON.parse(line.value) as Record<string, unknown>
    }
  }
}
const exited = (c: Child) =>
  new Promise<number | null>((resolve) => (c.process.exitCode !== null ? resolve(c.process.exitCode) : c.process.once("exit", (code) => resolve(code))))

describe("last write wins across two processes (ClickHouse HTTP fixture over chDB)", () => {
  it.live("A writes, then B writes the same span ids; B's insert reaches the engine first, A's last: B's copies are stored", () =>
    Effect.gen(function*() {
      const fixture = yield* ClickHouseHttp.serve({ users: { llmtrace: ClickHouseHttp.password } })
      const database = "llmtrace_lastwrite_processes"
      // The parent migrates and reads; the children only write.
      const context = yield* Layer.build(ClickHouseTraceRepository.layer().pipe(
        Layer.provide(ClickHouseClient.layer({ url: Redacted.make(fixture.url), database, username: "llmtrace", password: Redacted.make(ClickHouseHttp.password) }))
      ))
      const repo = Context.get(context, TraceRepository.TraceRepository)
      const env = { LLMTRACE_CLICKHOUSE_URL: fixture.url, LLMTRACE_CLICKHOUSE_DATABASE: database, LLMTRACE_CLICKHOUSE_USER: "llmtrace", LLMTRACE_CLICKHOUSE_PASSWORD: ClickHouseHttp.password }
      const tenantId = newTenantId()
      const traceId = newTraceId()
      const n = 50
      const [a, b] = yield* Effect.promise(async () => {
        const a = start("A", tenantId, traceId, n, env)
        const writtenA = (await a.next()).written as [number, number]
        // B starts only once A has written every span: each of B's writes is later than each of A's.
        const b = start("B", tenantId, traceId, n, env)
        const writtenB = (await b.next()).written as [number, number]
        // B's batch goes first and is stored; only then does A's (older) batch go.
        b.process.stdin!.end("go\n")
        const storedB = (await b.next()).stored
        expect(await exited(b)).toBe(0)
        a.process.stdin!.end("go\n")
        const storedA = (await a.next()).stored
        expect(await exited(a)).toBe(0)
        return [{ written: writtenA, stored: storedA }, { written: writtenB, stored: storedB }] as const
      })
      expect([a.stored, b.stored]).toEqual([n, n])
      // The versions are ordered as docs/DESIGN.md says: by the wall clock at `write`.
      expect(b.written[0]).toBeGreaterThan(a.written[1])
      const stored = Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).spans
      expect(stored.map((s) => s.prompt).sort()).toEqual(Array.from({ length: n }, (_, i) => `B ${i}`).sort())
    }).pipe(Effect.scoped), 180_000)
})

describe("the memory profile's dead letters", () => {
  it.live("never touch a file: a lite dead-letter file in the working directory is left as it is", () => {
    const dir = path.resolve(".llmtrace")
    const file = path.join(dir, "dead-letters.jsonl")
    const created = !existsSync(dir)
    if (created) mkdirSync(dir)
    const line = JSON.stringify(span(newTenantId(), newTraceId())) + "\n"
    const before = existsSync(file) ? readFileSync(file, "utf8") : undefined
    if (before === undefined) writeFileSync(file, line)
    return Effect.gen(function*() {
      const writer = yield* TraceWriter.TraceWriter
      yield* writer.write(span(newTenantId(), newTraceId()))
      yield* writer.flush
      expect(readFileSync(file, "utf8")).toBe(before ?? line)
      expect(existsSync(path.resolve("dead-letters"))).toBe(false)
      expect(StorageProfile.deadLetterPath({ profile: "memory" })).toBeUndefined()
    }).pipe(
      Effect.scoped,
      Effect.provide(StorageProfile.memory),
      Effect.ensuring(Effect.sync(() => {
        if (before === undefined) rmSync(created ? dir : file, { recursive: true, force: true })
      }))
    )
  })

  it("the lite profile's is absolute, under its data directory", () => {
    expect(StorageProfile.deadLetterPath({ profile: "lite", dataDir: "rel/data" })).toBe(path.resolve("rel/data", "dead-letters"))
  })
})
