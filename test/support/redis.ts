import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { RedisConfig } from "../../src/redis/index.js"
import * as Namespaces from "../../src/testing/Namespaces.js"
import { LiveService } from "../../src/testing/index.js"
import { requireService } from "./live.js"

/** The Redis the live suites use: `LLMTRACE_REDIS_URL`, else the default local server. */
export const redisUrl = process.env.LLMTRACE_REDIS_URL ?? RedisConfig.defaults.url

/** A short-lived raw client that fails fast (no retries, no offline queue), for a test that drives the server itself. */
export const rawClient = (url: string = redisUrl): Redis =>
  new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })

/** Pings the server once (the test kit's probe). */
export const pingRedis = async (url: string = redisUrl): Promise<void> => {
  await LiveService.redis(Redacted.make(url)).probe()
}

/** Probed once per test file: under CI=true a missing Redis fails the file with one line. */
export const liveRedis = () => requireService(LiveService.redis(Redacted.make(redisUrl)))

/** A fresh key prefix per test file, so files never see each other's keys. */
export const testPrefix = (label: string) => Namespaces.newRedisPrefix(`llmtrace-test:${label}`)

/** Removes every key under `prefix` (SCAN + UNLINK); returns how many went. */
export const dropPrefix = (prefix: string, url: string = redisUrl): Promise<number> =>
  Effect.runPromise(Namespaces.dropRedisPrefix(Redacted.make(url), prefix))

/** A layer whose scope removes the prefix's keys when it closes. */
export const dropPrefixOnClose = (prefix: string, url: string = redisUrl): Layer.Layer<never> =>
  Layer.scopedDiscard(Namespaces.dropRedisPrefixOnClose(Redacted.make(url), prefix))

/** Every key under `prefix` (SCAN with a MATCH pattern, its glob characters escaped). */
export const keysUnder = (prefix: string, url: string = redisUrl): Promise<ReadonlyArray<Buffer>> =>
  Effect.runPromise(Namespaces.keysUnder(Redacted.make(url), prefix))
