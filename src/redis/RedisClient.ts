import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis, RedisOptions as IORedisOptions } from "ioredis"
import { readFile } from "node:fs/promises"
import type { Writable } from "node:stream"
import { StorageQueryError, StorageUnavailable } from "../StorageError.js"
import * as ConfigFields from "../internal/ConfigFields.js"
import * as RedisConfig from "./RedisConfig.js"

/** How to reach Redis (see {@link RedisConfig.RedisOptions}). */
export type Options = RedisConfig.RedisOptions

/** A single server or a cluster: both speak the same single-key commands. */
export type Client = Redis | Cluster

export interface RedisClientShape {
  /** The ioredis client, ready when the layer is built. Prefer {@link RedisClientShape.use}. */
  readonly client: Client
  /** `host:port` (the first seed node for a cluster): for messages, never with the password. */
  readonly address: string
  readonly options: RedisConfig.ResolvedRedisOptions
  /**
   * Runs one command. A connection that is down, reconnecting or does not answer within the
   * command timeout is a `StorageUnavailable`; an error reply (`WRONGTYPE`, …) a `StorageQueryError`.
   * `map`, if given, turns the reply into the result as it arrives (cheaper than an `Effect.map`
   * after it, on the hot path); it must not throw (a throw is a defect).
   */
  readonly use: <A, B = A>(
    operation: string,
    f: (client: Client) => Promise<A>,
    map?: (reply: A) => B
  ) => Effect.Effect<B, StorageUnavailable | StorageQueryError>
}

export class RedisClient extends Context.Tag("llmtrace-storage/RedisClient")<RedisClient, RedisClientShape>() {}

/** Error replies that mean "not now" rather than "wrong command": the server or cluster is unavailable. */
const unavailableReply = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|MOVED|ASK)\b/

/**
 * Replies that no retry will change: the credentials or the user's permissions are wrong. They are a
 * `StorageQueryError` (the server refused), never `StorageUnavailable`, which callers may retry.
 */
export const refusedReply = /^(NOAUTH|WRONGPASS|NOPERM)\b/

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * The error of a failed command. The cause is a fresh `Error` with the message only: ioredis
 * errors carry the command's arguments (values, and for `AUTH` the password).
 */
export const toStorageError = (address: string, operation: string, commandTimeout?: Duration.Duration) =>
(error: unknown): StorageUnavailable | StorageQueryError => {
  const message = messageOf(error)
  const cause = new Error(message)
  if (refusedReply.test(message)) {
    return new StorageQueryError({ backend: "redis", operation, message: `redis at ${address} refused the credentials or permissions: ${message}`, cause })
  }
  if (error instanceof Error && error.name === "ReplyError" && !unavailableReply.test(message)) {
    return new StorageQueryError({ backend: "redis", operation, message: `redis at ${address} rejected the command: ${message}`, cause })
  }
  const said = message.includes("enableOfflineQueue")
    ? "not connected (reconnecting in the background)"
    : message === "Command timed out" && commandTimeout !== undefined
    ? `did not answer within ${Duration.format(commandTimeout)}`
    : message
  return new StorageUnavailable({ backend: "redis", operation, message: `redis at ${address}: ${said}`, cause })
}

/** Exponential back-off from 50 ms, capped: reconnection never stops, but never waits longer than the cap. */
const backoff = (maxDelay: Duration.Duration) => {
  const cap = Math.max(1, Math.round(Duration.toMillis(maxDelay)))
  return (times: number): number => Math.min(cap, 50 * 2 ** Math.min(Math.max(0, times - 1), 16))
}

const clientOptions = (options: RedisConfig.ResolvedRedisOptions): IORedisOptions => ({
  lazyConnect: true,
  connectTimeout: Math.ceil(Duration.toMillis(options.connectTimeout)),
  commandTimeout: Math.ceil(Duration.toMillis(options.commandTimeout)),
  // No command ever waits for a connection: while disconnected, commands fail at once, and the
  // commands in flight when a connection drops fail at once instead of being re-sent later.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableReadyCheck: true,
  // ioredis's own auto-pipeline stays off: `sender` writes the commands of one tick together itself.
  enableAutoPipelining: false,
  retryStrategy: backoff(options.reconnectMaxDelay)
})

