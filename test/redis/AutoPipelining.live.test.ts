import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { expect, vi } from "vitest"
import { RedisCache, RedisClient } from "../../src/index.js"
import * as Cache from "../../src/Cache.js"
import { describeLive } from "../support/live.js"
import { dropPrefixOnClose, liveRedis, redisUrl, testPrefix } from "../support/redis.js"

const live = await liveRedis()

/** ioredis makes one `pipeline()` per auto-pipelined batch: counting them shows which path a command took. */
const countPipelines = (client: RedisClient.Client) => vi.spyOn(client, "pipeline")

describeLive(live, () => {
  const prefix = testPrefix("autopipe")
  const layer = RedisCache.layerFromClient.pipe(
    Layer.provideMerge(RedisClient.layer({ url: Redacted.make(redisUrl), prefix, autoPipelining: true })),
    Layer.merge(dropPrefixOnClose(prefix))
  )
  it.layer(layer, { timeout: 30_000 })("RedisClient with auto-pipelining on", (it) => {
    it.effect("writes a command at once when none of ours is in flight (no pipeline)", () =>
      Effect.gen(function*() {
        const { client } = yield* RedisClient.RedisClient
        const cache = yield* Cache.Cache
        yield* cache.set("one", new Uint8Array([1]), "1 minute")
        const pipelines = countPipelines(client)
        for (let i = 0; i < 50; i++) expect(Option.isSome(yield* cache.get("one"))).toBe(true)
        expect(pipelines).toHaveBeenCalledTimes(0)
        pipelines.mockRestore()
      }))

    it.effect("pipelines commands issued while others are in flight, answering each with its own key", () =>
      Effect.gen(function*() {
        const { client } = yield* RedisClient.RedisClient
        const cache = yield* Cache.Cache
        yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => cache.set(`k${i}`, new Uint8Array([i]), "1 minute"), { discard: true })
        const pipelines = countPipelines(client)
        const values = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => cache.get(`k${i}`), { concurrency: "unbounded" })
        expect(values.map((v) => Option.map(v, (bytes) => bytes[0]))).toEqual(Array.from({ length: 100 }, (_, i) => Option.some(i)))
        // the first command went at once; the other 99 joined one or a few pipelines
        expect(pipelines.mock.calls.length).toBeGreaterThanOrEqual(1)
        expect(pipelines.mock.calls.length).toBeLessThan(10)
        pipelines.mockRestore()
      }))
  })
})
