import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import pg from "pg"
import { requireService } from "./live.js"
import { freePort } from "./ports.js"
import { postgresUrl } from "./postgres.js"

/** The `pgbouncer` binary the private poolers run: `PGBOUNCER`, else Debian's. */
const pgbouncerBinary = process.env.PGBOUNCER ?? (spawnSync("sh", ["-c", "command -v pgbouncer"]).status === 0 ? "pgbouncer" : "/usr/sbin/pgbouncer")

/** Under CI=true a missing `pgbouncer` binary fails the file with one line; locally the suite is skipped. */
export const pgbouncerInstalled = () =>
  requireService({
    name: "pgbouncer (binary, for a private pooler in front of PostgreSQL)",
    variable: "PGBOUNCER",
    address: pgbouncerBinary,
    probe: async () => {
      const result = spawnSync(pgbouncerBinary, ["--version"], { encoding: "utf8" })
      if (result.error !== undefined) throw result.error
      if (result.status !== 0) throw new Error(`exit ${result.status}`)
    },
    howToStart: "`apt-get install -y pgbouncer` (or set PGBOUNCER to the binary)"
  })

/**
 * How a server process of ours runs: PostgreSQL and pgbouncer refuse to run as root, so under root
 * (this machine, `.ci/run`) as the `postgres` user the Debian packages create (spawned with its uid,
 * so the process a test kills is the server itself), in a directory it can reach; otherwise (the
 * hosted runner) as ourselves.
 */
export const serverUser = (): { readonly spawn: { uid?: number; gid?: number }; readonly dir: (prefix: string) => string } => {
  if (process.getuid?.() !== 0) return { spawn: {}, dir: (prefix) => mkdtempSync(path.join(tmpdir(), prefix)) }
  const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim())
  const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim())
  return {
    spawn: { uid, gid },
    // Under /tmp, not TMPDIR: `.ci/run` points TMPDIR into the clone, which `postgres` may not reach.
    dir: (prefix) => {
      const dir = mkdtempSync(path.join("/tmp", prefix))
      chownSync(dir, uid, gid)
      return dir
    }
  }
}

/** Hands every file under `dir` to the server's user (a no-op when we are that user). */
export const handOver = (dir: string, user: ReturnType<typeof serverUser>) => {
  if (user.spawn.uid !== undefined) spawnSync("chown", ["-R", `${user.spawn.uid}:${user.spawn.gid}`, dir])
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface PrivatePgbouncer {
  readonly port: number
  /** The URL of `database` through this pooler, with the live suites' role. */
  readonly url: (database: string) => string
  /** What pgbouncer logged so far. */
  readonly log: () => string
}

/**
 * A pgbouncer of this test's own in front of the live suites' server, on a free port, with a
 * generated ini and userlist in a temp dir: `pool_mode` as given and nothing else changed from
 * pgbouncer's defaults but where it listens, logs and finds its users. Killed when the scope closes.
 */
export const privatePgbouncer = (poolMode: "transaction" | "session"): Effect.Effect<PrivatePgbouncer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const server = new URL(postgresUrl)
    const user = decodeURIComponent(server.username)
    const password = decodeURIComponent(server.password)
    const port = yield* Effect.promise(freePort)
    const runAs = serverUser()
    const dir = runAs.dir("llmtrace-pgbouncer-")
    const ini = path.join(dir, "pgbouncer.ini")
    const logfile = path.join(dir, "pgbouncer.log")
    const quote = (s: string) => `"${s.replaceAll('"', '""')}"`
    writeFileSync(path.join(dir, "userlist.txt"), `${quote(user)} ${quote(password)}\n`)
    writeFileSync(ini, [
      "[databases]",
      `* = host=${server.hostname === "localhost" ? "127.0.0.1" : server.hostname} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      `auth_file = ${path.join(dir, "userlist.txt")}`,
      `logfile = ${logfile}`,
      `pool_mode = ${poolMode}`,
      ""
    ].join("\n"))
    handOver(dir, runAs)
    const url = (database: string) => {
      const u = new URL(postgresUrl)
      u.hostname = "127.0.0.1"
      u.port = String(port)
      u.pathname = `/${database}`
      return u.toString()
    }
    const log = () => {
      try {
        return readFileSync(logfile, "utf8")
      } catch {
        return ""
      }
    }
    const proc: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => spawn(pgbouncerBinary, [ini], { stdio: "ignore", ...runAs.spawn })),
      (p) =>
        Effect.promise(() =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve()
            p.once("exit", () => resolve())
            p.kill("SIGKILL")
          })
        ).pipe(Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))
    )
    yield* Effect.promise(async () => {
      for (let attempt = 0; ; attempt++) {
        const client = new pg.Client({ connectionString: url(server.pathname.slice(1) || "postgres") })
        client.on("error", () => undefined)
        try {
          await client.connect()
          await client.query("SELECT 1")
          return
        } catch (error) {
          if (attempt >= 200 || proc.exitCode !== null) {
            throw new Error(`private pgbouncer on port ${port} did not start: ${String(error)}\n${log()}`)
          }
          await sleep(25)
        } finally {
          await client.end().catch(() => undefined)
        }
      }
    })
    return { port, url, log }
  })
