import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import {
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  newSpanId,
  newTenantId,
  newTraceId,
  SpanFilters,
  SpanId,
  type TenantId,
  TraceEvent,
  TraceId,
  TraceQuery,
  TraceRepository,
  type TraceSpan,
  spanStorageBytes
} from "../index.js"
import { at, bigString, complexSpan, hostileStrings, ids, prompts, sortSpans, span } from "./Fixtures.js"
import { traceRepositoryProperties } from "./TraceRepositoryProperties.js"

const Repo = TraceRepository.TraceRepository

const q = (tenantId: TenantId, rest: Partial<Parameters<typeof TraceQuery.make>[0]> = {}) =>
  TraceQuery.make({ tenantId, ...rest })

/** A trace of `n` spans, one minute apart from `start`. */
const traceOf = (tenantId: TenantId, start: number, n: number, overrides: Partial<Parameters<typeof span>[2]> = {}) => {
  const traceId = newTraceId()
  return TraceEvent.make({
    tenantId,
    traceId,
    createdAt: at(start),
    spans: Array.from({ length: n }, (_, i) => span(tenantId, traceId, { startTime: at(start + i), ...overrides }))
  })
}

const traceIds = (traces: ReadonlyArray<TraceEvent>) => traces.map((t) => t.traceId)

/**
 * The behaviour every TraceRepository must have. Each test works in fresh tenants, so one layer
 * (one database) serves the whole file and live backends need no cleanup between tests.
 */
