import { expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Cache, StorageConfig } from "../../src/index.js"
import { RedisCache } from "../../src/redis/index.js"
import { cacheContract } from "../../src/testing/CacheContract.js"
import { describeLive } from "../support/live.js"
import { opensslInstalled, privateRedis, redisServerInstalled } from "../support/redisServer.js"
import { captureOutput, leaks, renderings, secret } from "../support/secrets.js"

const server = await redisServerInstalled()
const installed = server.available ? await opensslInstalled() : server

/** A CA, a server certificate it signed for 127.0.0.1, and a second CA that signed nothing here, made with openssl. */
const certificates = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-redis-tls-"))
    const file = (name: string) => path.join(dir, name)
    const openssl = (...args: Array<string>) => execFileSync("openssl", args, { stdio: "pipe" })
    writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n")
    for (const ca of ["ca", "wrong-ca"]) {
      openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=llmtrace test ${ca}`, "-keyout", file(`${ca}.key`), "-out", file(`${ca}.pem`))
    }
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", file("server.key"), "-out", file("server.csr"))
    openssl(
      "x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "2",
      "-extfile", file("san.ext"), "-out", file("server.pem")
    )
    return { dir, ca: file("ca.pem"), wrongCa: file("wrong-ca.pem"), cert: file("server.pem"), key: file("server.key") }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const user = "llmtrace_tls"
const password = secret("redisTls")
const enc = encodeURIComponent

/**
 * A private `redis-server` that speaks TLS only (`--port 0`), with the default user off and one ACL
 * user with a password: the set-up of a managed Redis.
 */
const tlsRedis: Effect.Effect<{ readonly port: number; readonly ca: string; readonly wrongCa: string; readonly url: string }, never, Scope.Scope> = Effect.gen(function*() {
  const certs = yield* certificates
  const server = yield* privateRedis({
    tlsPort: true,
    args: [
      "--tls-cert-file", certs.cert, "--tls-key-file", certs.key, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", "no",
      "--user", "default", "off",
      "--user", user, "on", `>${password}`, "~*", "&*", "+@all"
    ],
    probe: async (port) => {
      const client = new Redis({ host: "127.0.0.1", port, username: user, password, tls: { ca: readFileSync(certs.ca) }, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      client.on("error", () => undefined)
      try {
        await client.connect()
        await client.ping()
      } finally {
        client.disconnect()
      }
    }
  })
  return { port: server.port, ca: certs.ca, wrongCa: certs.wrongCa, url: `rediss://${user}:${enc(password)}@127.0.0.1:${server.port}` }
})

describeLive(installed, () => {
  const overTls = Layer.unwrapScoped(
    Effect.map(tlsRedis, (server) => RedisCache.layer({ url: Redacted.make(server.url), caFile: server.ca, prefix: "tls-test:" }))
  )
  cacheContract("redis over TLS (rediss://, an ACL user, a private CA)", overTls, { clock: "real", excludeTestServices: true })

  it.scopedLive("LLMTRACE_REDIS_URL=rediss://user:pass@… with LLMTRACE_REDIS_CA_FILE connects; a wrong CA, no CA or an unreadable CA file fails at layer build with one line and no secret", () =>
    Effect.gen(function*() {
      const server = yield* tlsRedis
      const out = yield* captureOutput
      const build = (env: Record<string, string>) =>
        Layer.build(RedisCache.layerConfig(StorageConfig.redis)).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ LLMTRACE_REDIS_URL: server.url, LLMTRACE_REDIS_CONNECT_TIMEOUT: "10 seconds", ...env })))),
          Effect.provide(out.logger)
        )

      const context = yield* build({ LLMTRACE_REDIS_CA_FILE: server.ca })
      const cache = Context.get(context, Cache.Cache)
      yield* cache.set("k", new Uint8Array([7]), "1 minute")
      expect(Option.getOrThrow(yield* cache.get("k"))).toEqual(new Uint8Array([7]))

      const failures = yield* Effect.all([
        Effect.flip(Effect.scoped(build({ LLMTRACE_REDIS_CA_FILE: server.wrongCa }))),
        Effect.flip(Effect.scoped(build({}))),
        Effect.flip(Effect.scoped(build({ LLMTRACE_REDIS_CA_FILE: path.join(tmpdir(), "no-such-dir", "ca.pem") })))
      ])
      for (const error of failures) {
        expect(error._tag).toBe("StorageUnavailable")
        expect(error.message).toContain(`127.0.0.1:${server.port}`)
        expect(error.message).not.toContain("\n")
      }
      const [wrong, none, missing] = failures
      expect(wrong.message).toContain("TLS")
      expect(wrong.message).toContain(server.wrongCa)
      expect(none.message).toContain("TLS")
      expect(missing.message).toContain("could not be read")
      // Neither the password nor the user:password pair in any message, rendering or log line.
      const texts = [...failures.flatMap(renderings), ...out.texts]
      expect(leaks(texts, [password])).toEqual([])
      expect(texts.filter((t) => t.includes(`${user}:`))).toEqual([])
    }), 60_000)
})
