import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Cache from "../Cache.js"
import * as RedisClient from "./RedisClient.js"
import * as RedisConfig from "./RedisConfig.js"

/** Sets KEYS[1] to ARGV[2] with a TTL of ARGV[3] ms only if it holds exactly ARGV[1]; one key, so cluster-safe. */
const compareAndSetScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) end return nil`

/** The method `defineCommand` adds to the client, under the name given, which ioredis's types cannot know of. */
interface WithCompareAndSet {
  readonly llmtraceCompareAndSet: (key: string, expected: Buffer, value: Buffer, ttlMs: number) => Promise<unknown>
}

/**
 * Defines the compare-and-set script on the client once: ioredis sends it with `EVAL` the first time
 * on each connection and by its SHA (`EVALSHA`) after that, sending the source again only where the
 * server answers `NOSCRIPT` (a restart, `SCRIPT FLUSH`). Defining it again (a second cache on one
 * client) replaces it with the same script.
 */
const defineCompareAndSet = (client: RedisClient.Client): void =>
  client.defineCommand("llmtraceCompareAndSet", { numberOfKeys: 1, lua: compareAndSetScript })

const withCompareAndSet = (client: RedisClient.Client): WithCompareAndSet => client as unknown as WithCompareAndSet

/** A reply's bytes, as the `Cache` port gives them: a view of the Buffer ioredis made, not a copy. */
const toValue = (reply: Buffer | null): Option.Option<Uint8Array> =>
  reply === null ? Option.none() : Option.some(new Uint8Array(reply.buffer, reply.byteOffset, reply.byteLength))

const toVoid = (): void => undefined

/**
 * The `Cache` on Redis. Every key is `prefix + key`, and every command names one key (`GET`,
 * `SET … PX`, `UNLINK`), so on a Redis Cluster each key is routed to its own slot: there is no
 * multi-key command, transaction or script that would need its keys in one slot (CROSSSLOT).
 *
 * - values are bytes both ways (`getBuffer`, a `Buffer` argument to `SET`): binary-safe;
 * - TTLs are set in milliseconds (`SET key value PX ms`, a fraction of a millisecond rounded up);
 * - `compareAndSet` is `SET … PX ms NX` when nothing is expected, else a one-key script (atomic on the
 *   server), sent by its SHA once each connection has it (see {@link defineCompareAndSet});
 * - `invalidate` is `UNLINK`, a no-op for a missing key;
 * - `healthCheck` is `PING`;
 * - every call is bounded by the command timeout, and fails at once while the connection is down.
 */
export const fromClient: Effect.Effect<Cache.CacheShape, never, RedisClient.RedisClient> = Effect.map(
  RedisClient.RedisClient,
  (redis) => {
    const { commandTimeout, prefix } = redis.options
    defineCompareAndSet(redis.client)
    return Cache.make("redis", {
      get: (key) => redis.use("Cache.get", (client) => client.getBuffer(prefix + key), toValue),
      // ioredis copies a Buffer argument into the command it writes, so the caller's bytes are not kept.
      set: (key, value, ttl) =>
        redis.use(
          "Cache.set",
          (client) =>
            client.set(
              prefix + key,
              Buffer.from(value.buffer, value.byteOffset, value.byteLength),
              "PX",
              Math.max(1, Math.ceil(Duration.toMillis(ttl)))
            ),
          toVoid
        ),
      compareAndSet: (key, expected, value, ttl) => {
        const ms = Math.max(1, Math.ceil(Duration.toMillis(ttl)))
        const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        return redis.use(
          "Cache.compareAndSet",
          (client) =>
            Option.isNone(expected)
              ? client.set(prefix + key, bytes, "PX", ms, "NX")
              : withCompareAndSet(client).llmtraceCompareAndSet(prefix + key, Buffer.from(expected.value), bytes, ms),
          (reply) => reply === "OK"
        )
      },
      invalidate: (key) => redis.use("Cache.invalidate", (client) => client.unlink(prefix + key), toVoid),
      healthCheck: () => redis.use("Cache.healthCheck", (client) => client.ping(), toVoid)
    }, {
      timeout: commandTimeout,
      // A single server: ioredis bounds every command by `commandTimeout` and refuses commands at
      // once while disconnected. A cluster may queue a command while it re-reads its slots: there
      // `Cache.make` keeps its own timer.
      backendBoundsCalls: redis.options.clusterNodes.length === 0
    })
  }
)

/** How to reach Redis, and the key prefix (see {@link RedisConfig.RedisOptions}). */
export type Options = RedisConfig.RedisOptions

export const fields = RedisConfig.fields
export const config: Config.Config<Options> = RedisClient.config

/**
 * The cache on a client of its own, closed with the scope: `make(options)`, `layer(options)` (reads no
 * configuration) and `layerConfig(config)`, e.g. with {@link config} or `StorageConfig.redis`.
 */
export const { layer, layerConfig, make } = RedisClient.onOwnClient(Cache.Cache, fromClient)

/** The cache on the `RedisClient` in context, for sharing one connection with other Redis users. */
export const layerFromClient: Layer.Layer<Cache.Cache, never, RedisClient.RedisClient> = Layer.effect(Cache.Cache, fromClient)
