import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ConfigFields from "../internal/ConfigFields.js"

/**
 * How to reach Redis. Every field but the URL has a default; {@link resolve} fills them in, and
 * {@link fields} reads them as `Config`s (named by the composition root).
 */
export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS); `Redacted`, as it may hold a password. */
  readonly url: Redacted.Redacted
  /** Prepended to every key. Default `llmtrace:`. */
  readonly prefix?: string
  /** How long building the layer (and each reconnection) may take to reach a ready connection. Default 5 s. */
  readonly connectTimeout?: Duration.DurationInput
  /** Upper bound of one command, including a dead or frozen connection. Default 2 s. */
  readonly commandTimeout?: Duration.DurationInput
  /** Reconnection backs off 50 ms, 100 ms, … up to this delay between attempts. Default 2 s. */
  readonly reconnectMaxDelay?: Duration.DurationInput
  /** How long `QUIT` may take when the layer's scope closes before the socket is dropped. Default 1 s. */
  readonly shutdownTimeout?: Duration.DurationInput
  /**
   * Redis Cluster seed nodes (`host:port`). When non-empty the client is a cluster client; the
   * credentials and TLS of `url` apply to every node.
   */
  readonly clusterNodes?: ReadonlyArray<string | ClusterNode>
  /**
   * Send the commands issued in one tick while others are in flight in one socket write (the
   * socket is corked until the end of the tick; ioredis's own `enableAutoPipelining` is not used).
   * Default true: under concurrency it saves a socket write per command; each command keeps its
   * own reply, error and timeout. A command with none other in flight is written at once.
   */
  readonly autoPipelining?: boolean
  /**
   * A PEM file of the certificate authorities trusted for `rediss://` (a private CA, as managed
   * Redis services use). Read when the layer is built. Default: Node's bundled root certificates.
   */
  readonly caFile?: string
  /**
   * The servers' `cluster-node-timeout`: how long the cluster takes to notice a dead master, which
   * the client does not learn from the servers. Only used to derive {@link failoverBound}. Default
   * 15 s, Redis's default.
   */
  readonly clusterNodeTimeout?: Duration.DurationInput
  /**
   * How often a cluster client re-reads the slot map (`CLUSTER SLOTS`, ioredis
   * `slotsRefreshInterval`): after a failover, the slots of the dead master are served again at most
   * this long after the replica took over. Default 2 s.
   */
  readonly clusterSlotsRefreshInterval?: Duration.DurationInput
  /**
   * How long a cluster command waits before it is re-sent after a dead node, `CLUSTERDOWN` or
   * `TRYAGAIN` (ioredis `retryDelayOnFailover`, `retryDelayOnClusterDown`, `retryDelayOnTryAgain`).
   * Default 100 ms. A command is re-sent until `clusterMaxRedirections` or the command timeout ends it.
   */
  readonly clusterRetryDelay?: Duration.DurationInput
  /**
   * How many times one cluster command is redirected or re-sent at most (ioredis `maxRedirections`).
   * Default 64: with the default retry delay, more than the command timeout, so the command timeout
   * (not the redirection count) ends a call while a master fails over.
   */
  readonly clusterMaxRedirections?: number
}

/** {@link RedisOptions} with every default applied. */
export interface ResolvedRedisOptions {
  readonly url: Redacted.Redacted<string>
  readonly prefix: string
  readonly connectTimeout: Duration.Duration
  readonly commandTimeout: Duration.Duration
  readonly reconnectMaxDelay: Duration.Duration
  readonly shutdownTimeout: Duration.Duration
  readonly clusterNodes: ReadonlyArray<ClusterNode>
  readonly autoPipelining: boolean
  readonly caFile: string | undefined
  readonly clusterNodeTimeout: Duration.Duration
  readonly clusterSlotsRefreshInterval: Duration.Duration
  readonly clusterRetryDelay: Duration.Duration
  readonly clusterMaxRedirections: number
}

