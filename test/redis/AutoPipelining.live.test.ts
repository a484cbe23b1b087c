import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { Redis } from "ioredis"
import { expect, vi } from "vitest"
import { RedisCache, RedisClient } from "../../src/redis/index.js"
import * as Cache from "../../src/Cache.js"
import { describeLive } from "../support/live.js"
import { dropPrefixOnClose, liveRedis, redisUrl, testPrefix } from "../support/redis.js"

const live = await liveRedis()

/**
 * The socket writes Node makes for the client: `_write` takes one chunk (a command written on its
 * own), `_writev` the chunks a cork held back (the commands of one tick, written together).
 */
const countWrites = (client: RedisClient.Client) => {
  const socket = (client as Redis).stream
  const one = vi.spyOn(socket, "_write")
  const many = vi.spyOn(socket as { _writev: (...args: Array<never>) => void }, "_writev")
  // Read before restoring: `mockRestore` clears the calls.
  let counted = { one: 0, many: 0 }
  return {
    one: () => counted.one,
    many: () => counted.many,
    restore: () => {
      counted = { one: one.mock.calls.length, many: many.mock.calls.length }
      one.mockRestore()
      many.mockRestore()
    }
  }
}

const layerWith = (autoPipelining: boolean) => {
  const prefix = testPrefix("autopipe")
  return RedisCache.layerFromClient.pipe(
    Layer.provideMerge(RedisClient.layer({ url: Redacted.make(redisUrl), prefix, autoPipelining })),
    Layer.merge(dropPrefixOnClose(prefix))
  )
}

const keys = Array.from({ length: 100 }, (_, i) => i)

/** 100 GETs issued at once, each answered with its own key's value. */
const concurrentGets = Effect.gen(function*() {
  const cache = yield* Cache.Cache
  yield* Effect.forEach(keys, (i) => cache.set(`k${i}`, new Uint8Array([i]), "1 minute"), { discard: true })
  const { client } = yield* RedisClient.RedisClient
  const writes = countWrites(client)
  const values = yield* Effect.forEach(keys, (i) => cache.get(`k${i}`), { concurrency: "unbounded" })
  writes.restore()
  expect(values.map((v) => Option.map(v, (bytes) => bytes[0]))).toEqual(keys.map((i) => Option.some(i)))
  return writes
})

describeLive(live, () => {
  it.layer(layerWith(true), { timeout: 30_000 })("RedisClient with auto-pipelining on", (it) => {
    it.effect("writes a command at once, in a write of its own, when none of ours is in flight", () =>
      Effect.gen(function*() {
        const { client } = yield* RedisClient.RedisClient
        const cache = yield* Cache.Cache
        yield* cache.set("one", new Uint8Array([1]), "1 minute")
        const writes = countWrites(client)
        for (let i = 0; i < 50; i++) expect(Option.isSome(yield* cache.get("one"))).toBe(true)
        writes.restore()
        expect(writes.one()).toBe(50)
        expect(writes.many()).toBe(0)
      }))

    it.effect("writes the commands issued while others are in flight together, answering each with its own key", () =>
      Effect.gen(function*() {
        const writes = yield* concurrentGets
        // the first command went at once; the other 99 left in one or a few writes
        expect(writes.many()).toBeGreaterThanOrEqual(1)
        expect(writes.one() + writes.many()).toBeLessThan(10)
      }))

    it.effect("sets no ioredis option per call: its own auto-pipeline stays off", () =>
      Effect.gen(function*() {
        const { client } = yield* RedisClient.RedisClient
        const pipelines = vi.spyOn(client, "pipeline")
        yield* concurrentGets
        const made = pipelines.mock.calls.length
        pipelines.mockRestore()
        expect(client.options.enableAutoPipelining).toBe(false)
        expect(made).toBe(0)
      }))
  })

  it.layer(layerWith(false), { timeout: 30_000 })("RedisClient with auto-pipelining off", (it) => {
    it.effect("writes every command on its own, even under concurrency", () =>
      Effect.gen(function*() {
        const writes = yield* concurrentGets
        expect(writes.many()).toBe(0)
        expect(writes.one()).toBe(100)
      }))
  })
})
