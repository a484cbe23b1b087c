import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { freePort } from "./ports.js"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { requireService } from "./live.js"
import { pingRedis, rawClient } from "./redis.js"

/** The `redis-server` binary the private servers run: `REDIS_SERVER`, else the one on PATH. */
const redisServerBinary = process.env.REDIS_SERVER ?? "redis-server"

/** Under CI=true a missing `redis-server` binary fails the file; locally the suite is skipped. */
export const redisServerInstalled = () =>
  requireService({
    name: "redis-server (binary, for private test servers)",
    variable: "REDIS_SERVER",
    address: redisServerBinary,
    probe: async () => {
      const result = spawnSync(redisServerBinary, ["--version"], { encoding: "utf8" })
      if (result.error !== undefined) throw result.error
      if (result.status !== 0) throw new Error(`exit ${result.status}`)
    },
    howToStart: "`apt-get install redis-server` (or set REDIS_SERVER to the binary)"
  })



/** The `redis-cli` binary: `REDIS_CLI`, else the one on PATH. */
const redisCliBinary = process.env.REDIS_CLI ?? "redis-cli"

/** Under CI=true a missing `redis-cli` (it creates the private clusters) fails the file; locally the suite is skipped. */
export const redisCliInstalled = () =>
  requireService({
    name: "redis-cli (binary, creates private test clusters)",
    variable: "REDIS_CLI",
    address: redisCliBinary,
    probe: async () => {
      const result = spawnSync(redisCliBinary, ["--version"], { encoding: "utf8" })
      if (result.error !== undefined) throw result.error
      if (result.status !== 0) throw new Error(`exit ${result.status}`)
    },
    howToStart: "`apt-get install redis-tools` (or set REDIS_CLI to the binary)"
  })

/** Under CI=true a missing `openssl` (it makes the TLS tests' certificates) fails the file; locally the suite is skipped. */
export const opensslInstalled = () =>
  requireService({
    name: "openssl (binary, makes test certificates)",
    variable: "PATH",
    address: "openssl",
    probe: async () => {
      const result = spawnSync("openssl", ["version"], { encoding: "utf8" })
      if (result.error !== undefined) throw result.error
      if (result.status !== 0) throw new Error(`exit ${result.status}`)
    },
    howToStart: "`apt-get install openssl`"
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface PrivateRedis {
  readonly port: number
  readonly url: string
  /** Its data directory (the test's temp dir, removed with the scope). */
  readonly dir: string
  /** Starts (or restarts) the server on the same port and waits until it answers. */
  readonly start: Effect.Effect<void>
  /** SIGTERM, then waits for the process to exit (no save: the server runs without persistence). */
  readonly stop: Effect.Effect<void>
  /** SIGKILL at once. */
  readonly kill: Effect.Effect<void>
  /** SIGSTOP / SIGCONT: a server that holds its connections but never answers. */
  readonly freeze: Effect.Effect<void>
  readonly thaw: Effect.Effect<void>
  /** Runs a command on a short-lived raw connection. */
  readonly command: (name: string, ...args: ReadonlyArray<string | number>) => Effect.Effect<unknown>
}

export interface PrivateRedisOptions {
  /** A one-node cluster owning every slot. */
  readonly cluster?: boolean
  /** Cluster-enabled, no slots: a node for {@link privateRedisCluster} to join. */
  readonly clusterMember?: boolean
  /** `cluster-node-timeout` in ms (default Redis's 15 000). */
  readonly nodeTimeoutMs?: number
  /** The port is a TLS port (`--tls-port`; the plain port is off): pass the certificates in `args`. */
  readonly tlsPort?: boolean
  /** More `redis-server` arguments (TLS, ACL users). */
  readonly args?: ReadonlyArray<string>
  /** How the readiness probe reaches the server, when plain `url` does not (a TLS-only server). */
  readonly probe?: (port: number) => Promise<void>
}

/**
 * A `redis-server` of this test's own on a spare port, without persistence, killed when the scope
 * closes whatever happened. `cluster: true` starts it as a one-node cluster owning every slot.
 */
export const privateRedis = (options: PrivateRedisOptions = {}): Effect.Effect<PrivateRedis, never, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-redis-"))
    const url = `redis://127.0.0.1:${port}`
    let proc: ChildProcess | undefined
    const clustered = options.cluster === true || options.clusterMember === true
    // The cluster bus listens on a port of its own (by default port + 10 000, which may be taken or past 65 535).
    const busPort = clustered ? yield* Effect.promise(freePort) : 0
    const args = [
      ...(options.tlsPort === true ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)]), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
      ...(clustered ? [
        "--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, "nodes.conf"), "--cluster-announce-ip", "127.0.0.1",
        "--cluster-port", String(busPort), "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 15_000)
      ] : []),
      ...(options.args ?? [])
    ]
    const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null
    const waitExit = (p: ChildProcess) => new Promise<void>((resolve) => (exited(p) ? resolve() : p.once("exit", () => resolve())))

    const command = (name: string, ...rest: ReadonlyArray<string | number>) =>
      Effect.promise(async () => {
        const client = rawClient(url)
        client.on("error", () => undefined)
        try {
          await client.connect()
          return await client.call(name, ...rest)
        } finally {
          client.disconnect()
        }
      })

    const start = Effect.promise(async () => {
      if (proc !== undefined && !exited(proc)) return
      proc = spawn(redisServerBinary, args, { stdio: "ignore" })
      for (let attempt = 0; ; attempt++) {
        try {
          await (options.probe === undefined ? pingRedis(url) : options.probe(port))
          return
        } catch (error) {
          if (attempt >= 200 || exited(proc)) throw new Error(`private redis-server on port ${port} did not start: ${String(error)}`)
          await sleep(25)
        }
      }
    })
    const signal = (sig: NodeJS.Signals) => Effect.sync(() => void (proc !== undefined && !exited(proc) && proc.kill(sig)))
    const stop = Effect.promise(async () => {
      if (proc === undefined || exited(proc)) return
      const p = proc
      p.kill("SIGCONT")
      p.kill("SIGTERM")
      await waitExit(p)
    })
    const kill = Effect.promise(async () => {
      if (proc === undefined || exited(proc)) return
      const p = proc
      p.kill("SIGKILL")
      await waitExit(p)
    })

    yield* Effect.addFinalizer(() => kill.pipe(Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true })))))
    yield* start
    if (options.cluster === true) {
      yield* command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
      yield* Effect.promise(async () => {
        for (let attempt = 0; attempt < 400; attempt++) {
          const client = rawClient(url)
          client.on("error", () => undefined)
          try {
            await client.connect()
            const info = String(await client.call("CLUSTER", "INFO"))
            if (info.includes("cluster_state:ok")) return
          } finally {
            client.disconnect()
          }
          await sleep(25)
        }
        throw new Error(`private redis cluster on port ${port} never reached cluster_state:ok`)
      })
    }
    return { port, url, dir, start, stop, kill, freeze: signal("SIGSTOP"), thaw: signal("SIGCONT"), command }
  })

