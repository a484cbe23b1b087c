import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import * as http from "node:http"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { StorageConfig, StorageProfile } from "../../src/index.js"
import { ClickHouseClient } from "../../src/clickhouse/index.js"
import { PostgresClient } from "../../src/postgres/index.js"
import { RedisCache } from "../../src/redis/index.js"
import { LiveService, TestStorage } from "../../src/testing/index.js"
import { privateRedis } from "../support/redisServer.js"
import { describeLive } from "../support/live.js"
import { livePostgres, postgresUrl } from "../support/postgres.js"
import { liveRedis, pingRedis, redisUrl } from "../support/redis.js"
import { closedPort } from "../support/ports.js"
import { captureOutput, leaks, renderings, secret } from "../support/secrets.js"

const pw = {
  clickhouseUrl: secret("chUrl"),
  clickhouseVar: secret("chVar"),
  postgres: secret("pg"),
  redis: secret("redis")
}
const all = Object.values(pw)
const enc = encodeURIComponent

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** Builds a layer that must fail, under captured logs and console; returns everything that was printed or rendered. */
const failingBuild = <A, E>(build: Layer.Layer<A, E>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const out = yield* captureOutput
    const error = yield* Layer.build(build).pipe(Effect.scoped, Effect.flip, withEnv(env), Effect.provide(out.logger))
    return { error, texts: [...renderings(error), ...out.texts] }
  })

