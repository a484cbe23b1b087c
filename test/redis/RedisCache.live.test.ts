import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { Cache, RedisCache } from "../../src/index.js"
import { cacheContract } from "../../src/testing/CacheContract.js"
import { cacheTracing } from "../contract/TracingContract.js"
import { describe, expect, it } from "@effect/vitest"
import { describeLive } from "../support/live.js"
import { privateRedis, redisServerInstalled } from "../support/redisServer.js"
import { dropPrefixOnClose, liveRedis, redisUrl, testPrefix } from "../support/redis.js"
import * as Redacted from "effect/Redacted"

// Under CI=true a missing Redis fails this file here, with one line saying how to start it.
const live = await liveRedis()
const installed = await redisServerInstalled()

/**
 * A Redis cache that really fails: a private redis-server of this test's own, stopped (every call
 * fails), or refusing writes (`min-replicas-to-write 1` with no replica: NOREPLICAS) while reads answer.
 */
const redisOutage = Effect.gen(function*() {
  const server = yield* privateRedis()
  const cache = Context.get(
    yield* Layer.build(RedisCache.layer({ url: Redacted.make(server.url), commandTimeout: "500 millis", connectTimeout: "2 seconds", reconnectMaxDelay: "200 millis" })),
    Cache.Cache
  )
  const answers = Effect.retry(cache.healthCheck(), Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(300)))).pipe(Effect.orDie)
  return {
    cache,
    down: server.stop,
    writesFail: Effect.asVoid(server.command("CONFIG", "SET", "min-replicas-to-write", "1")),
    up: server.start.pipe(Effect.zipRight(server.command("CONFIG", "SET", "min-replicas-to-write", "0")), Effect.zipRight(answers))
  }
})

describeLive(live, () => {
  // This file's keys live under their own prefix and are removed when the layer's scope closes.
  const prefix = testPrefix("cache")
  cacheContract(
    "redis",
    Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix)),
    { clock: "real", excludeTestServices: true, ...(installed.available ? { outage: redisOutage } : {}) }
  )
  cacheTracing("redis", "redis", Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix)), { excludeTestServices: true })
})

/** How many times the server ran each command, from `INFO commandstats` (`cmdstat_evalsha:calls=3,…`). */
const commandCalls = (info: unknown): ReadonlyMap<string, number> =>
  new Map([...String(info).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, calls]) => [name!, Number(calls)]))

describeLive(installed, () => {
  describe("RedisCache compareAndSet script", () => {
    it.live("is sent with EVAL once per connection, then by its SHA; after SCRIPT FLUSH it is sent again", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        const cache = Context.get(yield* Layer.build(RedisCache.layer({ url: Redacted.make(server.url) })), Cache.Cache)
        const bytes = (n: number) => new Uint8Array([n])
        yield* cache.set("k", bytes(0), "1 minute")
        for (let i = 0; i < 5; i++) expect(yield* cache.compareAndSet("k", Option.some(bytes(i)), bytes(i + 1), "1 minute")).toBe(true)
        const calls = commandCalls(yield* server.command("INFO", "commandstats"))
        expect([calls.get("eval"), calls.get("evalsha")]).toEqual([1, 4])

        yield* server.command("SCRIPT", "FLUSH")
        expect(yield* cache.compareAndSet("k", Option.some(bytes(5)), bytes(6), "1 minute")).toBe(true)
        expect(yield* cache.compareAndSet("k", Option.some(bytes(5)), bytes(7), "1 minute")).toBe(false)
        expect(Option.getOrThrow(yield* cache.get("k"))).toEqual(bytes(6))
      }).pipe(Effect.scoped))
  })
})