const credentials = (url: URL): IORedisOptions => ({
  ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
  ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) })
})

/** TLS for `rediss://`: the configured CA (else Node's roots), the server's name checked against its certificate. */
const tlsOptions = (url: URL, ca: string | undefined): IORedisOptions =>
  url.protocol === "rediss:" ? { tls: ca === undefined ? {} : { ca } } : {}

const millis = (d: Duration.Duration) => Math.ceil(Duration.toMillis(d))

/** Whether a client is a cluster's (told by the client itself: the driver's classes are loaded lazily, see {@link make}). */
export const isCluster = (client: Client): client is Cluster => client.isCluster

/**
 * The driver, loaded when a client is made: importing this module, or the package's entries, loads
 * no driver (test/packaging/EntryDrivers.test.ts).
 */
const loadDriver = Effect.tryPromise({
  try: () => import("ioredis"),
  catch: (cause) => new StorageUnavailable({ backend: "redis", operation: "RedisClient.make", message: `cannot load ioredis: ${String(cause)}` })
})

const create = (
  driver: { readonly Cluster: typeof Cluster; readonly Redis: typeof Redis },
  options: RedisConfig.ResolvedRedisOptions,
  ca: string | undefined
): Client => {
  const raw = Redacted.value(options.url)
  const url = new URL(raw)
  if (options.clusterNodes.length === 0) return new driver.Redis(raw, { ...clientOptions(options), ...tlsOptions(url, ca) })
  const { enableOfflineQueue: _queue, retryStrategy: _retry, ...nodeOptions } = clientOptions(options)
  const retryDelay = millis(options.clusterRetryDelay)
  return new driver.Cluster(options.clusterNodes.map((n) => ({ host: n.host, port: n.port })), {
    lazyConnect: true,
    // ioredis's own cluster ready check goes through this queue (with it off, a cluster never
    // becomes ready); `use` refuses commands while the cluster is not ready instead.
    enableOfflineQueue: true,
    enableReadyCheck: true,
    clusterRetryStrategy: backoff(options.reconnectMaxDelay),
    enableAutoPipelining: false,
    slotsRefreshTimeout: millis(options.connectTimeout),
    // A failover is noticed by re-reading the slot map: on a dead node's error and on this interval.
    slotsRefreshInterval: millis(options.clusterSlotsRefreshInterval),
    retryDelayOnFailover: retryDelay,
    retryDelayOnClusterDown: retryDelay,
    retryDelayOnTryAgain: retryDelay,
    maxRedirections: options.clusterMaxRedirections,
    // Node connections: the cluster client manages their queue and reconnection itself.
    redisOptions: { ...nodeOptions, ...credentials(url), ...tlsOptions(url, ca), lazyConnect: false }
  })
}

/**
 * Node's TLS verification failures: the server's certificate is not signed by a trusted CA, or not
 * for this host. No retry changes them, so building the layer fails at once.
 */
const certificateRejected = (error: unknown) =>
  Predicate.hasProperty(error, "code") && typeof error.code === "string" &&
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID/.test(error.code)

/** The configured CA file's contents; a file that cannot be read fails the build with one line naming it. */
const readCa = (file: string | undefined, address: string): Effect.Effect<string | undefined, StorageUnavailable> =>
  file === undefined ? Effect.succeed(undefined) : Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new StorageUnavailable({
        backend: "redis",
        operation: "RedisClient.connect",
        message: `redis at ${address}: the CA file ${file} could not be read: ${messageOf(error)}`,
        cause: new Error(messageOf(error))
      })
  })

/** A socket error of a single server that no retry within the connect timeout is likely to change: nothing listens there. */
const connectionRefused = (client: Client, error: unknown) =>
  !isCluster(client) && Predicate.hasProperty(error, "code") && error.code === "ECONNREFUSED"

/**
 * Waits for the client's first `ready`, keeping the last connection error for the message. Refused
 * credentials or permissions end the wait at once with a `StorageQueryError`: reconnecting would
 * only be refused again. So does a refused connection (nothing listens at the address), with a
 * `StorageUnavailable`: at start it is final, where waiting out the connect timeout would only
 * delay the same answer. A connection that drops once ready keeps reconnecting in the background.
 * A cluster waits: its seed nodes are tried in turn, and one refusing is not the cluster refusing.
 */
