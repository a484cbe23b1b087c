import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { Cache, TraceRepository } from "../../src/index.js"
import { RedisCache } from "../../src/redis/index.js"
import { Fixtures, TestStorage } from "../../src/testing/index.js"
import { describeLive } from "../support/live.js"
import { livePostgres, postgresUrl } from "../support/postgres.js"
import { keysUnder, liveRedis, redisUrl } from "../support/redis.js"

const postgres = await livePostgres()
const redis = await liveRedis()

/** The test kit's databases on the server right now. */
const kitDatabases = async (): Promise<Array<string>> => {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    const result = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'llmtrace_testkit_%'")
    return result.rows.map((r) => r.datname)
  } finally {
    await client.end()
  }
}

const keyNames = async (key: string) => (await keysUnder("llmtrace-testkit:", redisUrl)).map(String).filter((k) => k.endsWith(`:${key}`))

describeLive(postgres.available ? redis : postgres, () => {
  describe("TestStorage.live", () => {
    it.live("migrates a database and a key prefix of its own, and drops both when the scope closes", () =>
      Effect.gen(function*() {
        const before = new Set(yield* Effect.promise(kitDatabases))
        const key = `probe-${Date.now()}`
        const created = yield* Effect.scoped(
          Effect.gen(function*() {
            const context = yield* Layer.build(TestStorage.live())
            yield* Effect.provide(
              Effect.gen(function*() {
                const repository = yield* TraceRepository.TraceRepository
                const span = Fixtures.span(Fixtures.tenantId(1), Fixtures.traceId(1), { startTime: Fixtures.at(0) })
                yield* repository.storeSpan(span)
                expect((yield* repository.getStats(span.tenantId)).totalSpans).toBe(1)
                yield* (yield* Cache.Cache).set(key, new Uint8Array([1]), "1 minute")
              }),
              context
            )
            const databases = (yield* Effect.promise(kitDatabases)).filter((d) => !before.has(d))
            expect(databases.length).toBeGreaterThanOrEqual(1)
            expect(yield* Effect.promise(() => keyNames(key))).toHaveLength(1)
            return databases
          })
        )
        const after = new Set(yield* Effect.promise(kitDatabases))
        expect(created.filter((d) => after.has(d))).toEqual([])
        expect(yield* Effect.promise(() => keyNames(key))).toEqual([])
      }), 120_000)

    it.live("postgresDatabase creates a database of its own and drops it when the scope closes", () =>
      Effect.gen(function*() {
        const database = yield* Effect.scoped(
          Effect.gen(function*() {
            const created = yield* TestStorage.postgresDatabase(Redacted.make(postgresUrl), "llmtrace_testkit_own")
            expect(created.name).toMatch(/^llmtrace_testkit_own_[0-9a-f]{12}$/)
            // Its URL names it: a connection through it lands in it.
            const client = new pg.Client({ connectionString: Redacted.value(created.url) })
            yield* Effect.promise(() => client.connect())
            const current = yield* Effect.promise(() => client.query<{ db: string }>("SELECT current_database() AS db"))
            yield* Effect.promise(() => client.end())
            expect(current.rows[0]!.db).toBe(created.name)
            expect(yield* Effect.promise(kitDatabases)).toContain(created.name)
            return created.name
          })
        )
        expect(yield* Effect.promise(kitDatabases)).not.toContain(database)
      }), 60_000)

    it.live("redisPrefix gives a fresh prefix and removes every key under it when the scope closes", () =>
      Effect.gen(function*() {
        const url = Redacted.make(redisUrl)
        const [prefix, other] = yield* Effect.scoped(
          Effect.gen(function*() {
            const prefix = yield* TestStorage.redisPrefix(url, "llmtrace-testkit")
            const other = yield* TestStorage.redisPrefix(url, "llmtrace-testkit")
            expect(prefix).not.toBe(other)
            yield* Effect.provide(
              Effect.gen(function*() {
                const cache = yield* Cache.Cache
                for (let i = 0; i < 3; i++) yield* cache.set(`k${i}`, new Uint8Array([i]), "1 minute")
              }),
              RedisCache.layer({ url, prefix })
            )
            expect(yield* Effect.promise(() => keysUnder(prefix, redisUrl))).toHaveLength(3)
            return [prefix, other] as const
          })
        )
        expect(prefix).toMatch(/^llmtrace-testkit:[0-9a-f]{12}:$/)
        expect(yield* Effect.promise(() => keysUnder(prefix, redisUrl))).toEqual([])
        expect(yield* Effect.promise(() => keysUnder(other, redisUrl))).toEqual([])
      }), 60_000)
  })
})
