import { MemoryCache } from "../../src/index.js"
import { cacheContract } from "../contract/CacheContract.js"

cacheContract("memory", MemoryCache.layer(), { clock: "test-clock" })
