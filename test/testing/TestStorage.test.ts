import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { Cache, MetadataRepository, TraceRepository } from "../../src/index.js"
import { Fixtures, TestStorage } from "../../src/testing/index.js"
import { freePort } from "../support/ports.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** Stores one span and one cache entry, reads them back, and checks the metadata store answers. */
const roundTrip = Effect.gen(function*() {
  const traces = yield* TraceRepository.TraceRepository
  const span = Fixtures.span(Fixtures.tenantId(7), Fixtures.traceId(7), { startTime: Fixtures.at(1) })
  yield* traces.storeSpan(span)
  expect((yield* traces.getStats(span.tenantId)).totalSpans).toBe(1)
  const metadata = yield* MetadataRepository.MetadataRepository
  yield* metadata.healthCheck()
  const cache = yield* Cache.Cache
  yield* cache.set("k", new Uint8Array([1, 2, 3]), "1 minute")
  expect(yield* cache.get("k")).toMatchObject({ _tag: "Some" })
})

describe("TestStorage", () => {
  it.effect("memory gives a private store on every build", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.provide(roundTrip, TestStorage.memory))
      // A second build sees none of the first one's data.
      const stats = yield* Effect.scoped(Effect.provide(Effect.flatMap(TraceRepository.TraceRepository, (t) => t.getStats(Fixtures.tenantId(7))), TestStorage.memory))
      expect(stats.totalSpans).toBe(0)
    }))

  it.effect("temporaryDirectory gives a new directory and removes it, with its contents, when the scope closes", () =>
    Effect.gen(function*() {
      const [first, second] = yield* Effect.scoped(
        Effect.gen(function*() {
          const a = yield* TestStorage.temporaryDirectory("kit-dir-")
          const b = yield* TestStorage.temporaryDirectory("kit-dir-")
          writeFileSync(path.join(a, "data"), "x")
          expect(existsSync(path.join(a, "data"))).toBe(true)
          return [a, b] as const
        })
      )
      expect(first).not.toBe(second)
      expect(path.basename(first)).toMatch(/^kit-dir-/)
      expect([existsSync(first), existsSync(second)]).toEqual([false, false])
    }))

  it.effect("lite works in a temporary directory and removes it when the scope closes", () =>
    Effect.gen(function*() {
      const tmp = mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "kit-lite-"))
      const before = process.env.TMPDIR
      process.env.TMPDIR = tmp
      try {
        yield* Effect.scoped(
          Effect.gen(function*() {
            yield* Layer.build(TestStorage.lite)
            expect(readdirSync(tmp).filter((d) => d.startsWith("llmtrace-testkit-"))).toHaveLength(1)
          })
        )
        expect(readdirSync(tmp).filter((d) => d.startsWith("llmtrace-testkit-"))).toEqual([])
      } finally {
        // Unset stays unset (assigning undefined would set the string "undefined").
        if (before === undefined) delete process.env.TMPDIR
        else process.env.TMPDIR = before
        rmSync(tmp, { recursive: true, force: true })
      }
    }), 120_000)

  it.effect("fromEnv without service URLs runs on lite", () =>
    Effect.scoped(Effect.provide(roundTrip, TestStorage.fromEnv)).pipe(withEnv({})), 120_000)

  it.effect("fromEnv under CI=true fails with one line naming the missing service, its variable and how to start it", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const env = { CI: "true", LLMTRACE_POSTGRES_URL: `postgres://u:secret@127.0.0.1:${port}/db`, LLMTRACE_REDIS_URL: "redis://127.0.0.1:6379" }
      const error = yield* Effect.flip(Effect.scoped(Layer.build(TestStorage.fromEnv)).pipe(withEnv(env)))
      expect(error.message).toContain(`PostgreSQL is not reachable at 127.0.0.1:${port}/db (LLMTRACE_POSTGRES_URL;`)
      expect(error.message).toContain("start it with")
      expect(error.message).not.toContain("secret")
      expect(error.message.split("\n")).toHaveLength(1)
    }))
})
