import * as Layer from "effect/Layer"
import { RedisCache } from "../../src/index.js"
import { describeLive } from "../support/live.js"
import { dropPrefixOnClose, liveRedis, redisUrl, testPrefix } from "../support/redis.js"
import { hostileCache } from "./hostileSuite.js"

describeLive(await liveRedis(), () => {
  const prefix = testPrefix("hostile")
  hostileCache("Redis", Layer.merge(RedisCache.layer({ url: redisUrl, prefix }), dropPrefixOnClose(prefix)))
})