export const traceRepositoryContract = <E>(
  name: string,
  repository: Layer.Layer<TraceRepository.TraceRepository, E>,
  options: { readonly timeout?: number; readonly excludeTestServices?: boolean } = {}
) =>
  layer(repository, { timeout: "120 seconds", excludeTestServices: options.excludeTestServices ?? false })(
    `TraceRepository contract: ${name}`,
    (it) => {
      const timeout = options.timeout ?? 60_000

      describe("store and read", () => {
        it.effect("round-trips a trace and its spans through queryTraces and getTrace", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId } = ids()
            const trace = traceOf(tenantId, 0, 3)
            yield* repo.storeTrace(trace)
            const found = yield* repo.queryTraces(q(tenantId))
            expect(found).toHaveLength(1)
            expect(found[0]!.traceId).toBe(trace.traceId)
            expect(found[0]!.createdAt).toEqual(trace.createdAt)
            expect(sortSpans(found[0]!.spans)).toEqual(sortSpans(trace.spans))
            const got = yield* repo.getTrace(tenantId, trace.traceId)
            expect(Option.getOrThrow(got)).toEqual({ ...trace, spans: sortSpans(trace.spans) })
          }), timeout)

        it.effect("stores a single span with storeSpan; its trace then exists, created at the span's start", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const s = span(tenantId, traceId, { startTime: at(5) })
            yield* repo.storeSpan(s)
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, s.spanId))).toEqual(s)
            const trace = Option.getOrThrow(yield* repo.getTrace(tenantId, traceId))
            expect(trace.spans).toEqual([s])
            expect(trace.createdAt).toEqual(at(5))
          }), timeout)

        it.effect("assembles one trace from spans stored separately and out of order", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const spans = [at(3), at(1), at(2)].map((t) => span(tenantId, traceId, { startTime: t }))
            yield* repo.storeSpan(spans[0]!)
            yield* repo.storeSpans([spans[2]!])
            yield* repo.storeSpan(spans[1]!)
            const traces = yield* repo.queryTraces(q(tenantId))
            expect(traceIds(traces)).toEqual([traceId])
            expect(sortSpans(traces[0]!.spans)).toEqual(sortSpans(spans))
            expect(traces[0]!.createdAt).toEqual(at(1))
            expect((yield* repo.getStats(tenantId)).totalTraces).toBe(1)
          }), timeout)

        it.effect("stores a batch of spans across several traces with storeSpans", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const spans = Array.from({ length: 30 }, (_, i) => span(tenantId, newTraceId(), { startTime: at(i) }))
            yield* repo.storeSpans(spans)
            yield* repo.storeSpans([])
            const stats = yield* repo.getStats(tenantId)
            expect(stats.totalSpans).toBe(30)
            expect(stats.totalTraces).toBe(30)
          }), timeout)

        it.effect("returns none for a missing trace or span", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            expect(Option.isNone(yield* repo.getTrace(tenantId, traceId))).toBe(true)
            expect(Option.isNone(yield* repo.getSpan(tenantId, newSpanId()))).toBe(true)
          }), timeout)

        it.effect("stores OpenTelemetry ids (32/16 hex) as given and finds them by those ids, beside UUIDs", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traceId = TraceId.make(randomBytes(16).toString("hex"))
            const root = span(tenantId, traceId, { spanId: SpanId.make(randomBytes(8).toString("hex")), startTime: at(1) })
            const child = span(tenantId, traceId, { spanId: SpanId.make(randomBytes(8).toString("hex")), parentSpanId: root.spanId, startTime: at(2) })
            // A UUID span under an OpenTelemetry parent, and UUID data of the same tenant beside it.
            const mixed = span(tenantId, traceId, { parentSpanId: child.spanId, startTime: at(3) })
            const old = traceOf(tenantId, 0, 1)
            yield* repo.storeSpans([root, child, mixed])
            yield* repo.storeTrace(old)
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, child.spanId))).toEqual(child)
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, mixed.spanId)).parentSpanId).toBe(child.spanId)
            expect(sortSpans(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).spans)).toEqual(sortSpans([root, child, mixed]))
            expect((yield* repo.querySpans(q(tenantId, { traceId }))).map((s) => s.spanId).sort()).toEqual([root, child, mixed].map((s) => s.spanId).sort())
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, old.traceId))).toEqual(old)
            expect(Option.isNone(yield* repo.getTrace(newTenantId(), traceId))).toBe(true)
          }), timeout)

        it.effect("refuses ids that are neither a UUID nor lowercase OpenTelemetry hex (uppercase, all zeros, wrong length)", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const bad = [
              { traceId: "A".repeat(32), path: "traceId" },
              { traceId: "0".repeat(32), path: "traceId" },
              { traceId: "ab".repeat(8), path: "traceId" },
              { spanId: "0".repeat(16), path: "spanId" },
              { spanId: "ABCDEF0123456789", path: "spanId" },
              { spanId: "ab".repeat(16), path: "spanId" },
              { parentSpanId: "abc", path: "parentSpanId" }
            ]
            for (const { path, ...ids } of bad) {
              const error = yield* Effect.flip(repo.storeSpan({ ...span(tenantId, traceId), ...ids } as TraceSpan))
              expect(error._tag === "InvalidInput" && error.path).toEqual([path])
            }
            const get = yield* Effect.flip(repo.getTrace(tenantId, "0".repeat(32) as TraceId))
            expect(get._tag).toBe("InvalidInput")
            expect((yield* repo.getStats(tenantId)).totalSpans).toBe(0)
          }), timeout)

        it.effect("stores and returns a trace with no spans", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const trace = traceOf(newTenantId(), 7, 0)
            yield* repo.storeTrace(trace)
            expect(Option.getOrThrow(yield* repo.getTrace(trace.tenantId, trace.traceId))).toEqual(trace)
            expect(traceIds(yield* repo.queryTraces(q(trace.tenantId)))).toEqual([trace.traceId])
            const stats = yield* repo.getStats(trace.tenantId)
            expect([stats.totalTraces, stats.totalSpans]).toEqual([1, 0])
          }), timeout)

        it.effect("round-trips every field of a complex span: findings, events, agent actions, tags", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const s = complexSpan(tenantId, traceId, at(1))
            yield* repo.storeTrace(TraceEvent.make({ tenantId, traceId, createdAt: at(1), spans: [s] }))
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, s.spanId))).toEqual(s)
            expect((yield* repo.querySpans(q(tenantId)))[0]).toEqual(s)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).spans[0]).toEqual(s)
          }), timeout)

        it.effect("keeps hostile strings and a 1 MB prompt byte-identical", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const spans = [...hostileStrings, bigString(1024 * 1024), ...prompts.slice(0, 20)].map((text, i) =>
              span(tenantId, traceId, {
                startTime: at(i),
                prompt: text,
                response: text,
                errorMessage: text,
                tags: { [text.slice(0, 200) || "k"]: text.slice(0, 500) },
                operationName: text.slice(0, 100) || "op"
              })
            )
            yield* repo.storeSpans(spans)
            for (const s of spans) expect(Option.getOrThrow(yield* repo.getSpan(tenantId, s.spanId))).toEqual(s)
          }), timeout)
      })

      describe("idempotence", () => {
        it.effect("storing the same trace twice changes nothing", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const trace = traceOf(tenantId, 0, 4)
            yield* repo.storeTrace(trace)
            const before = yield* repo.getStats(tenantId)
            yield* repo.storeTrace(trace)
            yield* repo.storeSpans(trace.spans)
            yield* repo.storeSpan(trace.spans[0]!)
            expect(yield* repo.getStats(tenantId)).toEqual(before)
            expect(before.totalTraces).toBe(1)
            expect(before.totalSpans).toBe(4)
            const traces = yield* repo.queryTraces(q(tenantId))
            expect(traces).toHaveLength(1)
            expect(traces[0]!.spans).toHaveLength(4)
            expect(yield* repo.querySpans(q(tenantId))).toHaveLength(4)
          }), timeout)

        it.effect("a re-stored span replaces the earlier copy (last write wins)", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const first = span(tenantId, traceId, { startTime: at(1) })
            const finished: TraceSpan = { ...first, endTime: at(2), response: "done", durationMs: 60_000, securityScore: 10 }
            yield* repo.storeSpan(first)
            yield* repo.storeSpan(finished)
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, first.spanId))).toEqual(finished)
            expect(yield* repo.querySpans(q(tenantId))).toEqual([finished])
          }), timeout)
      })

      describe("queries", () => {
        it.effect("returns traces newest first and pages with limit and offset", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traces = [0, 10, 20, 30, 40].map((m) => traceOf(tenantId, m, 2))
            yield* Effect.forEach([traces[2]!, traces[0]!, traces[4]!, traces[1]!, traces[3]!], repo.storeTrace)
            const newestFirst = [...traces].reverse().map((t) => t.traceId)
            expect(traceIds(yield* repo.queryTraces(q(tenantId)))).toEqual(newestFirst)
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { limit: 2 })))).toEqual(newestFirst.slice(0, 2))
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { limit: 2, offset: 2 })))).toEqual(newestFirst.slice(2, 4))
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { offset: 4 })))).toEqual(newestFirst.slice(4))
            expect(yield* repo.queryTraces(q(tenantId, { offset: 5 }))).toEqual([])
            const spans = yield* repo.querySpans(q(tenantId, { limit: 3 }))
            expect(spans.map((s) => s.startTime)).toEqual([at(41), at(40), at(31)])
            expect((yield* repo.querySpans(q(tenantId, { limit: 3, offset: 3 }))).map((s) => s.startTime)).toEqual([at(30), at(21), at(20)])
          }), timeout)

        it.effect("filters by time range (inclusive): traces by createdAt, spans by startTime", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traces = [0, 10, 20, 30].map((m) => traceOf(tenantId, m, 2))
            yield* Effect.forEach(traces, repo.storeTrace)
            const ranged = yield* repo.queryTraces(q(tenantId, { startTime: at(10), endTime: at(20) }))
            expect(traceIds(ranged)).toEqual([traces[2]!.traceId, traces[1]!.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { startTime: at(25) })))).toEqual([traces[3]!.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { endTime: at(5) })))).toEqual([traces[0]!.traceId])
            const spans = yield* repo.querySpans(q(tenantId, { startTime: at(11), endTime: at(21) }))
            expect(spans.map((s) => s.startTime)).toEqual([at(21), at(20), at(11)])
          }), timeout)

        it.effect("filters by provider, model and operation", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const a = traceOf(tenantId, 0, 1, { provider: "Anthropic", modelName: "claude", operationName: "chat" })
            const b = traceOf(tenantId, 1, 1, { provider: "OpenAI", modelName: "gpt-4o", operationName: "embedding" })
            const c = traceOf(tenantId, 2, 1, { provider: "my-custom-llm", modelName: "claude", operationName: "embedding" })
            yield* Effect.forEach([a, b, c], repo.storeTrace)
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { provider: "Anthropic" })))).toEqual([a.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { provider: "my-custom-llm" })))).toEqual([c.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { modelName: "claude" })))).toEqual([c.traceId, a.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { operationName: "embedding" })))).toEqual([c.traceId, b.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { modelName: "claude", operationName: "embedding" })))).toEqual([c.traceId])
            expect(yield* repo.queryTraces(q(tenantId, { provider: "Bedrock" }))).toEqual([])
            expect((yield* repo.querySpans(q(tenantId, { provider: "OpenAI" }))).map((s) => s.traceId)).toEqual([b.traceId])
          }), timeout)

        it.effect("filters by security score range; a span without a score matches no score filter", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const scored = [10, 50, 90].map((score, i) => traceOf(tenantId, i, 1, { securityScore: score }))
            const unscored = traceOf(tenantId, 5, 1)
            yield* Effect.forEach([...scored, unscored], repo.storeTrace)
            const ids = (traces: ReadonlyArray<TraceEvent>) => traceIds(traces).sort()
            expect(ids(yield* repo.queryTraces(q(tenantId, { minSecurityScore: 50 })))).toEqual(ids([scored[1]!, scored[2]!]))
            expect(ids(yield* repo.queryTraces(q(tenantId, { maxSecurityScore: 50 })))).toEqual(ids([scored[0]!, scored[1]!]))
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { minSecurityScore: 11, maxSecurityScore: 89 })))).toEqual([scored[1]!.traceId])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { minSecurityScore: 0, maxSecurityScore: 100 })))).toHaveLength(3)
            expect((yield* repo.querySpans(q(tenantId, { minSecurityScore: 90 }))).map((s) => s.securityScore)).toEqual([90])
          }), timeout)

        it.effect("filters by trace id", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traces = [0, 1, 2].map((m) => traceOf(tenantId, m, 2))
            yield* Effect.forEach(traces, repo.storeTrace)
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { traceId: traces[1]!.traceId })))).toEqual([traces[1]!.traceId])
            const spans = yield* repo.querySpans(q(tenantId, { traceId: traces[2]!.traceId }))
            expect(spans.map((s) => s.spanId).sort()).toEqual(traces[2]!.spans.map((s) => s.spanId).sort())
            expect(yield* repo.queryTraces(q(tenantId, { traceId: newTraceId() }))).toEqual([])
          }), timeout)

        it.effect("filters by tags: every given tag must match, and a trace comes back with all its spans", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traceId = newTraceId()
            const tagged = span(tenantId, traceId, { startTime: at(1), tags: { env: "prod", team: "a" } })
            const other = span(tenantId, traceId, { startTime: at(2), tags: { env: "dev", team: "a" } })
            const plain = traceOf(tenantId, 3, 1)
            yield* repo.storeTrace(TraceEvent.make({ tenantId, traceId, createdAt: at(1), spans: [tagged, other] }))
            yield* repo.storeTrace(plain)
            const byEnv = yield* repo.queryTraces(q(tenantId, { tags: { env: "prod" } }))
            expect(traceIds(byEnv)).toEqual([traceId])
            expect(byEnv[0]!.spans).toHaveLength(2)
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { tags: { env: "prod", team: "a" } })))).toEqual([traceId])
            expect(yield* repo.queryTraces(q(tenantId, { tags: { env: "prod", team: "b" } }))).toEqual([])
            expect(yield* repo.queryTraces(q(tenantId, { tags: { missing: "" } }))).toEqual([])
            expect((yield* repo.querySpans(q(tenantId, { tags: { team: "a" } }))).map((s) => s.spanId)).toEqual([other.spanId, tagged.spanId])
            expect((yield* repo.querySpans(q(tenantId, { tags: { env: "dev" } }))).map((s) => s.spanId)).toEqual([other.spanId])
          }), timeout)

        it.effect("filters by a tag whose key or value is empty like any other: found by itself, not by a missing key", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traceId = newTraceId()
            const empty = span(tenantId, traceId, { startTime: at(1), tags: { "": "" } })
            const emptyKey = span(tenantId, traceId, { startTime: at(2), tags: { "": "v" } })
            const emptyValue = span(tenantId, traceId, { startTime: at(3), tags: { k: "" } })
            const other = span(tenantId, traceId, { startTime: at(4), tags: { a: "b" } })
            yield* repo.storeSpans([empty, emptyKey, emptyValue, other])
            const ids = (tags: Record<string, string>) => Effect.map(repo.querySpans(q(tenantId, { tags })), (found) => found.map((s) => s.spanId))
            expect(yield* ids({ "": "" })).toEqual([empty.spanId])
            expect(yield* ids({ "": "v" })).toEqual([emptyKey.spanId])
            expect(yield* ids({ k: "" })).toEqual([emptyValue.spanId])
            expect(yield* ids({ a: "" })).toEqual([])
            expect(yield* ids({ zz: "" })).toEqual([])
          }), timeout)
      })

      describe("the span filter table", () => {
        // One example per filter of SpanFilters.table (a missing one does not compile): the value, a
        // span it selects and one it does not. Each runs through querySpans and queryTraces.
        const examples: { readonly [K in SpanFilters.Name]: readonly [NonNullable<TraceQuery[K]>, Partial<TraceSpan>, Partial<TraceSpan>] } = {
          provider: ["Bedrock", { provider: "Bedrock" }, { provider: "bedrock" }],
          modelName: ["gpt-4o-mini", { modelName: "gpt-4o-mini" }, { modelName: "gpt-4o" }],
          operationName: ["embedding", { operationName: "embedding" }, { operationName: "chat" }],
          minSecurityScore: [40, { securityScore: 40 }, { securityScore: 39 }],
          maxSecurityScore: [40, { securityScore: 40 }, { securityScore: 41 }],
          tags: [{ env: "prod", "ключ": "値" }, { tags: { env: "prod", "ключ": "値", other: "x" } }, { tags: { env: "prod" } }]
        }
        for (const name of SpanFilters.names) {
          it.effect(`${name}: selects the same spans and traces on every engine`, () =>
            Effect.gen(function*() {
              const repo = yield* Repo
              const tenantId = newTenantId()
              const [value, match, miss] = examples[name]
              const hit = span(tenantId, newTraceId(), { startTime: at(1), ...match })
              const other = span(tenantId, newTraceId(), { startTime: at(2), ...miss })
              yield* repo.storeSpans([hit, other])
              expect(yield* repo.querySpans(q(tenantId, { [name]: value }))).toEqual([hit])
              expect(traceIds(yield* repo.queryTraces(q(tenantId, { [name]: value })))).toEqual([hit.traceId])
            }), timeout)
        }
      })

      describe("tenant isolation", () => {
        it.effect("no read, query, stats or delete of one tenant sees or touches another's data", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const a = newTenantId()
            const b = newTenantId()
            const traceA = traceOf(a, 0, 2)
            const traceB = traceOf(b, 0, 3)
            yield* repo.storeTrace(traceA)
            yield* repo.storeTrace(traceB)
            expect(Option.isNone(yield* repo.getTrace(a, traceB.traceId))).toBe(true)
            expect(Option.isNone(yield* repo.getSpan(a, traceB.spans[0]!.spanId))).toBe(true)
            expect(traceIds(yield* repo.queryTraces(q(a)))).toEqual([traceA.traceId])
            expect(yield* repo.queryTraces(q(a, { traceId: traceB.traceId }))).toEqual([])
            expect((yield* repo.querySpans(q(a))).every((s) => s.tenantId === a)).toBe(true)
            expect(yield* repo.querySpans(q(a, { traceId: traceB.traceId }))).toEqual([])
            expect((yield* repo.getStats(a)).totalSpans).toBe(2)
            expect(yield* repo.deleteTracesBefore(a, at(1000))).toBe(1)
            expect((yield* repo.getStats(b)).totalSpans).toBe(3)
            expect(Option.getOrThrow(yield* repo.getTrace(b, traceB.traceId)).spans).toHaveLength(3)
          }), timeout)

        it.effect("a span id stored under one tenant is invisible to another", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const a = newTenantId()
            const b = newTenantId()
            const s = span(a, newTraceId(), { startTime: at(1) })
            yield* repo.storeSpan(s)
            expect(Option.isNone(yield* repo.getSpan(b, s.spanId))).toBe(true)
            expect(yield* repo.querySpans(q(b))).toEqual([])
            expect(yield* repo.deleteTracesBefore(b, at(100))).toBe(0)
            expect(Option.isSome(yield* repo.getSpan(a, s.spanId))).toBe(true)
          }), timeout)
      })

      describe("stats and retention", () => {
        it.effect("reports zeroes and no dates for an empty tenant", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            expect(yield* repo.getStats(newTenantId())).toEqual({ totalTraces: 0, totalSpans: 0, storageSizeBytes: 0 })
          }), timeout)

        it.effect("counts traces and spans after stores and deletes, with oldest and newest trace", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            yield* Effect.forEach([0, 10, 20].map((m) => traceOf(tenantId, m, 2)), repo.storeTrace)
            const stats = yield* repo.getStats(tenantId)
            expect(stats).toMatchObject({ totalTraces: 3, totalSpans: 6, oldestTrace: at(0), newestTrace: at(20) })
            expect(stats.storageSizeBytes).toBeGreaterThan(0)
            yield* repo.deleteTracesBefore(tenantId, at(10))
            expect(yield* repo.getStats(tenantId)).toMatchObject({ totalTraces: 2, totalSpans: 4, oldestTrace: at(10), newestTrace: at(20) })
          }), timeout)

        it.effect("deleteTracesBefore returns how many traces went and removes their spans", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traces = [0, 10, 20, 30].map((m) => traceOf(tenantId, m, 3))
            yield* Effect.forEach(traces, repo.storeTrace)
            expect(yield* repo.deleteTracesBefore(tenantId, at(20))).toBe(2)
            expect(yield* repo.deleteTracesBefore(tenantId, at(20))).toBe(0)
            expect(traceIds(yield* repo.queryTraces(q(tenantId)))).toEqual([traces[3]!.traceId, traces[2]!.traceId])
            for (const s of [...traces[0]!.spans, ...traces[1]!.spans]) {
              expect(Option.isNone(yield* repo.getSpan(tenantId, s.spanId))).toBe(true)
            }
            expect(Option.isNone(yield* repo.getTrace(tenantId, traces[0]!.traceId))).toBe(true)
            expect(yield* repo.querySpans(q(tenantId))).toHaveLength(6)
          }), timeout)

        it.effect("global stats count every tenant", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const before = yield* repo.getGlobalStats()
            yield* repo.storeTrace(traceOf(newTenantId(), 0, 2))
            yield* repo.storeTrace(traceOf(newTenantId(), 0, 1))
            const after = yield* repo.getGlobalStats()
            expect(after.totalTraces - before.totalTraces).toBe(2)
            expect(after.totalSpans - before.totalSpans).toBe(3)
          }), timeout)
      })

      describe("span identity: (tenant, span id)", () => {
        it.effect("a span stored again under another trace moves there: listed once, counted once, gone from the old trace", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const [a, b] = [newTraceId(), newTraceId()]
            const s1 = span(tenantId, a, { startTime: at(1), provider: "Anthropic", tags: { env: "prod" } })
            const s2 = span(tenantId, a, { startTime: at(2) })
            const s3 = span(tenantId, b, { startTime: at(3) })
            const globalBefore = yield* repo.getGlobalStats()
            yield* repo.storeSpans([s1, s2, s3])
            const bytesBefore = (yield* repo.getStats(tenantId)).storageSizeBytes
            // Same text size (provider is not counted; "prod" and "test" have 4 bytes each).
            const moved: TraceSpan = { ...s1, traceId: b, startTime: at(4), provider: "OpenAI", tags: { env: "test" } }
            yield* repo.storeSpan(moved)

            expect(yield* repo.querySpans(q(tenantId))).toEqual([moved, s3, s2])
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, s1.spanId))).toEqual(moved)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, a)).spans).toEqual([s2])
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, b)).spans).toEqual([s3, moved])
            expect(yield* repo.querySpans(q(tenantId, { traceId: a }))).toEqual([s2])
            expect((yield* repo.querySpans(q(tenantId, { traceId: b }))).map((s) => s.spanId)).toEqual([s1.spanId, s3.spanId])
            // The copy left behind matches nothing any more.
            for (const stale of [{ provider: "Anthropic" }, { tags: { env: "prod" } }]) {
              expect(yield* repo.querySpans(q(tenantId, stale))).toEqual([])
              expect(yield* repo.queryTraces(q(tenantId, stale))).toEqual([])
            }
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { provider: "OpenAI" })))).toEqual([b, a])
            // Each listed trace comes with its current spans only: the copy left in `a` is not one of them.
            expect((yield* repo.queryTraces(q(tenantId))).map((t) => [t.traceId, t.spans])).toEqual([[b, [s3, moved]], [a, [s2]]])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { tags: { env: "test" } })))).toEqual([b])
            const stats = yield* repo.getStats(tenantId)
            expect(stats).toMatchObject({ totalTraces: 2, totalSpans: 3, storageSizeBytes: bytesBefore })
            const globalAfter = yield* repo.getGlobalStats()
            expect(globalAfter.totalSpans - globalBefore.totalSpans).toBe(3)
            expect(globalAfter.totalTraces - globalBefore.totalTraces).toBe(2)
          }), timeout)

        it.effect("a trace known only by its spans ends when its last span moves away; one stored with storeTrace stays, empty", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const [spansOnly, stored, target] = [newTraceId(), newTraceId(), newTraceId()]
            const s1 = span(tenantId, spansOnly, { startTime: at(1) })
            const s2 = span(tenantId, stored, { startTime: at(2) })
            yield* repo.storeSpan(s1)
            yield* repo.storeTrace(TraceEvent.make({ tenantId, traceId: stored, createdAt: at(0), spans: [s2] }))
            yield* repo.storeSpans([{ ...s1, traceId: target }, { ...s2, traceId: target }])

            expect(Option.isNone(yield* repo.getTrace(tenantId, spansOnly))).toBe(true)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, stored))).toEqual({ tenantId, traceId: stored, createdAt: at(0), spans: [] })
            expect(traceIds(yield* repo.queryTraces(q(tenantId)))).toEqual([target, stored])
            expect(yield* repo.queryTraces(q(tenantId, { traceId: spansOnly }))).toEqual([])
            expect(yield* repo.getStats(tenantId)).toMatchObject({ totalTraces: 2, totalSpans: 2, oldestTrace: at(0), newestTrace: at(1) })
            expect(yield* repo.deleteTracesBefore(tenantId, at(1))).toBe(1)
            expect(traceIds(yield* repo.queryTraces(q(tenantId)))).toEqual([target])
          }), timeout)

        it.effect("deleting a trace takes the spans that moved into it, not those that moved out, and no older copy comes back", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const [old, kept] = [newTraceId(), newTraceId()]
            const x = span(tenantId, old, { startTime: at(1) })
            const y1 = span(tenantId, kept, { startTime: at(50) })
            const y2 = span(tenantId, kept, { startTime: at(51) })
            yield* repo.storeSpans([x, y1, y2])
            const movedIn: TraceSpan = { ...y1, traceId: old, startTime: at(2) }
            const movedOut: TraceSpan = { ...x, traceId: kept, startTime: at(52) }
            yield* repo.storeSpan(movedIn)
            yield* repo.storeSpan(movedOut)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, old))).toEqual({ tenantId, traceId: old, createdAt: at(2), spans: [movedIn] })

            expect(yield* repo.deleteTracesBefore(tenantId, at(10))).toBe(1)
            expect(Option.isNone(yield* repo.getSpan(tenantId, y1.spanId))).toBe(true)
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, x.spanId))).toEqual(movedOut)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, kept)).spans).toEqual([y2, movedOut])
            expect(yield* repo.querySpans(q(tenantId))).toEqual([movedOut, y2])
            expect(yield* repo.getStats(tenantId)).toMatchObject({ totalTraces: 1, totalSpans: 2, oldestTrace: at(51) })
          }), timeout)
      })

      describe("trace start", () => {
        it.effect("a spans-only trace starts at the earliest start among its current spans, also after a re-store moves one later", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const [traceId, other] = [newTraceId(), newTraceId()]
            const s1 = span(tenantId, traceId, { startTime: at(1) })
            const s2 = span(tenantId, traceId, { startTime: at(5) })
            yield* repo.storeSpans([s1, s2])
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).createdAt).toEqual(at(1))

            const later: TraceSpan = { ...s1, startTime: at(10) }
            yield* repo.storeSpan(later)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId))).toEqual({ tenantId, traceId, createdAt: at(5), spans: [s2, later] })
            expect((yield* repo.queryTraces(q(tenantId)))[0]!.createdAt).toEqual(at(5))
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { startTime: at(3), endTime: at(6) })))).toEqual([traceId])
            expect(yield* repo.queryTraces(q(tenantId, { endTime: at(2) }))).toEqual([])
            expect(yield* repo.getStats(tenantId)).toMatchObject({ oldestTrace: at(5), newestTrace: at(5) })
            expect(yield* repo.deleteTracesBefore(tenantId, at(5))).toBe(0)

            // Its earliest span moves to another trace: it starts at the one left.
            yield* repo.storeSpan({ ...s2, traceId: other })
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).createdAt).toEqual(at(10))
            expect(yield* repo.getStats(tenantId)).toMatchObject({ totalTraces: 2, oldestTrace: at(5), newestTrace: at(10) })
          }), timeout)

        it.effect("a trace stored with storeTrace keeps its createdAt whatever its spans do", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const tenantId = newTenantId()
            const traceId = newTraceId()
            const s = span(tenantId, traceId, { startTime: at(3) })
            yield* repo.storeTrace(TraceEvent.make({ tenantId, traceId, createdAt: at(2), spans: [s] }))
            yield* repo.storeSpan({ ...s, startTime: at(7) })
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId)).createdAt).toEqual(at(2))
            expect((yield* repo.queryTraces(q(tenantId)))[0]!.createdAt).toEqual(at(2))
          }), timeout)
      })

      describe("dates", () => {
        const outside = [
          ["year 10000", new Date(Date.UTC(10000, 0, 1))],
          ["year -1", new Date(Date.UTC(-1, 5, 15))],
          ["1899-12-31T23:59:59.999Z", new Date(MIN_TIMESTAMP_MS - 1)],
          ["2300-01-01T00:00:00.000Z", new Date(MAX_TIMESTAMP_MS + 1)]
        ] as const
        for (const [name, bad] of outside) {
          it.effect(`refuses ${name} as InvalidInput naming the field, wherever a date goes, and stores nothing`, () =>
            Effect.gen(function*() {
              const repo = yield* Repo
              const { tenantId, traceId } = ids()
              const good = complexSpan(tenantId, traceId, at(1))
              const path = <A, E extends { readonly _tag: string }>(self: Effect.Effect<A, E>) =>
                Effect.map(Effect.flip(self), (e) => (e._tag === "InvalidInput" ? (e as unknown as { path: ReadonlyArray<unknown> }).path : e._tag))
              expect(yield* path(repo.storeSpan({ ...good, startTime: bad }))).toEqual(["startTime"])
              expect(yield* path(repo.storeSpan({ ...good, endTime: bad }))).toEqual(["endTime"])
              expect(yield* path(repo.storeSpans([good, { ...good, securityFindings: [{ ...good.securityFindings[0]!, detectedAt: bad }] }])))
                .toEqual([1, "securityFindings", 0, "detectedAt"])
              expect(yield* path(repo.storeSpan({ ...good, events: [{ ...good.events[0]!, timestamp: bad }] }))).toEqual(["events", 0, "timestamp"])
              expect(yield* path(repo.storeTrace({ tenantId, traceId, createdAt: bad, spans: [good] }))).toEqual(["createdAt"])
              expect(yield* path(repo.querySpans({ ...q(tenantId), startTime: bad }))).toEqual(["startTime"])
              expect(yield* path(repo.queryTraces({ ...q(tenantId), endTime: bad }))).toEqual(["endTime"])
              expect(yield* path(repo.deleteTracesBefore(tenantId, bad))).toEqual([1])
              expect(yield* repo.getStats(tenantId)).toEqual({ totalTraces: 0, totalSpans: 0, storageSizeBytes: 0 })
            }), timeout)
        }

        it.effect("stores and reads back the first and the last instant of the range exactly", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const [first, last] = [new Date(MIN_TIMESTAMP_MS), new Date(MAX_TIMESTAMP_MS)]
            expect([first.toISOString(), last.toISOString()]).toEqual(["1900-01-01T00:00:00.000Z", "2299-12-31T23:59:59.999Z"])
            const base = complexSpan(tenantId, traceId, first)
            const s: TraceSpan = {
              ...base,
              endTime: last,
              securityFindings: [{ ...base.securityFindings[0]!, detectedAt: first }, { ...base.securityFindings[1]!, detectedAt: last }],
              events: [{ ...base.events[0]!, timestamp: last }],
              agentActions: [{ ...base.agentActions[0]!, timestamp: first }]
            }
            const late = span(tenantId, traceId, { startTime: last })
            yield* repo.storeTrace(TraceEvent.make({ tenantId, traceId, createdAt: first, spans: [s, late] }))
            expect(Option.getOrThrow(yield* repo.getSpan(tenantId, s.spanId))).toEqual(s)
            expect(Option.getOrThrow(yield* repo.getTrace(tenantId, traceId))).toEqual({ tenantId, traceId, createdAt: first, spans: [s, late] })
            expect(yield* repo.querySpans(q(tenantId, { startTime: first, endTime: last }))).toEqual([late, s])
            expect(yield* repo.querySpans(q(tenantId, { startTime: last }))).toEqual([late])
            expect(traceIds(yield* repo.queryTraces(q(tenantId, { endTime: first })))).toEqual([traceId])
            expect(yield* repo.getStats(tenantId)).toMatchObject({ oldestTrace: first, newestTrace: first })
            expect(yield* repo.deleteTracesBefore(tenantId, first)).toBe(0)
            expect(yield* repo.deleteTracesBefore(tenantId, last)).toBe(1)
          }), timeout)
      })

      describe("storage size", () => {
        it.effect("storageSizeBytes is the UTF-8 bytes of the stored text, exactly, counted once per current span", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            // prompt 4 + 1 + 2, response 6, error 2, tag key 6 + value 3, and "[]" for findings, events, actions.
            const plain = span(tenantId, traceId, { prompt: "🚀 hi", response: "漢字", errorMessage: "é", tags: { "キー": "値" }, startTime: at(1) })
            expect(spanStorageBytes(plain)).toBe(30)
            yield* repo.storeSpan(plain)
            expect((yield* repo.getStats(tenantId)).storageSizeBytes).toBe(30)
            yield* repo.storeSpan({ ...plain, traceId: newTraceId() })
            yield* repo.storeSpan(plain)
            expect((yield* repo.getStats(tenantId)).storageSizeBytes).toBe(30)

            // Nested lists count as the JSON text they are stored as: multi-byte text, escapes and dates included.
            const complex = complexSpan(tenantId, traceId, at(2))
            const nested = { ...complex, prompt: "北京 👨‍👩‍👧", events: [{ ...complex.events[0]!, description: "événement \"✓\"" }] }
            const expected = [nested.prompt, nested.response, nested.errorMessage, ...Object.keys(nested.tags), ...Object.values(nested.tags)]
              .reduce((sum, text) => sum + Buffer.byteLength(text ?? ""), 0) +
              [nested.securityFindings, nested.events, nested.agentActions].reduce((sum, list) => sum + Buffer.byteLength(JSON.stringify(list)), 0)
            yield* repo.storeSpan(nested)
            expect((yield* repo.getStats(tenantId)).storageSizeBytes).toBe(30 + expected)
            yield* repo.deleteTracesBefore(tenantId, at(100))
            expect((yield* repo.getStats(tenantId)).storageSizeBytes).toBe(0)
          }), timeout)
      })

      describe("bad input", () => {
        it.effect("rejects an out-of-range span with InvalidInput naming the field, and stores nothing", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const bad = { ...span(tenantId, traceId), securityScore: 101 }
            const error = yield* Effect.flip(repo.storeSpan(bad))
            expect(error._tag).toBe("InvalidInput")
            expect(error._tag === "InvalidInput" && error.path).toEqual(["securityScore"])
            const nan = yield* Effect.flip(repo.storeSpans([span(tenantId, traceId), { ...span(tenantId, traceId), estimatedCostUsd: Number.NaN }]))
            expect(nan._tag === "InvalidInput" && nan.path).toEqual([1, "estimatedCostUsd"])
            expect((yield* repo.getStats(tenantId)).totalSpans).toBe(0)
          }), timeout)

        it.effect("rejects a lone surrogate, a foreign span in a trace, and a bad tenant id", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const { tenantId, traceId } = ids()
            const surrogate = yield* Effect.flip(repo.storeSpan({ ...span(tenantId, traceId), prompt: "bad \ud800 text" }))
            expect(surrogate._tag === "InvalidInput" && surrogate.path).toEqual(["prompt"])
            const foreign = yield* Effect.flip(
              repo.storeTrace({ tenantId, traceId, createdAt: at(0), spans: [span(newTenantId(), traceId)] })
            )
            expect(foreign._tag === "InvalidInput" && foreign.path).toEqual(["spans"])
            const tenant = yield* Effect.flip(repo.getStats("not-a-uuid" as TenantId))
            expect(tenant._tag).toBe("InvalidInput")
            expect((yield* repo.getStats(tenantId)).totalSpans).toBe(0)
          }), timeout)

        it.effect("rejects a query limit above the maximum", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const error = yield* Effect.flip(repo.queryTraces({ ...q(newTenantId()), limit: 1_000_000 }))
            expect(error._tag === "InvalidInput" && error.path).toEqual(["limit"])
          }), timeout)
      })

      traceRepositoryProperties(it, timeout)

      it.effect("answers its health check", () => Effect.flatMap(Repo, (repo) => repo.healthCheck()), timeout)
    }
  )
