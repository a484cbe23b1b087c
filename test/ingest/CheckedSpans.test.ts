import { describe, expect, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { newTenantId, newTraceId, type TraceSpan, TraceWriter } from "../../src/index.js"
import * as CheckedSpans from "../../src/ingest/CheckedSpans.js"
import { span } from "../support/fixtures.js"

// The OTLP receiver checks the spans it maps once (CheckedSpans, so it can report refused ones one by one) and the
// writer does not check that batch again; every other array the writer is given it still checks.

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-checked-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A writer whose sink records what it stores. */
const recordingWriter = Effect.gen(function*() {
  const stored: Array<TraceSpan> = []
  const dir = yield* tempDir
  const writer = yield* TraceWriter.make({ replayOnStart: false, deadLetterPath: path.join(dir, "dead") }).pipe(
    Effect.provideService(TraceWriter.TraceSink, { storeSpans: (batch) => Effect.sync(() => void stored.push(...batch)), storeTraces: () => Effect.void }),
    Effect.provide(NodeFileSystem.layer)
  )
  return { stored, writer }
})

const tenantId = newTenantId()
const traceId = newTraceId()
const valid = (prompt: string) => span(tenantId, traceId, { prompt })

/** Spans the writer must refuse, each for a different reason. */
const invalid: ReadonlyArray<readonly [string, unknown]> = [
  ["an all-zero span id", { ...valid("a"), spanId: "0000000000000000" }],
  ["a lone surrogate", { ...valid("a"), prompt: "x\uD800" }],
  ["a negative token count", { ...valid("a"), promptTokens: -1 }],
  ["an empty model name", { ...valid("a"), modelName: "" }],
  ["a date past 2299", { ...valid("a"), startTime: new Date("2300-01-01T00:00:00Z") }],
  ["a __proto__ tag", { ...valid("a"), tags: JSON.parse("{\"__proto__\":\"x\"}") as Record<string, string> }],
  ["not an object", "span"]
]

describe("CheckedSpans", () => {
  it.scoped("refuses exactly what the writer refuses, saying why, and keeps the accepted spans in order", () =>
    Effect.gen(function*() {
      const { writer } = yield* recordingWriter
      const candidates = [valid("first"), ...invalid.map(([, s]) => s), valid("last")]
      const checked = CheckedSpans.check(candidates)
      expect(checked.spans.map((s) => s.prompt)).toEqual(["first", "last"])
      expect(checked.refused.map((r) => r.index)).toEqual(invalid.map((_, i) => i + 1))
      for (const r of checked.refused) expect(r.reason.length, invalid[r.index - 1]![0]).toBeGreaterThan(0)
      // The writer's own verdict on each candidate, given alone in a plain array.
      for (const [name, s] of invalid) {
        const result = yield* Effect.either(writer.writeAll([s as TraceSpan]))
        expect(result._tag === "Left" ? result.left._tag : "accepted", name).toBe("InvalidInput")
      }
      expect((yield* Effect.either(writer.writeAll([valid("alone")])))._tag).toBe("Right")
    }))

  it.scoped("the writer stores a checked batch as it is; any other array, a copy of one included, it checks", () =>
    Effect.gen(function*() {
      const { stored, writer } = yield* recordingWriter
      const checked = CheckedSpans.check([valid("a"), valid("b")])
      expect(CheckedSpans.isChecked(checked.spans)).toBe(true)
      yield* writer.writeAll(checked.spans)
      yield* writer.flush
      expect(stored.map((s) => s.prompt)).toEqual(["a", "b"])

      const copy = [...checked.spans, { ...valid("c"), spanId: "0000000000000000" } as TraceSpan]
      expect(CheckedSpans.isChecked(copy)).toBe(false)
      const refused = yield* Effect.either(writer.writeAll(copy))
      expect(refused._tag === "Left" ? [refused.left._tag, refused.left.message] : "accepted").toEqual(["InvalidInput", expect.stringContaining("spans.2")])
    }))

  it("a sealed batch (spans each checked where the CLI decoded its lines) is a checked batch, and cannot be changed either", () => {
    const spans = CheckedSpans.sealed([valid("a"), valid("b")])
    expect(CheckedSpans.isChecked(spans)).toBe(true)
    expect(() => (spans as Array<TraceSpan>).push(valid("c"))).toThrow(TypeError)
  })

  it("a checked batch cannot be changed: no span added or replaced after the check", () => {
    const checked = CheckedSpans.check([valid("a")])
    const spans = checked.spans as Array<TraceSpan>
    expect(() => spans.push({ ...valid("b"), spanId: "0000000000000000" } as TraceSpan)).toThrow(TypeError)
    expect(() => {
      spans[0] = { ...valid("b"), spanId: "0000000000000000" } as TraceSpan
    }).toThrow(TypeError)
    expect(spans.map((s) => s.prompt)).toEqual(["a"])
  })
})
