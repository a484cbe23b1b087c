import { MemoryCache } from "../../src/index.js"
import { cacheContract } from "../../src/testing/CacheContract.js"

cacheContract("memory", MemoryCache.layer(), { clock: "test-clock" })
