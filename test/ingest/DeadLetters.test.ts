import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { newTenantId, newTraceId, StorageQueryError, StorageUnavailable, type TraceSpan } from "../../src/index.js"
import * as DeadLetters from "../../src/internal/ingest/DeadLetters.js"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as SpanVersion from "../../src/domain/SpanVersion.js"
import { deadLines, deadSpans, rejected } from "../support/deadLetters.js"
import { span } from "../support/fixtures.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-dead-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const spans = (n: number, prompt = (i: number) => `prompt ${i}`) => {
  const tenantId = newTenantId()
  const traceId = newTraceId()
  return Array.from({ length: n }, (_, i) => span(tenantId, traceId, { prompt: prompt(i) }))
}

const recording = (refuse: (s: TraceSpan) => boolean = () => false) => {
  const stored: Array<TraceSpan> = []
  const versions: Array<number> = []
  const sink = {
    storeSpans: (batch: ReadonlyArray<TraceSpan>, v: ReadonlyArray<number>) =>
      batch.some(refuse)
        ? Effect.fail(new StorageQueryError({ backend: "clickhouse", operation: "test", message: "Type mismatch in column prompt" }))
        : Effect.sync(() => {
          stored.push(...batch)
          versions.push(...v)
        }),
    storeTraces: () => Effect.void
  }
  return { stored, versions, sink }
}

const letters = (list: ReadonlyArray<TraceSpan>) => ({ spans: list, versions: SpanVersion.nextRange(list.length) })

const ids = (list: ReadonlyArray<TraceSpan>) => list.map((s) => s.spanId).sort()

const run = promisify(execFile)
const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/esm/index.mjs", import.meta.url))
const child = fileURLToPath(new URL("../support/replay-child.ts", import.meta.url))
const sharer = fileURLToPath(new URL("../support/dead-letters-child.ts", import.meta.url))

/** Writes n span lines (~900 bytes each) with a write stream: the test process never holds the file either. */
const writeLines = (file: string, n: number) =>
  Effect.async<void, Error>((resume) => {
    const out = createWriteStream(file)
    const [traceId, tenantId, prompt] = [randomUUID(), randomUUID(), "p".repeat(600)]
    let i = 0
    const fill = () => {
      let ok = true
      while (i < n && ok) {
        ok = out.write(JSON.stringify({ traceId, spanId: randomUUID(), tenantId, operationName: "chat", startTime: "2026-01-01T00:00:00.000Z", provider: "OpenAI", modelName: "gpt-4o", prompt: `${prompt}${i}`, securityFindings: [], tags: {}, events: [], agentActions: [] }) + "\n")
        i++
      }
      if (i < n) out.once("drain", fill)
      else out.end()
    }
    out.on("error", (e) => resume(Effect.fail(e)))
    out.on("finish", () => resume(Effect.void))
    fill()
  })