export interface ClusterNode {
  readonly host: string
  readonly port: number
}

export const defaults = {
  url: "redis://127.0.0.1:6379",
  prefix: "llmtrace:",
  connectTimeout: Duration.seconds(5),
  commandTimeout: Duration.seconds(2),
  reconnectMaxDelay: Duration.seconds(2),
  shutdownTimeout: Duration.seconds(1),
  autoPipelining: true,
  clusterNodeTimeout: Duration.seconds(15),
  clusterSlotsRefreshInterval: Duration.seconds(2),
  clusterRetryDelay: Duration.millis(100),
  clusterMaxRedirections: 64
} as const

/**
 * How long after a master dies a cluster client answers again for its slots, at most:
 *
 * - the cluster's failover: the master is flagged failing `clusterNodeTimeout` after its last answer,
 *   plus up to half of it for the failure reports to reach a majority of masters by gossip; its
 *   replica then waits 500 ms + up to 500 ms + 1 s per better-ranked replica before it is elected
 *   (bounded here by 2 s, one replica per master);
 * - the client: its next slot map read (`clusterSlotsRefreshInterval`, bounded by the connect
 *   timeout), then a command that may still have been sent to the dead master (the command timeout).
 *
 * Calls in between fail with `StorageUnavailable` within the command timeout; none waits longer.
 */
export const failoverBound = (options: ResolvedRedisOptions): Duration.Duration =>
  Duration.sum(
    Duration.sum(Duration.times(options.clusterNodeTimeout, 1.5), Duration.seconds(2)),
    Duration.sum(Duration.sum(options.clusterSlotsRefreshInterval, options.connectTimeout), options.commandTimeout)
  )

/** Checks a Redis URL; the message never repeats the URL (it may hold a password). */
export const parseUrl = (url: string): Either.Either<URL, string> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left("must be a URL such as redis://127.0.0.1:6379")
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return Either.left(`must start with redis:// or rediss:// (got ${parsed.protocol}//)`)
  }
  if (parsed.hostname === "") return Either.left("must name a host")
  return Either.right(parsed)
}

/** `host:port` of a Redis URL, for messages: never the user name or password. */
export const address = (url: Redacted.Redacted<string> | string): string => {
  const raw = typeof url === "string" ? url : Redacted.value(url)
  return Either.match(parseUrl(raw), {
    onLeft: () => "<invalid redis url>",
    onRight: (u) => `${u.hostname}:${u.port === "" ? "6379" : u.port}`
  })
}

/** Parses `host:port` (IPv6 as `[::1]:7000`); a missing port is 6379. */
export const parseNode = (node: string): Either.Either<ClusterNode, string> => {
  const trimmed = node.trim()
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(trimmed)
  const host = match?.[1] ?? match?.[2]
  const port = Number(match?.[3] ?? "6379")
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Either.left(`"${trimmed}" is not host:port`)
  }
  return Either.right({ host, port })
}

const parseNodes = (nodes: ReadonlyArray<string | ClusterNode>): Either.Either<ReadonlyArray<ClusterNode>, string> => {
  const out: Array<ClusterNode> = []
  for (const node of nodes) {
    if (typeof node !== "string") {
      out.push(node)
      continue
    }
    if (node.trim() === "") continue
    const parsed = parseNode(node)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    out.push(parsed.right)
  }
  return Either.right(out)
}

const positive = (d: Duration.DurationInput, name: string): Duration.Duration => {
  const decoded = Duration.decode(d)
  if (!Duration.isFinite(decoded) || Duration.toMillis(decoded) < 1) {
    throw new Error(`${name} must be a finite duration of at least 1 millisecond`)
  }
  return decoded
}

