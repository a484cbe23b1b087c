import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { DeadLetters, newTenantId, newTraceId, StorageQueryError, StorageUnavailable, type TraceSpan } from "../../src/index.js"
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
  const store = (batch: ReadonlyArray<TraceSpan>) =>
    batch.some(refuse)
      ? Effect.fail(new StorageQueryError({ backend: "clickhouse", operation: "test", message: "Type mismatch in column prompt" }))
      : Effect.sync(() => void stored.push(...batch))
  return { stored, store }
}

const ids = (list: ReadonlyArray<TraceSpan>) => list.map((s) => s.spanId).sort()

const run = promisify(execFile)
const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/esm/index.mjs", import.meta.url))
const child = fileURLToPath(new URL("../support/replay-child.ts", import.meta.url))

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
  it.live("replays a 200k-span file (~180 MB) as a stream in a child whose heap could not hold it as one string", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead.jsonl")
      yield* writeLines(file, 200_000)
      // 96 MB of old space: the replay before streaming (readFile to one string) aborts here with
      // "JavaScript heap out of memory"; a streamed replay keeps one 10k batch (~20 MB) at a time.
      const { stdout } = yield* Effect.promise(() =>
        run(process.execPath, ["--max-old-space-size=96", "--import", tsx, child, file], { timeout: 300_000, maxBuffer: 1 << 20 })
      )
      expect(JSON.parse(stdout)).toMatchObject({ replayed: 200_000, rejected: 0, failed: 0, stored: 200_000 })
      expect(existsSync(file)).toBe(false)
      expect(existsSync(`${file}.replay`)).toBe(false)
    }).pipe(Effect.scoped), 360_000)

  it.effect("replays a pending .replay file and then the main file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead.jsonl")
      const [older, newer] = [spans(3), spans(4)]
      yield* DeadLetters.append(`${file}.replay`, older, "an earlier replay was interrupted")
      yield* DeadLetters.append(file, newer, "engine down")
      const { stored, store } = recording()
      expect(yield* DeadLetters.replay(file, store)).toEqual({ replayed: 7, rejected: 0, failed: 0 })
      expect(ids(stored)).toEqual(ids([...older, ...newer]))
      expect(existsSync(file) || existsSync(`${file}.replay`)).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("moves spans that are still refused aside with their reason, and stores the rest", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead.jsonl")
      const list = spans(50, (i) => (i === 17 ? "refused" : `prompt ${i}`))
      yield* DeadLetters.append(file, list)
      const { stored, store } = recording((s) => s.prompt === "refused")
      expect(yield* DeadLetters.replay(file, store, { batchSize: 20 })).toEqual({ replayed: 49, rejected: 0, failed: 1 })
      expect(ids(stored)).toEqual(ids(list.filter((s) => s.prompt !== "refused")))
      const failed = readFileSync(`${file}.failed`, "utf8").trim().split("\n")
      expect(failed).toHaveLength(2)
      expect(failed[0]).toContain("Type mismatch in column prompt")
      expect((JSON.parse(failed[1]!) as { spanId: string }).spanId).toBe(list[17]!.spanId)
      // The next start has nothing left to replay: the bad span no longer blocks it.
      expect(existsSync(file) || existsSync(`${file}.replay`)).toBe(false)
      expect(yield* DeadLetters.replay(file, store)).toEqual({ replayed: 0, rejected: 0, failed: 0 })
    }).pipe(Effect.scoped))

  it.effect("an unavailable engine stops the replay and keeps the file for the next one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead.jsonl")
      const list = spans(5)
      yield* DeadLetters.append(file, list)
      const down = () => Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: "test", message: "connection refused" }))
      const error = yield* Effect.flip(DeadLetters.replay(file, down))
      expect(error._tag).toBe("StorageUnavailable")
      expect(existsSync(`${file}.replay`)).toBe(true)
      const { stored, store } = recording()
      expect(yield* DeadLetters.replay(file, store)).toEqual({ replayed: 5, rejected: 0, failed: 0 })
      expect(ids(stored)).toEqual(ids(list))
    }).pipe(Effect.scoped))

  it.effect("keeps lines that are not spans in .rejected", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "dead.jsonl")
      const list = spans(2)
      writeFileSync(file, `${JSON.stringify(list[0])}\nnot json\n{"traceId":"x"}\n${JSON.stringify(list[1])}\n`)
      const { stored, store } = recording()
      expect(yield* DeadLetters.replay(file, store)).toEqual({ replayed: 2, rejected: 2, failed: 0 })
      expect(stored).toHaveLength(2)
      expect(readFileSync(`${file}.rejected`, "utf8")).toBe("not json\n{\"traceId\":\"x\"}\n")
    }).pipe(Effect.scoped))
})
