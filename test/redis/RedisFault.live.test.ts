import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { Cache, StorageConfig } from "../../src/index.js"
import { RedisCache, RedisTokenChanges } from "../../src/redis/index.js"
import { describeLive } from "../support/live.js"
import { freePort, silentPort } from "../support/ports.js"
import { privateRedis, redisServerInstalled } from "../support/redisServer.js"
import * as Redacted from "effect/Redacted"

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8")

const installed = await redisServerInstalled()

/** Short timeouts so the faults below resolve quickly; the tests assert outcomes, never durations. */
const fast = { commandTimeout: "500 millis", connectTimeout: "2 seconds", reconnectMaxDelay: "200 millis", prefix: "fault:" } as const

/** Retries until the cache answers again: the client reconnects on its own, with bounded back-off. */
const eventually = <A, E>(self: Effect.Effect<A, E>) => Effect.retry(self, Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(300))))

const cacheOn = <E>(layer: Layer.Layer<Cache.Cache, E>) => Effect.map(Layer.build(layer), Context.get(Cache.Cache))

describeLive(installed, () => {
  describe("RedisCache against a server that fails", () => {
    it.scopedLive("a stopped server gives StorageUnavailable, and the same layer recovers once it is back", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        const cache = yield* cacheOn(RedisCache.layer({ ...fast, url: Redacted.make(server.url) }))
        yield* cache.set("k", bytes("before"), "1 minute")
        expect(Option.map(yield* cache.get("k"), text)).toEqual(Option.some("before"))

        yield* server.stop
        for (const failed of [
          yield* Effect.flip(cache.get("k")),
          yield* Effect.flip(cache.set("k", bytes("during"), "1 minute")),
          yield* Effect.flip(cache.invalidate("k")),
          yield* Effect.flip(cache.healthCheck())
        ]) {
          expect(failed._tag).toBe("StorageUnavailable")
          expect(failed.backend).toBe("redis")
        }
        // getOrSet treats the cache as optional: it computes without it (see the Cache contract).
        expect(text(yield* cache.getOrSet("other", "1 minute", Effect.succeed(bytes("x"))))).toBe("x")

        yield* server.start
        yield* eventually(cache.healthCheck())
        // The server kept nothing (no persistence); the cache works as before.
        expect(Option.isNone(yield* cache.get("k"))).toBe(true)
        yield* cache.set("k", bytes("after"), "1 minute")
        expect(Option.map(yield* cache.get("k"), text)).toEqual(Option.some("after"))
      }))

    it.scopedLive("a frozen server (no answer at all) gives StorageUnavailable within the command timeout, then recovers", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        const cache = yield* cacheOn(RedisCache.layer({ ...fast, url: Redacted.make(server.url) }))
        const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
        yield* Effect.forEach(keys, (k) => cache.set(k, bytes(`value of ${k}`), "1 minute"), { discard: true })

        yield* server.freeze
        // Commands whose replies will come late: each asks for another key.
        const timedOuts = yield* Effect.forEach(keys.slice(0, 10), (k) => Effect.flip(cache.get(k)), { concurrency: "unbounded" })
        for (const timedOut of timedOuts) expect(timedOut._tag).toBe("StorageUnavailable")
        const setTimedOut = yield* Effect.flip(cache.set("written-late", bytes("w"), "1 minute"))
        expect(setTimedOut._tag).toBe("StorageUnavailable")

        yield* server.thaw
        // The late replies to the timed-out commands are matched to them and dropped: every caller
        // after the thaw gets the value of its own key, none the late reply meant for another.
        yield* eventually(cache.healthCheck())
        const values = yield* Effect.forEach(keys, (k) => Effect.map(cache.get(k), Option.map(text)), { concurrency: "unbounded" })
        expect(values).toEqual(keys.map((k) => Option.some(`value of ${k}`)))
        yield* cache.set("k2", bytes("fresh"), "1 minute")
        expect(Option.map(yield* cache.get("k2"), text)).toEqual(Option.some("fresh"))
      }))

    it.scopedLive("a command in flight when the server dies fails typed, and a restart on the same port recovers", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        const cache = yield* cacheOn(RedisCache.layer({ ...fast, url: Redacted.make(server.url) }))
        yield* cache.set("k", bytes("v"), "1 minute")
        yield* server.freeze
        const inFlight = yield* Effect.fork(Effect.flip(cache.get("k")))
        yield* Effect.sleep("50 millis")
        yield* server.kill
        const failed = yield* Fiber.join(inFlight)
        expect(failed._tag).toBe("StorageUnavailable")
        yield* server.start
        yield* eventually(cache.set("k", bytes("again"), "1 minute"))
        expect(Option.map(yield* cache.get("k"), text)).toEqual(Option.some("again"))
      }))
  })

  describe("refused credentials and permissions (not transient: StorageQueryError, never retried)", () => {
    it.scopedLive("NOPERM on a command, WRONGPASS and NOAUTH on connect", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        const userUrl = (auth: string) => server.url.replace("redis://", `redis://${auth}@`)
        yield* server.command("ACL", "SETUSER", "limited", "on", ">right-pw", "~*", "+@all", "-get")
        const limited = yield* cacheOn(RedisCache.layer({ ...fast, url: Redacted.make(userUrl("limited:right-pw")) }))
        yield* limited.set("k", bytes("v"), "1 minute")
        const noperm = yield* Effect.flip(limited.get("k"))
        expect(noperm._tag).toBe("StorageQueryError")
        expect(noperm.message).toContain("NOPERM")

        // Refused at connect: the layer fails at once with the server's answer, not after the connect
        // timeout with StorageUnavailable (which a caller would retry).
        const slow = { ...fast, connectTimeout: "1 minute" } as const
        const wrongpass = yield* Effect.flip(Layer.build(RedisCache.layer({ ...slow, url: Redacted.make(userUrl("limited:wrong-pw")) })))
        expect(wrongpass._tag).toBe("StorageQueryError")
        expect(wrongpass.message).toContain("WRONGPASS")
        expect(wrongpass.message).not.toContain("wrong-pw")

        yield* server.command("ACL", "SETUSER", "default", "resetpass", ">server-pw")
        const noauth = yield* Effect.flip(Layer.build(RedisCache.layer({ ...slow, url: Redacted.make(server.url) })))
        expect(noauth._tag).toBe("StorageQueryError")
        expect(noauth.message).toContain("NOAUTH")
      }), 60_000)
  })

  describe("token changes refused by an ACL", () => {
    it.scopedLive("a refused SUBSCRIBE is logged once as a warning, and the listener never hears it is listening", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        // Every command and key, but no pub/sub channel: SUBSCRIBE is refused with NOPERM.
        yield* server.command("ACL", "SETUSER", "nosub", "on", ">pw", "~*", "+@all", "resetchannels")
        const logged: Array<string> = []
        const collect = Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") logged.push(String(Array.isArray(message) ? message.join(" ") : message))
        })
        const changes = yield* RedisTokenChanges.make({ ...fast, url: Redacted.make(server.url.replace("redis://", "redis://nosub:pw@")) })
        const heard: Array<boolean> = []
        yield* changes.listen({ changed: () => undefined, listening: (up) => void heard.push(up) }).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, collect))
        )
        yield* Effect.suspend(() => logged.length > 0 ? Effect.void : Effect.fail("not yet")).pipe(Effect.retry(Schedule.spaced("50 millis")))
        expect(logged).toHaveLength(1)
        expect(logged[0]).toMatch(/^token changes: redis at 127\.0\.0\.1:\d+ refused SUBSCRIBE fault:tenant-token-changes: NOPERM/)
        expect(logged[0]).not.toContain("pw@")
        expect(heard).not.toContain(true)
      }), 60_000)
  })

  describe("RedisCache layer", () => {
    it.scopedLive("building against a server that never answers fails with StorageUnavailable naming host:port and the timeout, never the password", () =>
      Effect.gen(function*() {
        const port = yield* silentPort
        const error = yield* Effect.flip(
          Layer.build(RedisCache.layer({ url: Redacted.make(`redis://admin:s3cret-pw@127.0.0.1:${port}`), connectTimeout: "300 millis" }))
        )
        expect(error._tag).toBe("StorageUnavailable")
        expect(error.backend).toBe("redis")
        expect(error.message).toContain(`127.0.0.1:${port}`)
        expect(error.message).toContain("300ms")
        expect(JSON.stringify(error)).not.toContain("s3cret-pw")
        expect(String(error)).not.toContain("s3cret-pw")
      }))

    // The connect timeout is far longer than the test's own bound: only failing at once returns in time.
    it.scopedLive("building against a refused port fails at once with StorageUnavailable naming host:port, not after the connect timeout", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(freePort)
        const error = yield* Effect.flip(
          Layer.build(RedisCache.layer({ url: Redacted.make(`redis://admin:s3cret-pw@127.0.0.1:${port}`), connectTimeout: "10 minutes" }))
        )
        expect(error._tag).toBe("StorageUnavailable")
        expect(error.backend).toBe("redis")
        expect(error.message).toBe(`redis at 127.0.0.1:${port} refused the connection: connect ECONNREFUSED 127.0.0.1:${port}`)
        expect(JSON.stringify(error)).not.toContain("s3cret-pw")
      }), 30_000)

    it.scopedLive("reads its settings through Config, and quits its connection when the scope closes", () =>
      Effect.gen(function*() {
        const server = yield* privateRedis()
        const provider = ConfigProvider.fromMap(new Map([
          ["LLMTRACE_REDIS_URL", server.url],
          ["LLMTRACE_CACHE_PREFIX", "from-config:"],
          ["LLMTRACE_REDIS_COMMAND_TIMEOUT", "1 second"]
        ]))
        const clients = Effect.map(server.command("INFO", "clients"), (info) => Number(/connected_clients:(\d+)/.exec(String(info))?.[1]))
        const before = yield* clients
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(RedisCache.layerConfig(StorageConfig.redis), scope).pipe(Effect.withConfigProvider(provider))
        const cache = Context.get(context, Cache.Cache)
        yield* cache.set("k", bytes("v"), "1 minute")
        expect(yield* server.command("EXISTS", "from-config:k")).toBe(1)
        const ttl = Number(yield* server.command("PTTL", "from-config:k"))
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(60_000)
        expect(yield* clients).toBe(before + 1)
        yield* Scope.close(scope, Exit.void)
        yield* eventually(Effect.flatMap(clients, (n) => (n === before ? Effect.void : Effect.fail("still connected"))))
      }))

    it.scopedLive("a bad LLMTRACE_REDIS_URL is a ConfigError naming the variable, without the URL", () =>
      Effect.gen(function*() {
        const provider = ConfigProvider.fromMap(new Map([["LLMTRACE_REDIS_URL", "http://user:pw-secret@localhost:6379"]]))
        const exit = yield* Effect.exit(Layer.build(RedisCache.layerConfig(StorageConfig.redis)).pipe(Effect.withConfigProvider(provider)))
        expect(Exit.isFailure(exit)).toBe(true)
        const rendered = Exit.isFailure(exit) ? String(exit.cause) : ""
        expect(rendered).toContain("LLMTRACE_REDIS_URL")
        expect(rendered).not.toContain("pw-secret")
      }))
  })
})