/** An HTTP server that answers every ClickHouse request with one JSON row and remembers each Authorization header. */
const recordingServer = Effect.acquireRelease(
  Effect.async<{ server: http.Server; port: number; authorizations: Array<string> }>((resume) => {
    const authorizations: Array<string> = []
    const server = http.createServer((req, res) => {
      authorizations.push(req.headers.authorization ?? "")
      req.resume()
      req.on("end", () => res.writeHead(200, { "Content-Type": "application/x-ndjson" }).end("{\"ok\":1}\n"))
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed({ server, authorizations, port: typeof address === "object" && address !== null ? address.port : 1 }))
    })
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

describe("secrets never reach an error, a log line or the console", () => {
  it.scopedLive("ClickHouse: a password in LLMTRACE_CLICKHOUSE_URL and in LLMTRACE_CLICKHOUSE_PASSWORD, server refusing connections", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const env = {
        LLMTRACE_CLICKHOUSE_URL: `http://alice:${enc(pw.clickhouseUrl)}@127.0.0.1:${port}`,
        LLMTRACE_CLICKHOUSE_PASSWORD: pw.clickhouseVar,
        LLMTRACE_CLICKHOUSE_CONNECT_TIMEOUT: "2 seconds"
      }
      const built = yield* failingBuild(ClickHouseClient.layerConfig(StorageConfig.clickhouse), env)
      expect(built.error._tag).toBe("StorageUnavailable")
      expect(built.error.message).toContain(`127.0.0.1:${port}`)
      const second = yield* failingBuild(ClickHouseClient.layerConfig(StorageConfig.clickhouse), { ...env, LLMTRACE_CLICKHOUSE_URL: `http://127.0.0.1:${port}` })
      // A query on a client built without verification fails the same way.
      const out = yield* captureOutput
      const client = yield* ClickHouseClient.make({ url: Redacted.make(env.LLMTRACE_CLICKHOUSE_URL), password: Redacted.make(pw.clickhouseVar), verify: false, requestTimeout: "2 seconds" })
      const queried = yield* Effect.flip(client.query("test", "SELECT 1")).pipe(Effect.provide(out.logger))
      expect(queried._tag).toBe("StorageUnavailable")
      expect(leaks([...built.texts, ...second.texts, ...renderings(queried), ...out.texts], all)).toEqual([])
    }), 30_000)

  it.scopedLive("ClickHouse: credentials in the URL reach the server as credentials, not as part of the URL the client keeps", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      const out = yield* captureOutput
      const client = yield* ClickHouseClient.make({ url: Redacted.make(`http://alice:${enc(pw.clickhouseUrl)}@127.0.0.1:${server.port}`), password: Redacted.make(pw.clickhouseVar), connectTimeout: "2 seconds" })
      expect(client.address).toBe(`http://alice@127.0.0.1:${server.port}`)
      const fromVariable = yield* ClickHouseClient.make({ url: Redacted.make(`http://127.0.0.1:${server.port}`), username: "bob", password: Redacted.make(pw.clickhouseVar), connectTimeout: "2 seconds" })
      expect(fromVariable.engine).toBe("server")
      // The URL's user and password win over the configured ones, as in the official client.
      expect(server.authorizations).toEqual([
        `Basic ${Buffer.from(`alice:${pw.clickhouseUrl}`).toString("base64")}`,
        `Basic ${Buffer.from(`bob:${pw.clickhouseVar}`).toString("base64")}`
      ])
      expect(leaks([...out.texts, client.address], all)).toEqual([])
    }), 30_000)

  it.scopedLive("PostgreSQL: a password in LLMTRACE_POSTGRES_URL, server refusing connections", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const built = yield* failingBuild(PostgresClient.layerConfig(StorageConfig.postgres), {
        LLMTRACE_POSTGRES_URL: `postgres://llmtrace:${enc(pw.postgres)}@127.0.0.1:${port}/llmtrace`,
        LLMTRACE_POSTGRES_CONNECT_TIMEOUT: "2 seconds"
      })
      expect(built.error._tag).toBe("StorageUnavailable")
      expect(built.error.message).toContain(`127.0.0.1:${port}`)
      expect(leaks(built.texts, all)).toEqual([])
    }), 30_000)

  it.scopedLive("Redis: a password in LLMTRACE_REDIS_URL, server refusing connections", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const built = yield* failingBuild(RedisCache.layerConfig(StorageConfig.redis), {
        LLMTRACE_REDIS_URL: `redis://user:${enc(pw.redis)}@127.0.0.1:${port}`,
        LLMTRACE_REDIS_CONNECT_TIMEOUT: "1 second"
      })
      expect(built.error._tag).toBe("StorageUnavailable")
      expect(built.error.message).toContain(`127.0.0.1:${port}`)
      expect(leaks(built.texts, all)).toEqual([])
    }), 30_000)

  it.scopedLive("the test kit's probes and TestStorage: a password in every URL kind (PostgreSQL, Redis, ClickHouse HTTP), nothing listening or the password refused", () =>
    Effect.gen(function*() {
      const [ch, pg, redis] = [yield* closedPort, yield* closedPort, yield* closedPort]
      const urls = {
        clickhouse: `http://alice:${enc(pw.clickhouseUrl)}@127.0.0.1:${ch}`,
        postgres: `postgres://llmtrace:${enc(pw.postgres)}@127.0.0.1:${pg}/llmtrace`,
        redis: `redis://bob:${enc(pw.redis)}@127.0.0.1:${redis}`
      }
      // A Redis that wants another password: the refusal (WRONGPASS) comes from a server that read ours.
      const guarded = yield* privateRedis({
        args: ["--requirepass", "not-the-one"],
        // Up when it asks for a password.
        probe: (port) => pingRedis(`redis://127.0.0.1:${port}`).catch((error: unknown) => {
          if (!String(error).includes("NOAUTH")) throw error
        })
      })
      const refusedRedis = `redis://default:${enc(pw.redis)}@127.0.0.1:${guarded.port}`
      const out = yield* captureOutput
      const probes = yield* Effect.forEach([
        LiveService.clickhouse(urls.clickhouse),
        LiveService.postgres(Redacted.make(urls.postgres)),
        LiveService.redis(Redacted.make(urls.redis)),
        LiveService.redis(Redacted.make(refusedRedis))
      ], (service) => Effect.flip(LiveService.probe(service, "3 seconds")))
      for (const error of probes) expect(error._tag).toBe("StorageUnavailable")
      expect(probes.map((e) => e.message.split(" is not reachable at ")[1]?.split(" ")[0])).toEqual([
        `http://alice@127.0.0.1:${ch}`,
        `127.0.0.1:${pg}/llmtrace`,
        `127.0.0.1:${redis}`,
        `127.0.0.1:${guarded.port}`
      ])
      expect(probes[3]!.message).toContain("WRONGPASS")
      // TestStorage.live from the environment (CI=true: the failed probe fails the build, as in CI).
      const kit = yield* failingBuild(TestStorage.live({ probeTimeout: "3 seconds" }), {
        CI: "true",
        // Required by the production profile; never written: the probes fail first.
        LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-secrets-dead-letters"),
        LLMTRACE_CLICKHOUSE_URL: urls.clickhouse,
        LLMTRACE_POSTGRES_URL: urls.postgres,
        LLMTRACE_REDIS_URL: refusedRedis
      })
      expect(kit.error._tag).toBe("StorageUnavailable")
      const texts = [...probes.flatMap(renderings), ...kit.texts, ...out.texts]
      expect(leaks(texts, all)).toEqual([])
      // Nor a user:password pair in any form.
      expect(texts.filter((t) => /(alice|llmtrace|bob|default):[^@\s]*@/.test(t))).toEqual([])
    }), 60_000)

  it.scopedLive("the production profile from the environment, every backend unreachable, every password set", () =>
    Effect.gen(function*() {
      const [ch, pg, redis] = [yield* closedPort, yield* closedPort, yield* closedPort]
      const built = yield* failingBuild(StorageProfile.layerConfig(StorageProfile.config), {
        LLMTRACE_STORAGE_PROFILE: "production",
        LLMTRACE_CLICKHOUSE_URL: `http://alice:${enc(pw.clickhouseUrl)}@127.0.0.1:${ch}`,
        LLMTRACE_CLICKHOUSE_PASSWORD: pw.clickhouseVar,
        LLMTRACE_CLICKHOUSE_CONNECT_TIMEOUT: "2 seconds",
        LLMTRACE_POSTGRES_URL: `postgres://llmtrace:${enc(pw.postgres)}@127.0.0.1:${pg}/llmtrace`,
        LLMTRACE_POSTGRES_CONNECT_TIMEOUT: "2 seconds",
        LLMTRACE_REDIS_URL: `redis://:${enc(pw.redis)}@127.0.0.1:${redis}`,
        LLMTRACE_REDIS_CONNECT_TIMEOUT: "1 second",
        // Required by the production profile; never written: the backends fail first.
        LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-secrets-dead-letters")
      })
      expect(built.error._tag).toBe("StorageUnavailable")
      expect(leaks(built.texts, all)).toEqual([])
    }), 30_000)
})

