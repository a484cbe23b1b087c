import { MemoryCache } from "../../src/index.js"
import { cacheContract } from "../contract/CacheContract.js"
import { cacheTracing } from "../contract/TracingContract.js"

cacheContract("memory", MemoryCache.layer(), { clock: "test-clock" })
cacheTracing("memory", "memory", MemoryCache.layer())
