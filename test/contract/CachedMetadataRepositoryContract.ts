import { describe, expect, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { randomUUID } from "node:crypto"
import { Cache, CachedMetadataRepository, MetadataRepository, NewTenant, storedTenant, type TenantId, TokenChanges } from "../../src/index.js"
import { SqliteClient, SqlMetadataRepository } from "../../src/sqlite/index.js"
import * as TenantTokenEntry from "../../src/internal/TenantTokenEntry.js"
import { at } from "../support/fixtures.js"

/**
 * How many lookups reached the repository under the cache; and, when `pause` is set, the next
 * lookup stops between its database read and its return (before any cache write), announcing
 * `reached` and waiting for `release`.
 */
export class Calls extends Context.Tag("test/Calls")<Calls, {
  byToken: number
  pause: Pause | undefined
  /** When set, the next shared-cache read that finds an entry stops after reading it. */
  pauseCacheHit: Pause | undefined
  /** When set, the next `updateTenant` or `deleteTenant` that reaches the repository stops before it runs. */
  pauseWrite: Pause | undefined
}>() {}

interface Pause {
  readonly reached: Deferred.Deferred<void>
  readonly release: Deferred.Deferred<void>
}

const callsLayer = Layer.sync(Calls, () => ({ byToken: 0, pause: undefined, pauseCacheHit: undefined, pauseWrite: undefined }))

/** Arms the pause of the next tenant update or delete that reaches the repository (before it runs). */
const pauseNextWrite = Effect.gen(function*() {
  const calls = yield* Calls
  const pause = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
  calls.pauseWrite = pause
  return pause
})

/** Arms the pause of the next shared-cache read that finds an entry. */
const pauseNextCacheHit = Effect.gen(function*() {
  const calls = yield* Calls
  const pause = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
  calls.pauseCacheHit = pause
  return pause
})

/** The cache as the cached repository sees it: a hit can be paused between its read and its return. */
const pausableCache = Layer.effect(
  Cache.Cache,
  Effect.gen(function*() {
    const cache = yield* Cache.Cache
    const calls = yield* Calls
    return {
      ...cache,
      get: (key: string) =>
        Effect.tap(cache.get(key), (found) =>
          Effect.suspend(() => {
            const pause = calls.pauseCacheHit
            if (pause === undefined || Option.isNone(found)) return Effect.void
            calls.pauseCacheHit = undefined
            return Effect.zipRight(Deferred.succeed(pause.reached, undefined), Deferred.await(pause.release))
          }))
    }
  })
)

/** Arms the pause of the next lookup that reaches the repository. */
const pauseNextLookup = Effect.gen(function*() {
  const calls = yield* Calls
  const pause = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
  calls.pause = pause
  return pause
})

const sqlite = SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory))

/** The repository (SQLite :memory: unless given), counting the token lookups that reach it, and pausing one on demand. */
const countedRepository = <E>(inner: Layer.Layer<MetadataRepository.MetadataRepository, E>) => Layer.effect(
  MetadataRepository.MetadataRepository,
  Effect.gen(function*() {
    const repository = yield* MetadataRepository.MetadataRepository
    const calls = yield* Calls
    const pausedWrite = <A, E>(write: Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        const pause = calls.pauseWrite
        if (pause === undefined) return write
        calls.pauseWrite = undefined
        return Effect.zipRight(Effect.zipRight(Deferred.succeed(pause.reached, undefined), Deferred.await(pause.release)), write)
      })
    return {
      ...repository,
      updateTenant: (tenant: NewTenant) => pausedWrite(repository.updateTenant(tenant)),
      deleteTenant: (id: TenantId) => pausedWrite(repository.deleteTenant(id)),
      getTenantByToken: (token: string) =>
        Effect.suspend(() => {
          calls.byToken++
          return repository.getTenantByToken(token)
        }).pipe(Effect.tap(() =>
          Effect.suspend(() => {
            const pause = calls.pause
            if (pause === undefined) return Effect.void
            calls.pause = undefined
            return Effect.zipRight(Deferred.succeed(pause.reached, undefined), Deferred.await(pause.release))
          })
        ))
    }
  })
).pipe(Layer.provide(inner))

/** On a real clock the miss TTL leaves a margin no stall of a loaded machine reaches between two lookups. */
const optionsFor = (clock: "test-clock" | "real") => ({ hitTtl: "1 minute", missTtl: clock === "real" ? "5 seconds" : "400 millis" }) as const

/**
 * The cached repository over SQLite :memory: and the given cache, with the `Calls` counter and the
 * cache itself in context.
 */
