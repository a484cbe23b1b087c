import { expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { Cache } from "../../src/index.js"
import { RedisCache } from "../../src/redis/index.js"
import { cacheContract } from "../../src/testing/CacheContract.js"
import { describeLive } from "../support/live.js"
import { privateRedis, redisServerInstalled } from "../support/redisServer.js"
import * as Redacted from "effect/Redacted"

const installed = await redisServerInstalled()

// A one-node Redis Cluster of this file's own (every slot on one private server, killed when the
// scope closes): the cluster client and its slot routing run for real, and the contract's keys
// (hash tags such as `{x:String}` included) hash to many slots, each command naming one key.
describeLive(installed, () => {
  const cluster = Layer.unwrapScoped(
    Effect.map(privateRedis({ cluster: true }), (server) =>
      RedisCache.layer({ url: Redacted.make("redis://127.0.0.1"), clusterNodes: [`127.0.0.1:${server.port}`], prefix: "cluster-test:" })
    )
  )
  cacheContract("redis cluster (one private node)", cluster, { clock: "real", excludeTestServices: true })

  it.scopedLive("a cluster whose node stops gives StorageUnavailable, and recovers when it is back", () =>
    Effect.gen(function*() {
      const server = yield* privateRedis({ cluster: true })
      const context = yield* Layer.build(RedisCache.layer({
        url: Redacted.make("redis://127.0.0.1"),
        clusterNodes: [`127.0.0.1:${server.port}`],
        commandTimeout: "500 millis",
        reconnectMaxDelay: "200 millis"
      }))
      const cache = Context.get(context, Cache.Cache)
      yield* cache.set("k", new Uint8Array([1, 2, 3]), "1 minute")
      yield* server.stop
      const failed = yield* Effect.flip(cache.get("k"))
      expect(failed._tag).toBe("StorageUnavailable")
      // The node's nodes.conf (kept in its directory) still assigns it every slot.
      yield* server.start
      yield* Effect.retry(cache.healthCheck(), Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(300))))
      yield* Effect.retry(cache.set("k", new Uint8Array([4]), "1 minute"), Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(300))))
      expect(Option.getOrThrow(yield* cache.get("k"))).toEqual(new Uint8Array([4]))
    }))
})
