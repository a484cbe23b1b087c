import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { RedisConfig } from "../../src/index.js"
import { requireService } from "./live.js"

/** The Redis the live suites use: `LLMTRACE_REDIS_URL`, else the default local server. */
export const redisUrl = process.env.LLMTRACE_REDIS_URL ?? RedisConfig.defaults.url

/** A short-lived raw client that fails fast (no retries, no offline queue). */
export const rawClient = (url: string = redisUrl): Redis =>
  new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })

/** Pings the server once. */
export const pingRedis = async (url: string = redisUrl): Promise<void> => {
  const client = rawClient(url)
  let lastError: string | undefined
  client.on("error", (error: Error) => void (lastError = error.message))
  try {
    await client.connect()
    await client.ping()
  } catch (error) {
    throw new Error(lastError ?? (error instanceof Error ? error.message : String(error)))
  } finally {
    client.disconnect()
  }
}

/** Probed once per test file: under CI=true a missing Redis fails the file with one line. */
export const liveRedis = () =>
  requireService({
    name: "Redis",
    variable: "LLMTRACE_REDIS_URL",
    address: RedisConfig.address(redisUrl),
    probe: () => pingRedis(),
    howToStart: "`redis-server --daemonize yes --port 6379` (or `docker compose up -d redis`)"
  })

/** A fresh key prefix per test file, so files never see each other's keys. */
export const testPrefix = (label: string) => `llmtrace-test:${label}:${randomUUID()}:`

/** Removes every key under `prefix` (SCAN + UNLINK); returns how many went. */
export const dropPrefix = async (prefix: string, url: string = redisUrl): Promise<number> => {
  const keys = await keysUnder(prefix, url)
  if (keys.length === 0) return 0
  const client = rawClient(url)
  client.on("error", () => undefined)
  try {
    await client.connect()
    let dropped = 0
    for (let i = 0; i < keys.length; i += 500) dropped += await client.unlink(...keys.slice(i, i + 500))
    return dropped
  } finally {
    client.disconnect()
  }
}

/** A layer whose scope removes the prefix's keys when it closes. */
export const dropPrefixOnClose = (prefix: string, url: string = redisUrl): Layer.Layer<never> =>
  Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.tryPromise(() => dropPrefix(prefix, url)).pipe(
      Effect.tapError((error) => Effect.logWarning(`could not remove the test keys under ${prefix}`, error)),
      Effect.ignore
    )
  ))

/** Every key under `prefix` (SCAN with a MATCH pattern, its glob characters escaped). */
export const keysUnder = async (prefix: string, url: string = redisUrl): Promise<ReadonlyArray<Buffer>> => {
  const client = rawClient(url)
  client.on("error", () => undefined)
  try {
    await client.connect()
    const out: Array<Buffer> = []
    let cursor = "0"
    do {
      const [next, keys] = await client.scanBuffer(cursor, "MATCH", `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`, "COUNT", 1000)
      cursor = next.toString()
      out.push(...keys)
    } while (cursor !== "0")
    return out
  } finally {
    client.disconnect()
  }
}