// --- the command line, in a child process, the way an operator runs it ---

const root = fileURLToPath(new URL("../..", import.meta.url))
const tsx = path.join(root, "node_modules/.bin/tsx")
const main = path.join(root, "src/cli/main.ts")

const cli = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<{ code: number; output: string }> =>
  new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LLMTRACE_")))
    const cwd = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-secrets-"))
    execFile(tsx, [main, ...args], { cwd, env: { ...clean, ...env }, timeout: 60_000, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      rmSync(cwd, { recursive: true, force: true })
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, output: `${stdout}\n${stderr}` })
    })
  })

const withPassword = (url: string, password: string) => {
  const u = new URL(url)
  u.password = enc(password)
  return u.toString()
}

const livePg = await livePostgres()
const liveRd = await liveRedis()

describeLive(livePg, () => describeLive(liveRd, () => {
  describe("llmtrace-storage with a known password and one backend unreachable", () => {
    const production = (overrides: Record<string, string>) => ({
      LLMTRACE_STORAGE_PROFILE: "production",
      LLMTRACE_CLICKHOUSE_URL: "chdb::memory:",
      LLMTRACE_CLICKHOUSE_PASSWORD: pw.clickhouseVar,
      LLMTRACE_POSTGRES_URL: postgresUrl,
      LLMTRACE_REDIS_URL: redisUrl,
      LLMTRACE_CACHE_PREFIX: `llmtrace-test:secrets:${process.pid}:`,
      LLMTRACE_CLICKHOUSE_CONNECT_TIMEOUT: "2 seconds",
      LLMTRACE_POSTGRES_CONNECT_TIMEOUT: "2 seconds",
      LLMTRACE_REDIS_CONNECT_TIMEOUT: "5 seconds",
      LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-secrets-dead-letters"),
      ...overrides
    })
    // `migrate` needs no cache: it is run where Redis is not the backend that fails.
    const cases: ReadonlyArray<[string, ReadonlyArray<string>, (port: number) => Record<string, string>]> = [
      ["ClickHouse", ["health", "migrate"], (port) => ({ LLMTRACE_CLICKHOUSE_URL: `http://alice:${enc(pw.clickhouseUrl)}@127.0.0.1:${port}` })],
      ["PostgreSQL", ["health"], (port) => ({ LLMTRACE_POSTGRES_URL: `postgres://llmtrace:${enc(pw.postgres)}@127.0.0.1:${port}/llmtrace` })],
      ["Redis", ["stats"], (port) => ({ LLMTRACE_REDIS_URL: `redis://:${enc(pw.redis)}@127.0.0.1:${port}`, LLMTRACE_REDIS_CONNECT_TIMEOUT: "1 second" })]
    ]
    for (const [name, commands, env] of cases) {
      it.live(`${name}: ${commands.join(", ")} fail with one line naming the address, never the password`, () =>
        Effect.gen(function*() {
          const port = yield* closedPort
          const outputs = yield* Effect.promise(() => Promise.all(commands.map((c) => cli(["--log-level", "all", c], production(env(port))))))
          for (const { code, output } of outputs) {
            expect(code).toBe(1)
            expect(output).toContain(`127.0.0.1:${port}`)
          }
          expect(leaks(outputs.map((o) => o.output), all)).toEqual([])
        }), 120_000)
    }

    it.live("a wrong password on the live PostgreSQL and a password Redis does not expect: no echo of either", () =>
      Effect.gen(function*() {
        const pgWrong = withPassword(postgresUrl, pw.postgres)
        const outputs = yield* Effect.promise(() =>
          Promise.all([
            cli(["--log-level", "all", "health"], production({ LLMTRACE_POSTGRES_URL: pgWrong.replace("//llmtrace:", "//llmtrace_no_such_role:") })),
            cli(["--log-level", "all", "health"], production({ LLMTRACE_REDIS_URL: withPassword(redisUrl, pw.redis) }))
          ])
        )
        expect(outputs[0]!.code).toBe(1)
        expect(outputs[0]!.output).toContain("StorageUnavailable")
        expect(leaks(outputs.map((o) => o.output), all)).toEqual([])
      }), 120_000)
  })
}))
