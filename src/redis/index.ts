/**
 * `llmtrace-storage/redis`: the cache and token-change channel on Redis (one server or a cluster).
 * Building a client loads `ioredis`.
 */
export * as RedisCache from "./RedisCache.js"
export * as RedisClient from "./RedisClient.js"
export * as RedisConfig from "./RedisConfig.js"
export * as RedisTokenChanges from "./RedisTokenChanges.js"