export interface PrivateCluster {
  /** Every node, in the order `redis-cli --cluster create` was given them (masters first). */
  readonly nodes: ReadonlyArray<PrivateRedis>
  /** `127.0.0.1:port` of every node, for `clusterNodes`. */
  readonly seeds: ReadonlyArray<string>
  /** The node that owns `key`'s slot now (`CLUSTER KEYSLOT`, then `CLUSTER SLOTS` on a live node). */
  readonly masterOf: (key: string) => Effect.Effect<PrivateRedis>
  /** Resolves when every live node reports `cluster_state:ok` and each slot range has a master that answers. */
  readonly awaitOk: Effect.Effect<void>
}

const clusterInfo = (node: PrivateRedis) =>
  node.command("CLUSTER", "INFO").pipe(Effect.map(String), Effect.catchAllDefect(() => Effect.succeed("")))

/**
 * A Redis Cluster of this test's own: `masters` masters with `replicas` replicas each, private
 * `redis-server` processes joined by `redis-cli --cluster create … --cluster-yes`, every process
 * killed when the scope closes.
 */
export const privateRedisCluster = (options: { readonly masters?: number; readonly replicas?: number; readonly nodeTimeoutMs?: number } = {}): Effect.Effect<PrivateCluster, never, Scope.Scope> =>
  Effect.gen(function*() {
    const masters = options.masters ?? 3
    const replicas = options.replicas ?? 1
    const nodes = yield* Effect.all(
      Array.from({ length: masters * (1 + replicas) }, () => privateRedis({ clusterMember: true, ...(options.nodeTimeoutMs === undefined ? {} : { nodeTimeoutMs: options.nodeTimeoutMs }) })),
      { concurrency: "unbounded" }
    )
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`)
    const created = spawnSync(redisCliBinary, ["--cluster", "create", ...seeds, "--cluster-replicas", String(replicas), "--cluster-yes"], { encoding: "utf8", timeout: 60_000 })
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.status}): ${created.stdout}${created.stderr}`)
    const live = Effect.filter(nodes, (n) => Effect.map(clusterInfo(n), (info) => info !== ""))
    const awaitOk = Effect.gen(function*() {
      for (let attempt = 0; attempt < 2400; attempt++) {
        const infos = yield* Effect.forEach(yield* live, clusterInfo)
        if (infos.length > 0 && infos.every((i) => i.includes("cluster_state:ok"))) return
        yield* Effect.sleep("25 millis")
      }
      return yield* Effect.dieMessage("private redis cluster never reached cluster_state:ok")
    })
    yield* awaitOk
    // A replica takes over a dead master only once it has synced with it (a replica whose link never came
    // up refuses to stand for election): until every replica's link is up, a failover may never happen.
    yield* Effect.gen(function*() {
      for (let attempt = 0; attempt < 2400; attempt++) {
        const infos = yield* Effect.forEach(nodes, (n) =>
          n.command("INFO", "replication").pipe(Effect.map(String), Effect.catchAllDefect(() => Effect.succeed(""))))
        const links = infos.filter((i) => i.includes("role:slave"))
        if (links.length === masters * replicas && links.every((i) => i.includes("master_link_status:up"))) return
        yield* Effect.sleep("25 millis")
      }
      return yield* Effect.dieMessage("private redis cluster: a replica's link to its master never came up")
    })
    const masterOf = (key: string) =>
      Effect.gen(function*() {
        const [any] = yield* live
        if (any === undefined) return yield* Effect.dieMessage("no live node")
        const slot = Number(yield* any.command("CLUSTER", "KEYSLOT", key))
        // [from, to, [host, port, id], …replicas]
        const ranges = (yield* any.command("CLUSTER", "SLOTS")) as ReadonlyArray<[number, number, [string, number, ...Array<unknown>], ...Array<unknown>]>
        const range = ranges.find(([from, to]) => slot >= from && slot <= to)
        const owner = nodes.find((n) => n.port === range?.[2][1])
        if (owner === undefined) return yield* Effect.dieMessage(`no master owns slot ${slot}`)
        return owner
      })
    return { nodes, seeds, masterOf, awaitOk }
  })
