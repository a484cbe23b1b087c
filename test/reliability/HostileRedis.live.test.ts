import * as Layer from "effect/Layer"
import { RedisCache } from "../../src/redis/index.js"
import { describeLive } from "../support/live.js"
import { dropPrefixOnClose, liveRedis, redisUrl, testPrefix } from "../support/redis.js"
import { hostileCache } from "./hostileSuite.js"
import * as Redacted from "effect/Redacted"

describeLive(await liveRedis(), () => {
  const prefix = testPrefix("hostile")
  hostileCache("Redis", Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix)))
})
