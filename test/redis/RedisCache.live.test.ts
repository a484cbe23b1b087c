import * as Layer from "effect/Layer"
import { RedisCache } from "../../src/index.js"
import { cacheContract } from "../../src/testing/CacheContract.js"
import { cacheTracing } from "../contract/TracingContract.js"
import { describeLive } from "../support/live.js"
import { dropPrefixOnClose, liveRedis, redisUrl, testPrefix } from "../support/redis.js"
import * as Redacted from "effect/Redacted"

// Under CI=true a missing Redis fails this file here, with one line saying how to start it.
const live = await liveRedis()

describeLive(live, () => {
  // This file's keys live under their own prefix and are removed when the layer's scope closes.
  const prefix = testPrefix("cache")
  cacheContract(
    "redis",
    Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix)),
    { clock: "real", excludeTestServices: true }
  )
  cacheTracing("redis", "redis", Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix)), { excludeTestServices: true })
})