const awaitReady = (client: Client, address: string, options: RedisConfig.ResolvedRedisOptions, lastError: () => string | undefined) =>
  Effect.async<void, StorageUnavailable | StorageQueryError>((resume) => {
    const onReady = () => resume(Effect.void)
    const onError = (error: unknown) => {
      if (refusedReply.test(messageOf(error))) resume(Effect.fail(toStorageError(address, "RedisClient.connect")(error) as StorageQueryError))
      else if (certificateRejected(error)) {
        resume(Effect.fail(
          new StorageUnavailable({
            backend: "redis",
            operation: "RedisClient.connect",
            message: `redis at ${address}: TLS: the server's certificate was not accepted (${
              options.caFile === undefined ? "no CA file configured: Node's root certificates" : `CA file ${options.caFile}`
            }): ${messageOf(error)}`,
            cause: new Error(messageOf(error))
          })
        ))
      }
      else if (connectionRefused(client, error)) {
        resume(Effect.fail(
          new StorageUnavailable({ backend: "redis", operation: "RedisClient.connect", message: `redis at ${address} refused the connection: ${messageOf(error)}`, cause: new Error(messageOf(error)) })
        ))
      }
    }
    if (client.status === "ready") return resume(Effect.void)
    client.once("ready", onReady)
    client.on("error", onError)
    client.connect().catch(onError)
    return Effect.sync(() => {
      client.removeListener("ready", onReady)
      client.removeListener("error", onError)
    })
  }).pipe(
    Effect.timeoutFail({
      duration: options.connectTimeout,
      onTimeout: () => {
        const last = lastError()
        return new StorageUnavailable({
          backend: "redis",
          operation: "RedisClient.connect",
          message: `redis at ${address} could not be reached within ${Duration.format(options.connectTimeout)}` +
            (last === undefined ? "" : `: ${last}`)
        })
      }
    })
  )

const release = (client: Client, timeout: Duration.Duration) =>
  Effect.gen(function*() {
    if (client.status === "ready") {
      yield* Effect.tryPromise(() => client.quit()).pipe(Effect.timeout(timeout), Effect.ignore)
    }
  }).pipe(Effect.ensuring(Effect.sync(() => client.disconnect())))

/** The sockets commands may be written to now: the client's own, or each cluster node's. */
const socketsOf = (client: Client): ReadonlyArray<Writable> => {
  if (!isCluster(client)) return client.stream === undefined ? [] : [client.stream]
  const sockets: Array<Writable> = []
  for (const node of client.nodes("all")) if (node.stream !== undefined) sockets.push(node.stream)
  return sockets
}

/**
 * Sends commands through `client`, counting ours in flight. A command that finds none of ours in
 * flight is written at once. With `pipelining` on, a command issued while others are in flight
 * corks the sockets until the end of the tick (`process.nextTick`), so all the commands issued in
 * that tick leave in one write (one `writev`) instead of one write each: under concurrency that
 * write per command is most of a GET's cost (bench/redis.ts). Unlike ioredis's auto-pipeline (a
 * `Pipeline`, a promise and a `nextTick` per command, one pipeline in flight at a time) this adds
 * nothing per command, sets no client option, and keeps every command's own reply, error, timeout
 * and order. The sockets corked are the ones uncorked, even if a reconnection replaced them.
 */
const sender = (client: Client, pipelining: boolean) => {
  let inFlight = 0
  let corked: ReadonlyArray<Writable> | undefined
  const uncork = () => {
    const sockets = corked
    corked = undefined
    if (sockets !== undefined) for (const socket of sockets) socket.uncork()
  }
  const cork = () => {
    corked = socketsOf(client)
    for (const socket of corked) socket.cork()
    process.nextTick(uncork)
  }
  return <A, B, E>(f: (client: Client) => Promise<A>, onError: (cause: unknown) => E, map: ((reply: A) => B) | undefined): Effect.Effect<B, E> =>
    Effect.async<B, E>((resume) => {
      if (pipelining && inFlight > 0 && corked === undefined) cork()
      let sent: Promise<A>
      try {
        sent = f(client)
      } catch (cause) {
        return resume(Effect.fail(onError(cause)))
      }
      inFlight++
      sent.then(
        (reply) => {
          inFlight--
          if (map === undefined) return resume(Effect.succeed(reply as unknown as B))
          let value: B
          try {
            value = map(reply)
          } catch (defect) {
            return resume(Effect.die(defect))
          }
          resume(Effect.succeed(value))
        },
        (cause: unknown) => {
          inFlight--
          resume(Effect.fail(onError(cause)))
        }
      )
    })
}

