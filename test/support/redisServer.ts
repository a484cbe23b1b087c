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
export const redisServerBinary = process.env.REDIS_SERVER ?? "redis-server"

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



const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface PrivateRedis {
  readonly port: number
  readonly url: string
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

/**
 * A `redis-server` of this test's own on a spare port, without persistence, killed when the scope
 * closes whatever happened. `cluster: true` starts it as a one-node cluster owning every slot.
 */
export const privateRedis = (options: { readonly cluster?: boolean } = {}): Effect.Effect<PrivateRedis, never, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-redis-"))
    const url = `redis://127.0.0.1:${port}`
    let proc: ChildProcess | undefined
    const args = [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
      ...(options.cluster === true ? [
        "--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, "nodes.conf"), "--cluster-announce-ip", "127.0.0.1"
      ] : [])
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
          await pingRedis(url)
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
    return { port, url, start, stop, kill, freeze: signal("SIGSTOP"), thaw: signal("SIGCONT"), command }
  })
