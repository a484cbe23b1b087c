import { describe, expect, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { randomUUID } from "node:crypto"
import { Cache } from "../index.js"
import { type Backend, StorageUnavailable } from "../StorageError.js"
import { bigString, hostileStrings } from "./Fixtures.js"
import { cacheProperties } from "./CacheProperties.js"

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8")
const key = (label: string) => `${label}:${randomUUID()}`

/**
 * A cache of the backend under test that really fails on demand: a stopped server, or a backend
 * whose calls fail ({@link failingBackend}).
 */
export interface CacheOutage {
  readonly cache: Cache.CacheShape
  /** Every call fails (or times out) from now on. */
  readonly down: Effect.Effect<void>
  /** Reads answer, writes fail. */
  readonly writesFail: Effect.Effect<void>
  /** Back to normal; returns once the cache answers again. */
  readonly up: Effect.Effect<void>
}

/**
 * An outage of an in-process cache: `inner`'s calls, through a backend of its own that fails them
 * with `StorageUnavailable` while it is down (every call) or refusing writes (set, compareAndSet).
 */
export const failingBackend = (backend: Backend, inner: Cache.CacheShape): CacheOutage => {
  const state = { mode: "up" as "up" | "down" | "writes" }
  const fail = (operation: string) =>
    Effect.fail(new StorageUnavailable({ backend, operation, message: `the test made the cache fail (${state.mode})` }))
  const read = <A, E>(operation: string, self: Effect.Effect<A, E>): Effect.Effect<A, E | StorageUnavailable> =>
    Effect.suspend((): Effect.Effect<A, E | StorageUnavailable> => (state.mode === "down" ? fail(operation) : self))
  const write = <A, E>(operation: string, self: Effect.Effect<A, E>): Effect.Effect<A, E | StorageUnavailable> =>
    Effect.suspend((): Effect.Effect<A, E | StorageUnavailable> => (state.mode === "up" ? self : fail(operation)))
  const cache = Cache.make(backend, {
    get: (key) => read("Cache.get", inner.get(key)),
    set: (key, value, ttl) => write("Cache.set", inner.set(key, value, ttl)),
    compareAndSet: (key, expected, value, ttl) => write("Cache.compareAndSet", inner.compareAndSet(key, expected, value, ttl)),
    invalidate: (key) => write("Cache.invalidate", inner.invalidate(key)),
    healthCheck: () => read("Cache.healthCheck", inner.healthCheck())
  })
  const to = (mode: typeof state.mode) => Effect.sync(() => void (state.mode = mode))
  return { cache, down: to("down"), writesFail: to("writes"), up: to("up") }
}

/** Log lines written while `self` runs, with their level. */
const capturingLogs = <A, E, R>(self: (logs: ReadonlyArray<{ readonly level: string; readonly message: string }>) => Effect.Effect<A, E, R>) => {
  const logs: Array<{ level: string; message: string }> = []
  const logger = Logger.make(({ logLevel, message }) =>
    void logs.push({ level: logLevel.label, message: Array.isArray(message) ? message.map(String).join(" ") : String(message) })
  )
  return self(logs).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
}

export interface CacheContractOptions {
  /**
   * How the suite lets time pass for TTL expiry: `"test-clock"` adjusts `TestClock` (in-process
   * caches reading Effect's Clock); `"real"` sleeps on the real clock (a server keeps the time).
   */
  readonly clock: "test-clock" | "real"
  readonly excludeTestServices?: boolean
  /** A cache of this backend that really fails on demand, for the cases of `getOrSet` with a failing cache. */
  readonly outage?: Effect.Effect<CacheOutage, unknown, Scope.Scope>
}

/** The behaviour every Cache must have. Keys are random per test, so one layer serves the file. */
export const cacheContract = <E>(name: string, cache: Layer.Layer<Cache.Cache, E>, options: CacheContractOptions) =>
  layer(cache, { timeout: "60 seconds", excludeTestServices: options.excludeTestServices ?? false })(
    `Cache contract: ${name}`,
    (it) => {
      const elapse = (d: Duration.DurationInput) =>
        options.clock === "test-clock" ? TestClock.adjust(d) : Effect.sleep(Duration.sum(d, "50 millis"))

      describe("get and set", () => {
        it.effect("returns what was set, and none for a missing key", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("set")
            yield* cache.set(k, bytes("value"), "1 minute")
            expect(Option.map(yield* cache.get(k), text)).toEqual(Option.some("value"))
            expect(Option.isNone(yield* cache.get(key("missing")))).toBe(true)
          }))

        it.effect("overwrites a key", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("overwrite")
            yield* cache.set(k, bytes("first"), "1 minute")
            yield* cache.set(k, bytes("second"), "1 minute")
            expect(Option.map(yield* cache.get(k), text)).toEqual(Option.some("second"))
          }))

        it.effect("keeps every byte value 0-255 and an empty value", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256)
            const k = key("binary")
            yield* cache.set(k, all, "1 minute")
            expect(Option.getOrThrow(yield* cache.get(k))).toEqual(all)
            const empty = key("empty")
            yield* cache.set(empty, new Uint8Array(0), "1 minute")
            expect(Option.getOrThrow(yield* cache.get(empty))).toEqual(new Uint8Array(0))
          }))

        it.effect("keeps hostile keys and values and a 1 MB value byte-identical", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            for (const s of [...hostileStrings, bigString(1024 * 1024)]) {
              const k = `${s.slice(0, 300)}:${randomUUID()}`
              yield* cache.set(k, bytes(s), "1 minute")
              expect(text(Option.getOrThrow(yield* cache.get(k)))).toBe(s)
            }
          }))

        it.effect("a caller mutating its buffer does not change the cached value", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("copy")
            const value = bytes("abc")
            yield* cache.set(k, value, "1 minute")
            value[0] = 0
            const got = Option.getOrThrow(yield* cache.get(k))
            got[1] = 0
            expect(text(Option.getOrThrow(yield* cache.get(k)))).toBe("abc")
          }))
      })

      describe("expiry and invalidation", () => {
        it.effect("expires a key after its TTL", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("ttl")
            // On a real clock the TTL leaves a margin no stall of a loaded machine reaches between set and get.
            const ttl = options.clock === "real" ? "5 seconds" : "300 millis"
            yield* cache.set(k, bytes("short"), ttl)
            yield* cache.set(`${k}:long`, bytes("long"), "1 hour")
            expect(Option.isSome(yield* cache.get(k))).toBe(true)
            yield* elapse(ttl)
            expect(Option.isNone(yield* cache.get(k))).toBe(true)
            expect(Option.isSome(yield* cache.get(`${k}:long`))).toBe(true)
          }))

        it.effect("invalidates a key; invalidating a missing key is a no-op", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("drop")
            yield* cache.set(k, bytes("x"), "1 minute")
            yield* cache.invalidate(k)
            expect(Option.isNone(yield* cache.get(k))).toBe(true)
            yield* cache.invalidate(k)
            yield* cache.invalidate(key("never-set"))
          }))

        it.effect("rejects an empty key and a non-positive TTL with InvalidInput", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            expect((yield* Effect.flip(cache.get("")))._tag).toBe("InvalidInput")
            const ttl = yield* Effect.flip(cache.set(key("ttl0"), bytes("x"), 0))
            expect(ttl._tag === "InvalidInput" && ttl.path).toEqual(["ttl"])
            expect((yield* Effect.flip(cache.set("bad\ud800key", bytes("x"), "1 minute")))._tag).toBe("InvalidInput")
          }))
      })

      describe("compareAndSet", () => {
        it.effect("stores only where the key holds what was expected: nothing, or exactly these bytes", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("cas")
            expect(yield* cache.compareAndSet(k, Option.none(), bytes("first"), "1 minute")).toBe(true)
            expect(yield* cache.compareAndSet(k, Option.none(), bytes("second"), "1 minute")).toBe(false)
            expect(yield* cache.compareAndSet(k, Option.some(bytes("firs")), bytes("third"), "1 minute")).toBe(false)
            expect(yield* cache.compareAndSet(k, Option.some(bytes("first!")), bytes("third"), "1 minute")).toBe(false)
            expect(Option.map(yield* cache.get(k), text)).toEqual(Option.some("first"))
            expect(yield* cache.compareAndSet(k, Option.some(bytes("first")), bytes("fourth"), "1 minute")).toBe(true)
            expect(Option.map(yield* cache.get(k), text)).toEqual(Option.some("fourth"))
            const binary = new Uint8Array([0, 255, 10, 0])
            yield* cache.set(k, binary, "1 minute")
            expect(yield* cache.compareAndSet(k, Option.some(binary), bytes("fifth"), "1 minute")).toBe(true)
          }))

        it.effect("of concurrent callers expecting nothing, exactly one stores", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("cas-race")
            const won = yield* Effect.forEach(
              Array.from({ length: 20 }, (_, i) => i),
              (i) => Effect.zipRight(Effect.yieldNow(), cache.compareAndSet(k, Option.none(), bytes(`v${i}`), "1 minute")),
              { concurrency: "unbounded" }
            )
            expect(won.filter((w) => w)).toHaveLength(1)
            expect(Option.map(yield* cache.get(k), text)).toEqual(Option.some(`v${won.indexOf(true)}`))
          }))

        it.effect("a value stored by compareAndSet expires after its TTL", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("cas-ttl")
            const ttl = options.clock === "real" ? "5 seconds" : "300 millis"
            expect(yield* cache.compareAndSet(k, Option.none(), bytes("x"), ttl)).toBe(true)
            yield* elapse(ttl)
            expect(Option.isNone(yield* cache.get(k))).toBe(true)
          }))
      })

      describe("getOrSet", () => {
        it.effect("computes on a miss, stores with the TTL, and serves the hit", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("aside")
            let runs = 0
            const compute = Effect.sync(() => bytes(`v${++runs}`))
            expect(text(yield* cache.getOrSet(k, "1 minute", compute))).toBe("v1")
            expect(text(yield* cache.getOrSet(k, "1 minute", compute))).toBe("v1")
            expect(runs).toBe(1)
            expect(Option.map(yield* cache.get(k), text)).toEqual(Option.some("v1"))
          }))

        it.effect("concurrent misses of one key compute once", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("flight")
            const gate = yield* Deferred.make<void>()
            let runs = 0
            const compute = Effect.zipRight(Deferred.await(gate), Effect.sync(() => bytes(`run${++runs}`)))
            const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(cache.getOrSet(k, "1 minute", compute)))
            // Let every fiber reach the in-flight computation before it is allowed to finish.
            yield* options.clock === "real" ? Effect.sleep("200 millis") : Effect.repeatN(Effect.yieldNow(), 20)
            yield* Deferred.succeed(gate, undefined)
            const results = yield* Effect.forEach(fibers, Fiber.join)
            expect(runs).toBe(1)
            expect(new Set(results.map(text))).toEqual(new Set(["run1"]))
          }))

        it.effect("a failing computation fails every waiter and caches nothing", () =>
          Effect.gen(function*() {
            const cache = yield* Cache.Cache
            const k = key("fail")
            const gate = yield* Deferred.make<void>()
            let runs = 0
            const compute = Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => ++runs)), Effect.zipRight(Effect.fail("boom" as const)))
            const waiters = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.fork(Effect.flip(cache.getOrSet(k, "1 minute", compute))))
            // Every caller is waiting on the one computation before it fails.
            yield* options.clock === "real" ? Effect.sleep("200 millis") : Effect.repeatN(Effect.yieldNow(), 20)
            yield* Deferred.succeed(gate, undefined)
            const errors = yield* Effect.forEach(waiters, Fiber.join)
            expect(runs).toBe(1)
            expect(errors).toEqual(Array.from({ length: 10 }, () => "boom"))
            expect(Option.isNone(yield* cache.get(k))).toBe(true)
            expect(text(yield* cache.getOrSet(k, "1 minute", Effect.succeed(bytes("ok"))))).toBe("ok")
          }))
      })

      const outage = options.outage
      if (outage !== undefined) {
        describe("getOrSet with a failing cache", () => {
          const warnings = (logs: ReadonlyArray<{ readonly level: string; readonly message: string }>) =>
            logs.filter((l) => l.level === "WARN" && /Cache \(.*\) is failing/.test(l.message)).length

          it.scoped("bypasses a cache that fails: computes and returns the value, logs once per outage, and uses the cache again once it answers", () =>
            capturingLogs((logs) =>
              Effect.gen(function*() {
                const o = yield* Effect.orDie(outage)
                let runs = 0
                const compute = Effect.sync(() => bytes(`v${++runs}`))
                yield* o.down
                for (let i = 1; i <= 3; i++) expect(text(yield* o.cache.getOrSet(key("down"), "1 minute", compute))).toBe(`v${i}`)
                // A failing read of one key: each caller still computes its own.
                const k = key("down-same")
                expect(text(yield* o.cache.getOrSet(k, "1 minute", compute))).toBe("v4")
                expect(warnings(logs)).toBe(1)

                yield* o.up
                const back = key("back")
                expect(text(yield* o.cache.getOrSet(back, "1 minute", compute))).toBe("v5")
                expect(text(yield* o.cache.getOrSet(back, "1 minute", compute))).toBe("v5")
                expect(runs).toBe(5)
                expect(logs.filter((l) => l.level === "INFO" && /answers again/.test(l.message))).toHaveLength(1)

                // A second outage is logged again, once.
                yield* o.down
                expect(text(yield* o.cache.getOrSet(back, "1 minute", compute))).toBe("v6")
                expect(text(yield* o.cache.getOrSet(key("down"), "1 minute", compute))).toBe("v7")
                expect(warnings(logs)).toBe(2)
                yield* o.up
              })
            ))

          it.scoped("a failing cache write after compute does not fail the call", () =>
            capturingLogs((logs) =>
              Effect.gen(function*() {
                const o = yield* Effect.orDie(outage)
                yield* o.writesFail
                const k = key("write-fails")
                expect(text(yield* o.cache.getOrSet(k, "1 minute", Effect.succeed(bytes("computed"))))).toBe("computed")
                expect(Option.isNone(yield* o.cache.get(k))).toBe(true)
                expect(warnings(logs)).toBe(1)
                // Bad input is still the caller's error, whatever the cache does.
                expect((yield* Effect.flip(o.cache.getOrSet(k, 0, Effect.succeed(bytes("x")))))._tag).toBe("InvalidInput")
                expect((yield* Effect.flip(o.cache.getOrSet("", "1 minute", Effect.succeed(bytes("x")))))._tag).toBe("InvalidInput")
                yield* o.up
              })
            ))
        })
      }

      cacheProperties(it)

      it.effect("answers its health check", () => Effect.flatMap(Cache.Cache, (cache) => cache.healthCheck()))
    }
  )