describe("DeadLetters", () => {
  it.live("replays a 200k-span segment (~180 MB) as a stream in a child whose heap could not hold it as one string", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const dead = path.join(dir, "dead")
      mkdirSync(dead)
      yield* writeLines(path.join(dead, "000000000000001-legacy.jsonl"), 200_000)
      // 96 MB of old space: a replay that read a file to one string aborts here with
      // "JavaScript heap out of memory"; a streamed replay keeps one 10k batch (~20 MB) at a time.
      const { stdout } = yield* Effect.promise(() =>
        run(process.execPath, ["--max-old-space-size=96", "--import", tsx, child, dead], { timeout: 300_000, maxBuffer: 1 << 20 })
      )
      expect(JSON.parse(stdout)).toMatchObject({ replayed: 200_000, rejected: 0, failed: 0, stored: 200_000 })
      expect(deadLines(dead)).toEqual([])
    }).pipe(Effect.scoped), 360_000)

  it.effect("keeps each span's version: a replay stores it with the version stamped when it was written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const list = spans(5)
      const written = letters(list)
      yield* DeadLetters.append(dir, written, "engine down")
      const r = recording()
      expect(yield* DeadLetters.replay(dir, r.sink)).toEqual({ replayed: 5, tracesReplayed: 0, rejected: 0, failed: 0 })
      expect(r.versions).toEqual(written.versions)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("moves spans that are still refused to failed/ with their reason per line, stores the rest, and --failed replays them on purpose", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const list = spans(50, (i) => (i === 17 ? "refused" : `prompt ${i}`))
      yield* DeadLetters.append(dir, letters(list), "engine down")
      const first = recording((s) => s.prompt === "refused")
      expect(yield* DeadLetters.replay(dir, first.sink, { batchSize: 20 })).toEqual({ replayed: 49, tracesReplayed: 0, rejected: 0, failed: 1 })
      expect(ids(first.stored)).toEqual(ids(list.filter((s) => s.prompt !== "refused")))
      const failed = deadSpans(dir, "failed")
      expect(failed).toHaveLength(1)
      expect(failed[0]!.reason).toContain("Type mismatch in column prompt")
      expect(failed[0]!.span.spanId).toBe(list[17]!.spanId)
      // The next automatic replay has nothing left: the bad span no longer blocks a start.
      expect(deadLines(dir, "pending")).toEqual([])
      expect(yield* DeadLetters.replay(dir, first.sink)).toEqual({ replayed: 0, tracesReplayed: 0, rejected: 0, failed: 0 })
      // The cause fixed: replayed on purpose.
      const fixed = recording()
      expect(yield* DeadLetters.replay(dir, fixed.sink, { failed: true })).toEqual({ replayed: 1, tracesReplayed: 0, rejected: 0, failed: 0 })
      expect(ids(fixed.stored)).toEqual([list[17]!.spanId])
      expect(deadLines(dir)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("an unavailable engine stops the replay and gives the segment back for the next one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const list = spans(5)
      yield* DeadLetters.append(dir, letters(list), "engine down")
      const down = { storeSpans: () => Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: "test", message: "connection refused" })), storeTraces: () => Effect.void }
      const error = yield* Effect.flip(DeadLetters.replay(dir, down))
      expect(error._tag).toBe("StorageUnavailable")
      expect(deadSpans(dir, "pending")).toHaveLength(5)
      const r = recording()
      expect(yield* DeadLetters.replay(dir, r.sink)).toEqual({ replayed: 5, tracesReplayed: 0, rejected: 0, failed: 0 })
      expect(ids(r.stored)).toEqual(ids(list))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("keeps lines that are not dead letters, and lines over maxLineBytes, in rejected/ by line number, and goes on", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const list = spans(2)
      writeFileSync(path.join(dir, "000000000000001-hand.jsonl"), `${JSON.stringify(list[0])}\nnot json\n{"traceId":"x"}\n${"x".repeat(5_000)}\n${JSON.stringify({ version: 7, span: list[1] })}\n`)
      const r = recording()
      expect(yield* DeadLetters.replay(dir, r.sink, { maxLineBytes: 4_096 })).toEqual({ replayed: 2, tracesReplayed: 0, rejected: 3, failed: 0 })
      expect(ids(r.stored)).toEqual(ids(list))
      expect(r.versions[1]).toBe(7)
      expect(rejected(dir).map((l) => [l.line, l.reason])).toEqual([
        [2, "not JSON"],
        [3, "not a valid span"],
        [4, "line 4 is 5000 bytes, over maxLineBytes (4096)"]
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("adopts a dead-letter file of the old layout beside the directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const list = spans(3)
      const dead = path.join(dir, "dead-letters")
      writeFileSync(`${dead}.jsonl`, list.map((s) => JSON.stringify(s)).join("\n") + "\n")
      const r = recording()
      expect(yield* DeadLetters.replay(dead, r.sink)).toMatchObject({ replayed: 3 })
      expect(existsSync(`${dead}.jsonl`)).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.live("three appenders and two replayers share one directory, one replayer SIGKILLed mid-replay: every span is stored, none lost", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const dir = path.join(root, "dead")
      const storeA = path.join(root, "a.ids")
      const storeB = path.join(root, "b.ids")
      const spawnChild = (args: ReadonlyArray<string>) => spawn(process.execPath, ["--import", tsx, sharer, ...args], { stdio: ["ignore", "pipe", "inherit"] })
      const output = (p: ChildProcess) =>
        new Promise<{ stdout: string; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
          let stdout = ""
          p.stdout!.on("data", (d) => (stdout += String(d)))
          p.on("exit", (code, signal) => resolve({ stdout, code, signal }))
        })
      // A is slow (each batch of 100 takes 40 ms), so it is killed with a segment claimed and half stored.
      const a = spawnChild(["replay", dir, storeA, "40"])
      const b = spawnChild(["replay", dir, storeB, "0"])
      const [aDone, bDone] = [output(a), output(b)]
      const appenders = [0, 1, 2].map(() => output(spawnChild(["append", dir, "3000", "250"])))
      // Killed once it stored something: mid-replay.
      yield* Effect.promise(async () => {
        while (!existsSync(storeA) || readFileSync(storeA, "utf8").length === 0) await new Promise((r) => setTimeout(r, 10))
      })
      a.kill("SIGKILL")
      const appended = yield* Effect.promise(() => Promise.all(appenders))
      for (const r of appended) expect(r.code).toBe(0)
      writeFileSync(path.join(root, "stop"), "")
      const [aExit, bExit] = yield* Effect.promise(() => Promise.all([aDone, bDone]))
      expect(aExit.signal).toBe("SIGKILL")
      expect(bExit.code).toBe(0)
      // Whatever A held when it died is claimed again (its pid is gone) by this last replay.
      const last = recording()
      yield* DeadLetters.replay(dir, last.sink)
      const accepted = new Set(appended.flatMap((r) => JSON.parse(r.stdout) as Array<string>))
      const idsIn = (f: string) => (existsSync(f) ? readFileSync(f, "utf8").split("\n").filter((l) => l !== "") : [])
      const stored = new Set([...idsIn(storeA), ...idsIn(storeB), ...last.stored.map((s) => s.spanId)])
      expect(accepted.size).toBe(9_000)
      expect([...accepted].filter((id) => !stored.has(id))).toEqual([])
      expect([...stored].filter((id) => !accepted.has(id))).toEqual([])
      // A really was killed with work in hand: it stored part of the spans, not all of them.
      expect(idsIn(storeA).length).toBeGreaterThan(0)
      expect(idsIn(storeA).length).toBeLessThan(9_000)
      expect(deadLines(dir)).toEqual([])
      expect(readdirSync(dir).filter((n) => n !== "failed" && n !== "rejected")).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)), 240_000)
})