/**
 * A connected client in the current scope: quit (bounded by the shutdown timeout, then the socket
 * is dropped) when the scope closes. Fails with `StorageUnavailable` naming `host:port`, never the
 * password, when no connection is ready within the connect timeout. Invalid explicit options
 * (a malformed URL) are a defect: they are the program's own constants.
 */
export const make = (options: Options): Effect.Effect<RedisClientShape, StorageUnavailable | StorageQueryError, Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = yield* Effect.sync(() => RedisConfig.resolve(options))
    const first = resolved.clusterNodes[0]
    const address = first === undefined ? RedisConfig.address(resolved.url) : `${first.host}:${first.port} (cluster)`
    let lastError: string | undefined
    const ca = yield* readCa(resolved.caFile, address)
    const driver = yield* loadDriver
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = create(driver, resolved, ca)
        // Without a listener ioredis prints every connection error; they surface as typed errors instead.
        client.on("error", (error: unknown) => void (lastError = messageOf(error)))
        return client
      }),
      (client) => release(client, resolved.shutdownTimeout)
    )
    yield* awaitReady(client, address, resolved, () => lastError)
    // One error function per operation name, made once (not a closure per command).
    const errors = new Map<string, (error: unknown) => StorageUnavailable | StorageQueryError>()
    const toError = (operation: string) => {
      let toError = errors.get(operation)
      if (toError === undefined) errors.set(operation, toError = toStorageError(address, operation, resolved.commandTimeout))
      return toError
    }
    const cluster = isCluster(client)
    const send = sender(client, resolved.autoPipelining)
    const use = <A, B = A>(operation: string, f: (client: Client) => Promise<A>, map?: (reply: A) => B) =>
      cluster && client.status !== "ready"
        ? Effect.fail(toError(operation)(new Error(`cluster not ready (${client.status})`)))
        : send(f, toError(operation), map)
    return { client, address, options: resolved, use }
  }).pipe(Effect.withSpan("RedisClient.make"))

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = RedisConfig.fields

/** The default configuration: each option under its own name (`url`, `commandTimeout`, …), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** A client from explicit options (defaults for the rest); reads no configuration. */
export const layer = (options: Options): Layer.Layer<RedisClient, StorageUnavailable | StorageQueryError> => Layer.scoped(RedisClient, make(options))

/** A client from a configuration, e.g. {@link config} or `StorageConfig.redis`. */
export const layerConfig = (config: Config.Config.Wrap<Options>): Layer.Layer<RedisClient, StorageUnavailable | StorageQueryError | ConfigError.ConfigError> =>
  Layer.scoped(RedisClient, Effect.flatMap(Config.unwrap(config), make))

/**
 * The `make`, `layer` and `layerConfig` of a service built on the `RedisClient` in context
 * (`fromClient`), each on a client of its own that closes with the scope: `RedisCache` and
 * `RedisTokenChanges` take the same options and are built the same way.
 */
export const onOwnClient = <I, S>(tag: Context.Tag<I, S>, fromClient: Effect.Effect<S, never, RedisClient>) => {
  const makeService = (options: Options): Effect.Effect<S, StorageUnavailable | StorageQueryError, Scope.Scope> =>
    Effect.flatMap(make(options), (client) => Effect.provideService(fromClient, RedisClient, client))
  return {
    make: makeService,
    layer: (options: Options): Layer.Layer<I, StorageUnavailable | StorageQueryError> => Layer.scoped(tag, makeService(options)),
    layerConfig: (config: Config.Config.Wrap<Options>): Layer.Layer<I, StorageUnavailable | StorageQueryError | ConfigError.ConfigError> =>
      Layer.scoped(tag, Effect.flatMap(Config.unwrap(config), makeService))
  }
}