export const cachedRepository = <E, E2 = never, E3 = never>(
  cache: Layer.Layer<Cache.Cache, E>,
  clock: "test-clock" | "real" = "real",
  stack: {
    readonly repository?: Layer.Layer<MetadataRepository.MetadataRepository, E2>
    /** With a channel, the in-process level is on. */
    readonly changes?: Layer.Layer<TokenChanges.TokenChanges, E3>
  } = {}
) =>
  CachedMetadataRepository.layer(optionsFor(clock)).pipe(
    Layer.provide(countedRepository<unknown>(stack.repository ?? sqlite)),
    Layer.provide(stack.changes ?? Layer.empty),
    Layer.provide(pausableCache),
    Layer.provideMerge(cache),
    Layer.provideMerge(callsLayer)
  )

const tenant = (): { -readonly [K in keyof NewTenant]: NewTenant[K] } => NewTenant.make({ name: "Acme", apiToken: `tok-${randomUUID()}`, plan: "pro", createdAt: at(3), config: { region: "eu" } })

/** What the cached lookup adds to the MetadataRepository contract. */
export const cachedMetadataRepositoryContract = <E>(
  name: string,
  cache: Layer.Layer<Cache.Cache, E>,
  contractOptions: {
    readonly clock: "test-clock" | "real"
    readonly excludeTestServices?: boolean
    readonly repository?: Layer.Layer<MetadataRepository.MetadataRepository, unknown>
    readonly changes?: Layer.Layer<TokenChanges.TokenChanges, unknown>
  }
) =>
  layer(cachedRepository(cache, contractOptions.clock, contractOptions), { timeout: "60 seconds", excludeTestServices: contractOptions.excludeTestServices ?? false })(
    `CachedMetadataRepository: ${name}`,
    (it) => {
      const elapse = (d: Duration.DurationInput) =>
        contractOptions.clock === "test-clock" ? TestClock.adjust(d) : Effect.sleep(Duration.sum(d, "50 millis"))
      const Repo = MetadataRepository.MetadataRepository
      const options = optionsFor(contractOptions.clock)
      /** What the shared cache holds for a token, decoded. */
      const entryOf = (token: string) =>
        Effect.map(Cache.Cache, (cache) => cache.get(CachedMetadataRepository.tokenKey(token))).pipe(
          Effect.flatten,
          Effect.map(Option.map((bytes) => TenantTokenEntry.decode(bytes)?._tag ?? "unreadable"))
        )
      /** Lookups of `token`: each refused, and the cache left holding no tenant for it. */
      const refused = (repo: MetadataRepository.MetadataRepositoryShape, token: string) =>
        Effect.gen(function*() {
          for (let i = 0; i < 3; i++) expect(Option.isNone(yield* repo.getTenantByToken(token))).toBe(true)
          expect(Option.getOrElse(yield* entryOf(token), () => "absent")).not.toBe("Found")
        })

      /** The lookups that reach the repository while `self` runs. */
      const counting = <A, E2, R>(self: Effect.Effect<A, E2, R>) =>
        Effect.gen(function*() {
          const calls = yield* Calls
          const before = calls.byToken
          const result = yield* self
          return [result, calls.byToken - before] as const
        })

      describe("getTenantByToken", () => {
        it.effect("a hit does not reach the repository, and returns the tenant with its dates", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const [first, missCalls] = yield* counting(repo.getTenantByToken(t.apiToken))
            expect(missCalls).toBe(1)
            expect(Option.getOrThrow(first)).toEqual(storedTenant(t))
            const [again, hitCalls] = yield* counting(Effect.forEach([1, 2, 3], () => repo.getTenantByToken(t.apiToken)))
            expect(hitCalls).toBe(0)
            for (const hit of again) {
              expect(Option.getOrThrow(hit)).toEqual(storedTenant(t))
              expect(Option.getOrThrow(hit).createdAt).toBeInstanceOf(Date)
            }
          }))

        it.effect("concurrent lookups of one token reach the repository once", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const [results, calls] = yield* counting(
              Effect.forEach(Array.from({ length: 20 }), () => repo.getTenantByToken(t.apiToken), { concurrency: "unbounded" })
            )
            expect(calls).toBe(1)
            expect(results.every((r) => Option.getOrThrow(r).id === t.id)).toBe(true)
          }))

        it.effect("a miss is cached briefly, then asked again", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const unknown = `tok-${randomUUID()}`
            const [misses, calls] = yield* counting(Effect.forEach([1, 2, 3], () => repo.getTenantByToken(unknown)))
            expect(misses.every(Option.isNone)).toBe(true)
            expect(calls).toBe(1)
            yield* elapse(options.missTtl)
            const [later, callsLater] = yield* counting(repo.getTenantByToken(unknown))
            expect(Option.isNone(later)).toBe(true)
            expect(callsLater).toBe(1)
          }))

        it.effect("a tenant created with a token that was just unknown is found at once", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            expect(Option.isNone(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
            yield* repo.createTenant(t)
            expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken))).toEqual(storedTenant(t))
          }))

        it.effect("the cache key is a hash: the token is in neither the key nor the value", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const cache = yield* Cache.Cache
            const t = tenant()
            yield* repo.createTenant(t)
            yield* repo.getTenantByToken(t.apiToken)
            const key = CachedMetadataRepository.tokenKey(t.apiToken)
            expect(key).not.toContain(t.apiToken)
            expect(key).toMatch(/^tenant-by-token:v2:[0-9a-f]{64}$/)
            const value = Buffer.from(Option.getOrThrow(yield* cache.get(key))).toString("utf8")
            expect(value).not.toContain(t.apiToken)
            expect(value).toContain(t.id)
          }))

        it.effect("an invalid token is InvalidInput; a lone surrogate never matches the U+FFFD token", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = { ...tenant(), apiToken: `tok-\uFFFD-${randomUUID()}` }
            yield* repo.createTenant(t)
            expect(Option.isSome(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
            const lone = t.apiToken.replace("\uFFFD", "\ud800")
            expect((yield* Effect.flip(repo.getTenantByToken(lone)))._tag).toBe("InvalidInput")
            expect((yield* Effect.flip(repo.getTenantByToken("")))._tag).toBe("InvalidInput")
          }))
      })

      describe("invalidation", () => {
        it.effect("an update that changes the token drops the old token's entry", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken))).toEqual(storedTenant(t))
            const updated = { ...t, name: "Acme Corp", apiToken: `tok-${randomUUID()}` }
            yield* repo.updateTenant(updated)
            const [old, calls] = yield* counting(repo.getTenantByToken(t.apiToken))
            expect(Option.isNone(old)).toBe(true)
            expect(calls).toBe(1)
            expect(Option.getOrThrow(yield* repo.getTenantByToken(updated.apiToken))).toEqual(storedTenant(updated))
          }))

        it.effect("an update that keeps the token drops its entry too", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            yield* repo.getTenantByToken(t.apiToken)
            const renamed = { ...t, name: "Renamed", plan: "enterprise" }
            yield* repo.updateTenant(renamed)
            expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken))).toEqual(storedTenant(renamed))
          }))

        it.effect("a failed update changes nothing in the cache", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const a = tenant()
            const b = tenant()
            yield* repo.createTenant(a)
            yield* repo.createTenant(b)
            const cache = yield* Cache.Cache
            yield* repo.getTenantByToken(a.apiToken)
            yield* repo.getTenantByToken(b.apiToken)
            const snapshot = Effect.forEach([a, b], (t) => cache.get(CachedMetadataRepository.tokenKey(t.apiToken)))
            const before = yield* snapshot
            expect(before.map((e) => Option.map(e, (bytes) => TenantTokenEntry.decode(bytes)?._tag))).toEqual([Option.some("Found"), Option.some("Found")])
            expect((yield* Effect.flip(repo.updateTenant({ ...b, apiToken: a.apiToken })))._tag).toBe("StorageConflict")
            // Byte for byte what it held: no entry dropped, no tombstone written.
            expect(yield* snapshot).toEqual(before)
            const [hit, calls] = yield* counting(repo.getTenantByToken(a.apiToken))
            expect(calls).toBe(0)
            expect(Option.getOrThrow(hit)).toEqual(storedTenant(a))
            expect(Option.getOrThrow(yield* repo.getTenantByToken(b.apiToken))).toEqual(storedTenant(b))
          }))

        it.effect("a lookup paused between its database read and its cache write cannot bring back a rotated token", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const cache = yield* Cache.Cache
            const t = tenant()
            yield* repo.createTenant(t)
            // Both ways a lookup may find the shared cache: holding nothing, or a change's tombstone.
            for (const start of ["absent", "tombstone"] as const) {
              const token = start === "absent" ? t.apiToken : `tok-${randomUUID()}`
              if (start === "tombstone") yield* repo.updateTenant({ ...t, apiToken: token })
              if (start === "absent") yield* cache.invalidate(CachedMetadataRepository.tokenKey(token))
              expect(yield* entryOf(token)).toEqual(start === "absent" ? Option.none() : Option.some("Changed"))
              const pause = yield* pauseNextLookup
              const inflight = yield* Effect.fork(repo.getTenantByToken(token))
              // The lookup has read the tenant under its old token, and not written the cache yet.
              yield* Deferred.await(pause.reached)
              const rotated = `tok-${randomUUID()}`
              yield* repo.updateTenant({ ...t, apiToken: rotated })
              yield* Deferred.succeed(pause.release, undefined)
              expect(Option.isNone(yield* Fiber.join(inflight))).toBe(true)
              yield* refused(repo, token)
              expect(Option.getOrThrow(yield* repo.getTenantByToken(rotated)).id).toBe(t.id)
              t.apiToken = rotated
            }
          }))

        it.effect("a lookup paused between its shared-cache hit and its in-process write cannot bring back a rotated token", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            // The shared cache holds the tenant (a lookup replaced the create's tombstone)...
            yield* repo.getTenantByToken(t.apiToken)
            expect(yield* entryOf(t.apiToken)).toEqual(Option.some("Found"))
            // ...and this process's in-process entry (when it has that level) has expired (1 s), the shared one not (1 minute).
            yield* elapse(CachedMetadataRepository.defaults.localTtl)
            const pause = yield* pauseNextCacheHit
            const inflight = yield* Effect.fork(repo.getTenantByToken(t.apiToken))
            yield* Deferred.await(pause.reached)
            yield* repo.updateTenant({ ...t, apiToken: `tok-${randomUUID()}` })
            yield* Deferred.succeed(pause.release, undefined)
            // It read the shared cache before the rotation: its answer is the old one, but it must not keep it.
            yield* Fiber.join(inflight)
            yield* refused(repo, t.apiToken)
          }))

        it.effect("a lookup paused across a delete cannot bring the deleted tenant back", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const pause = yield* pauseNextLookup
            const inflight = yield* Effect.fork(repo.getTenantByToken(t.apiToken))
            yield* Deferred.await(pause.reached)
            expect(Option.isSome(yield* repo.deleteTenant(t.id))).toBe(true)
            yield* Deferred.succeed(pause.release, undefined)
            expect(Option.isNone(yield* Fiber.join(inflight))).toBe(true)
            yield* refused(repo, t.apiToken)
          }))

        it.effect("of two racing updates, the second tombstones the token the first set (it replaced it), not the one it saw before", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const [first, second] = [`tok-${randomUUID()}`, `tok-${randomUUID()}`]
            // The second update is under way (its caller saw the original token) but has not written yet.
            const write = yield* pauseNextWrite
            const secondUpdate = yield* Effect.fork(repo.updateTenant({ ...t, apiToken: second }))
            yield* Deferred.await(write.reached)
            yield* repo.updateTenant({ ...t, apiToken: first })
            // A lookup of the first update's token reads the tenant while that token is current...
            const lookup = yield* pauseNextLookup
            const inflight = yield* Effect.fork(repo.getTenantByToken(first))
            yield* Deferred.await(lookup.reached)
            // ...then the second update replaces it, and only then may the lookup write the cache.
            yield* Deferred.succeed(write.release, undefined)
            yield* Fiber.join(secondUpdate)
            yield* Deferred.succeed(lookup.release, undefined)
            yield* Fiber.join(inflight)
            yield* refused(repo, first)
            expect(Option.getOrThrow(yield* repo.getTenantByToken(second)).id).toBe(t.id)
          }))

        it.effect("a delete racing an update tombstones the token the update set", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            const rotated = `tok-${randomUUID()}`
            const write = yield* pauseNextWrite
            const deleting = yield* Effect.fork(repo.deleteTenant(t.id))
            yield* Deferred.await(write.reached)
            yield* repo.updateTenant({ ...t, apiToken: rotated })
            const lookup = yield* pauseNextLookup
            const inflight = yield* Effect.fork(repo.getTenantByToken(rotated))
            yield* Deferred.await(lookup.reached)
            yield* Deferred.succeed(write.release, undefined)
            expect(Option.isSome(yield* Fiber.join(deleting))).toBe(true)
            yield* Deferred.succeed(lookup.release, undefined)
            yield* Fiber.join(inflight)
            yield* refused(repo, rotated)
          }))

        it.effect("a delete drops the entry", () =>
          Effect.gen(function*() {
            const repo = yield* Repo
            const t = tenant()
            yield* repo.createTenant(t)
            expect(Option.isSome(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
            expect(Option.isSome(yield* repo.deleteTenant(t.id))).toBe(true)
            expect(Option.isNone(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
          }))
      })
    }
  )
