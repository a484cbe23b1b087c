import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as TokenChanges from "../TokenChanges.js"
import * as RedisClient from "./RedisClient.js"
import * as RedisConfig from "./RedisConfig.js"

/** The channel of token changes, under the configured key prefix so deployments sharing a server stay apart. */
export const channel = (prefix: string): string => `${prefix}tenant-token-changes`

/** The client name of the subscriber connection (`CLIENT LIST`); no spaces, as Redis requires. */
export const subscriberName = (prefix: string): string => `${prefix}token-changes`.replace(/\s/g, "_")

/**
 * Token changes over Redis pub/sub. `publish` sends the hashes (space-separated) on the main
 * connection; each `listen` holds its own subscriber connection (a subscribed connection can run no
 * other command). When that connection drops (a restart, a network cut, `CLIENT KILL`) the listener
 * hears `listening(false)` at once, and `listening(true)` only after the server has confirmed the
 * subscription again: changes published in between are missed, which is why the listener must
 * forget everything it learned while it was not listening.
 */
export const fromClient: Effect.Effect<TokenChanges.TokenChangesShape, never, RedisClient.RedisClient> = Effect.map(
  RedisClient.RedisClient,
  (redis) => {
    const name = channel(redis.options.prefix)
    return {
      publish: (hashes) =>
        hashes.length === 0 ? Effect.void : Effect.asVoid(redis.use("TokenChanges.publish", (client) => client.publish(name, hashes.join(" ")))),
      listen: (listener) =>
        Effect.acquireRelease(
          Effect.map(Effect.runtime<never>(), (runtime) => {
            // A refused SUBSCRIBE (an ACL without this channel) would leave the in-process level
            // bypassed for good: correct, but slower, so it is said once per reason.
            const warned = new Set<string>()
            const refused = (error: unknown) => {
              const reason = error instanceof Error ? error.message : String(error)
              if (!RedisClient.refusedReply.test(reason) || warned.has(reason)) return
              warned.add(reason)
              Runtime.runFork(runtime)(Effect.logWarning(
                `token changes: redis at ${redis.address} refused SUBSCRIBE ${name}: ${reason}; ` +
                  "the in-process token level stays bypassed (every lookup asks the shared cache)"
              ))
            }
            // Named, so an operator (or a test) can find it in CLIENT LIST.
            const subscriber = RedisClient.isCluster(redis.client)
              ? redis.client.duplicate()
              : redis.client.duplicate({ connectionName: subscriberName(redis.options.prefix) })
            let up = false
            const down = () => {
              if (!up) return
              up = false
              listener.listening(false)
            }
            const subscribe = () => {
              subscriber.subscribe(name).then(
                () => {
                  if (up) return
                  up = true
                  listener.listening(true)
                },
                (error: unknown) => {
                  refused(error)
                  down()
                }
              )
            }
            // Errors surface as `listening(false)`; ioredis would print them without a listener.
            subscriber.on("error", () => undefined)
            subscriber.on("ready", subscribe)
            subscriber.on("close", down)
            subscriber.on("end", down)
            subscriber.on("message", (from: string, message: string) => {
              if (from !== name) return
              for (const hash of message.split(" ")) listener.changed(hash)
            })
            subscriber.connect().catch(down)
            return subscriber
          }),
          (subscriber) => Effect.sync(() => subscriber.disconnect())
        ).pipe(Effect.asVoid)
    }
  }
)

/** How to reach Redis, and the key prefix (the same options as `RedisCache`: share them so both use one prefix). */
export type Options = RedisConfig.RedisOptions

export const fields = RedisConfig.fields
export const config: Config.Config<Options> = RedisClient.config

/**
 * The channel on a client of its own, closed with the scope: `make(options)`, `layer(options)` (reads no
 * configuration) and `layerConfig(config)`, e.g. with {@link config} or `StorageConfig.redis`.
 */
export const { layer, layerConfig, make } = RedisClient.onOwnClient(TokenChanges.TokenChanges, fromClient)

/** The channel on the `RedisClient` in context, sharing its connection for publishing (the subscriber has its own). */
export const layerFromClient: Layer.Layer<TokenChanges.TokenChanges, never, RedisClient.RedisClient> = Layer.effect(TokenChanges.TokenChanges, fromClient)
