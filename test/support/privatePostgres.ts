import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import pg from "pg"
import { requireService } from "./live.js"
import { handOver, serverUser } from "./pgbouncer.js"
import { freePort } from "./ports.js"

/** PostgreSQL's server binaries: `PG_BIN`, else the newest Debian/Ubuntu install under /usr/lib/postgresql. */
const postgresBin = process.env.PG_BIN ?? (() => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "initdb"))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  return newest === undefined ? path.join(root, "<version>", "bin") : path.join(root, newest, "bin")
})()

/** Under CI=true missing server binaries or openssl fail the file with one line; locally the suite is skipped. */
export const postgresServerInstalled = () =>
  requireService({
    name: "PostgreSQL server binaries and openssl (for a private TLS server)",
    variable: "PG_BIN",
    address: postgresBin,
    probe: async () => {
      for (const [binary, args] of [[path.join(postgresBin, "initdb"), ["--version"]], ["openssl", ["version"]]] as const) {
        const result = spawnSync(binary, args, { encoding: "utf8" })
        if (result.error !== undefined) throw result.error
        if (result.status !== 0) throw new Error(`${binary} exit ${result.status}`)
      }
    },
    howToStart: "`apt-get install -y postgresql openssl` (or set PG_BIN to the directory holding initdb and postgres)"
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const run = (command: string, args: ReadonlyArray<string>, options: { cwd?: string; uid?: number; gid?: number } = {}) => {
  const result = spawnSync(command, args, { encoding: "utf8", ...options })
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.error?.message ?? result.stderr}`)
}

/** A CA (key and certificate), made by openssl in `dir`. */
const makeCertificates = (dir: string, name: string) => {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  run("openssl", ["req", "-x509", ...ec, "-keyout", `${name}-ca.key`, "-out", `${name}-ca.crt`, "-days", "2", "-subj", `/CN=llmtrace ${name} test CA`], { cwd: dir })
  return { ca: path.join(dir, `${name}-ca.crt`), key: path.join(dir, `${name}-ca.key`) }
}

export interface PrivatePostgres {
  readonly port: number
  /** `postgres://postgres:<password>@localhost:<port>/postgres`. */
  readonly url: string
  readonly password: string
  /** The CA that signed the server's certificate. */
  readonly caFile: string
  /** Another CA, which signed nothing this server shows. */
  readonly wrongCaFile: string
}

/**
 * A PostgreSQL server of this test's own (initdb + postgres from {@link postgresBin}) on a free
 * port, `ssl = on` with a certificate for `localhost` (the name only, not its address) signed by a CA made here, and a `pg_hba.conf`
 * that admits TCP clients over TLS only (with a password). Stopped, and its directory removed,
 * when the scope closes.
 */
export const privateTlsPostgres: Effect.Effect<PrivatePostgres, never, Scope.Scope> = Effect.gen(function*() {
  const port = yield* Effect.promise(freePort)
  const user = serverUser()
  const dir = user.dir("llmtrace-pgtls-")
  const data = path.join(dir, "data")
  const password = `Pw-${crypto.randomUUID()}`
  const certs = path.join(dir, "certs")
  run("mkdir", [certs])
  const right = makeCertificates(certs, "right")
  const wrong = makeCertificates(certs, "wrong")
  writeFileSync(path.join(certs, "san.ext"), "subjectAltName=DNS:localhost\n")
  run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], { cwd: certs })
  run("openssl", ["x509", "-req", "-in", "server.csr", "-CA", right.ca, "-CAkey", right.key, "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext"], { cwd: certs })
  chmodSync(path.join(certs, "server.key"), 0o600)
  writeFileSync(path.join(dir, "pwfile"), `${password}\n`)
  handOver(dir, user)
  run(path.join(postgresBin, "initdb"), ["-D", data, "-U", "postgres", "--pwfile", path.join(dir, "pwfile"), "--auth-local=trust", "--auth-host=scram-sha-256"], user.spawn)
  writeFileSync(path.join(data, "pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n")
  appendFileSync(path.join(data, "postgresql.conf"), [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    "ssl = on",
    `ssl_cert_file = '${path.join(certs, "server.crt")}'`,
    `ssl_key_file = '${path.join(certs, "server.key")}'`,
    "fsync = off",
    ""
  ].join("\n"))
  handOver(dir, user)
  const url = `postgres://postgres:${encodeURIComponent(password)}@localhost:${port}/postgres`
  const log = path.join(dir, "postgres.log")
  const proc: ChildProcess = yield* Effect.acquireRelease(
    Effect.sync(() => spawn(path.join(postgresBin, "postgres"), ["-D", data, "-c", `log_directory=${dir}`], { stdio: ["ignore", "ignore", "pipe"], ...user.spawn })),
    (p) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve()
          const hard = setTimeout(() => p.kill("SIGKILL"), 5000)
          p.once("exit", () => {
            clearTimeout(hard)
            resolve()
          })
          p.kill("SIGINT") // fast shutdown
        })
      ).pipe(Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))
  )
  let stderr = ""
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
    appendFileSync(log, chunk)
  })
  const ca = readFileSync(right.ca, "utf8")
  yield* Effect.promise(async () => {
    for (let attempt = 0; ; attempt++) {
      const client = new pg.Client({ host: "localhost", port, user: "postgres", password, database: "postgres", ssl: { ca } })
      client.on("error", () => undefined)
      try {
        await client.connect()
        await client.query("SELECT 1")
        return
      } catch (error) {
        if (attempt >= 400 || proc.exitCode !== null) throw new Error(`private PostgreSQL on port ${port} did not start: ${String(error)}\n${stderr}`)
        await sleep(25)
      } finally {
        await client.end().catch(() => undefined)
      }
    }
  })
  return { port, url, password, caFile: right.ca, wrongCaFile: wrong.ca }
})