const positiveInteger = (n: number, name: string): number => {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`)
  return n
}

/**
 * Applies the defaults and checks explicit options. Throws on an invalid URL or node: explicit
 * options are the program's own constants, so a mistake there is a defect, not a runtime condition.
 */
export const resolve = (options: RedisOptions): ResolvedRedisOptions => {
  const url = options.url
  const parsedUrl = parseUrl(Redacted.value(url))
  if (Either.isLeft(parsedUrl)) throw new Error(`Redis url ${parsedUrl.left}`)
  const nodes = parseNodes(options.clusterNodes ?? [])
  if (Either.isLeft(nodes)) throw new Error(`Redis cluster node ${nodes.left}`)
  return {
    url,
    prefix: options.prefix ?? defaults.prefix,
    connectTimeout: positive(options.connectTimeout ?? defaults.connectTimeout, "connectTimeout"),
    commandTimeout: positive(options.commandTimeout ?? defaults.commandTimeout, "commandTimeout"),
    reconnectMaxDelay: positive(options.reconnectMaxDelay ?? defaults.reconnectMaxDelay, "reconnectMaxDelay"),
    shutdownTimeout: positive(options.shutdownTimeout ?? defaults.shutdownTimeout, "shutdownTimeout"),
    clusterNodes: nodes.right,
    autoPipelining: options.autoPipelining ?? defaults.autoPipelining,
    caFile: options.caFile === undefined || options.caFile === "" ? undefined : options.caFile,
    clusterNodeTimeout: positive(options.clusterNodeTimeout ?? defaults.clusterNodeTimeout, "clusterNodeTimeout"),
    clusterSlotsRefreshInterval: positive(options.clusterSlotsRefreshInterval ?? defaults.clusterSlotsRefreshInterval, "clusterSlotsRefreshInterval"),
    clusterRetryDelay: positive(options.clusterRetryDelay ?? defaults.clusterRetryDelay, "clusterRetryDelay"),
    clusterMaxRedirections: positiveInteger(options.clusterMaxRedirections ?? defaults.clusterMaxRedirections, "clusterMaxRedirections")
  }
}

const duration = (fallback: Duration.Duration) =>
  Config.duration().pipe(
    Config.mapOrFail((d) =>
      Duration.isFinite(d) && Duration.toMillis(d) >= 1
        ? Either.right(d)
        : Either.left(ConfigError.InvalidData([], "must be a finite duration of at least 1 millisecond, e.g. \"2 seconds\""))
    ),
    Config.withDefault(fallback)
  )

/**
 * Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). A bad value
 * fails with a `ConfigError` naming the variable, never repeating the URL.
 */
export const fields = {
  url: Config.redacted().pipe(
    Config.mapOrFail((url) =>
      Either.mapBoth(parseUrl(Redacted.value(url)), { onRight: () => url, onLeft: (message) => ConfigError.InvalidData([], message) })
    ),
    Config.withDefault(Redacted.make(defaults.url))
  ),
  prefix: Config.string().pipe(Config.withDefault(defaults.prefix)),
  connectTimeout: duration(defaults.connectTimeout),
  commandTimeout: duration(defaults.commandTimeout),
  reconnectMaxDelay: duration(defaults.reconnectMaxDelay),
  shutdownTimeout: duration(defaults.shutdownTimeout),
  clusterNodes: Config.string().pipe(
    Config.mapOrFail((list) => Either.mapLeft(parseNodes(list.split(",")), (message) => ConfigError.InvalidData([], message))),
    Config.withDefault([])
  ),
  autoPipelining: Config.boolean().pipe(Config.withDefault(defaults.autoPipelining)),
  caFile: Config.string().pipe(Config.withDefault("")),
  clusterNodeTimeout: duration(defaults.clusterNodeTimeout),
  clusterSlotsRefreshInterval: duration(defaults.clusterSlotsRefreshInterval),
  clusterRetryDelay: duration(defaults.clusterRetryDelay),
  clusterMaxRedirections: Config.integer().pipe(
    Config.validate({ message: "must be a positive integer", validation: (n) => n >= 1 }),
    Config.withDefault(defaults.clusterMaxRedirections)
  )
} satisfies ConfigFields.Fields<RedisOptions>
