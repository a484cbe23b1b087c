import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  Cache,
  CachedMetadataRepository,
  MemoryCache,
  MetadataRepository,
  SqliteClient,
  SqlMetadataRepository,
  StorageUnavailable,
  NewTenant,
  TokenChanges
} from "../../src/index.js"
import { cachedMetadataRepositoryContract } from "../contract/CachedMetadataRepositoryContract.js"
import { metadataRepositoryContract } from "../../src/testing/MetadataRepositoryContract.js"

const sqlite = SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory))

metadataRepositoryContract(
  "cached (memory cache over sqlite :memory:)",
  CachedMetadataRepository.layer().pipe(Layer.provide(Layer.merge(sqlite, MemoryCache.layer())))
)

cachedMetadataRepositoryContract("memory cache over sqlite :memory:", MemoryCache.layer(), { clock: "test-clock" })

cachedMetadataRepositoryContract("memory cache with the in-process level over sqlite :memory:", MemoryCache.layer(), {
  clock: "test-clock",
  changes: TokenChanges.layerLocal
})

/** A cache whose every call fails, as Redis does while it is down. */
const downCache = Layer.succeed(
  Cache.Cache,
  Cache.make("redis", {
    get: () => Effect.fail(new StorageUnavailable({ backend: "redis", operation: "Cache.get", message: "down" })),
    set: () => Effect.fail(new StorageUnavailable({ backend: "redis", operation: "Cache.set", message: "down" })),
    compareAndSet: () => Effect.fail(new StorageUnavailable({ backend: "redis", operation: "Cache.compareAndSet", message: "down" })),
    invalidate: () => Effect.fail(new StorageUnavailable({ backend: "redis", operation: "Cache.invalidate", message: "down" })),
    healthCheck: () => Effect.fail(new StorageUnavailable({ backend: "redis", operation: "Cache.healthCheck", message: "down" }))
  })
)

describe("CachedMetadataRepository with the cache down", () => {
  it.live("lookups fall back to the repository; a write says its entry could not be dropped once markTimeout has passed", () =>
    Effect.gen(function*() {
      const plain = yield* MetadataRepository.MetadataRepository
      const repo = yield* CachedMetadataRepository.wrap(plain, yield* Cache.Cache, { markTimeout: "200 millis" })
      const t = NewTenant.make({ name: "Acme", apiToken: "tok-down", plan: "pro" })
      yield* plain.createTenant(t)
      expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken)).id).toBe(t.id)
      expect(Option.isNone(yield* repo.getTenantByToken("tok-unknown"))).toBe(true)
      const error = yield* Effect.flip(repo.updateTenant({ ...t, name: "Renamed" }))
      expect(error._tag).toBe("StorageUnavailable")
      expect(error.message).toContain("the change was stored")
      expect(Option.getOrThrow(yield* plain.getTenant(t.id)).name).toBe("Renamed")
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(sqlite, downCache))))

  it.live("a change made while the cache is unavailable marks its tokens once the cache answers again (a failover)", () =>
    Effect.gen(function*() {
      const memory = yield* Cache.Cache
      // Unavailable for the first 5 writes, then the cache answers: as a Redis Cluster whose master failed over.
      let failures = 5
      const failingOver: Cache.CacheShape = {
        ...memory,
        set: (key, value, ttl) =>
          Effect.suspend(() =>
            failures-- > 0 ? Effect.fail(new StorageUnavailable({ backend: "redis", operation: "Cache.set", message: "failing over" })) : memory.set(key, value, ttl)
          )
      }
      const plain = yield* MetadataRepository.MetadataRepository
      const repo = yield* CachedMetadataRepository.wrap(plain, failingOver)
      const t = NewTenant.make({ name: "Acme", apiToken: "tok-before", plan: "pro" })
      yield* repo.createTenant(t)
      failures = 0
      // The old token's answer is in the shared cache (the promoted replica still has it).
      expect(Option.isSome(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
      failures = 5
      yield* repo.updateTenant({ ...t, apiToken: "tok-after" })
      expect(failures).toBeLessThan(0)
      expect(Option.isNone(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
      expect(Option.getOrThrow(yield* repo.getTenantByToken("tok-after")).id).toBe(t.id)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(sqlite, MemoryCache.layer()))))
})

describe("CachedMetadataRepository in-process level", () => {
  it.effect("a hit makes a token the most recently used: a later token evicts the one not read since", () =>
    Effect.gen(function*() {
      const memory = yield* Cache.Cache
      let sharedReads = 0
      const counting: Cache.CacheShape = { ...memory, get: (key) => Effect.zipRight(Effect.sync(() => sharedReads++), memory.get(key)) }
      const plain = yield* MetadataRepository.MetadataRepository
      const repo = yield* CachedMetadataRepository.wrap(plain, counting, { localMaxEntries: 2 }, TokenChanges.local)
      const tenant = (apiToken: string) => NewTenant.make({ name: apiToken, apiToken, plan: "pro" })
      const a = tenant("tok-lru-a"), b = tenant("tok-lru-b"), c = tenant("tok-lru-c")
      for (const t of [a, b, c]) yield* plain.createTenant(t)
      yield* repo.getTenantByToken(a.apiToken)
      yield* repo.getTenantByToken(b.apiToken)
      sharedReads = 0
      yield* repo.getTenantByToken(a.apiToken) // an in-process hit: a is now the most recently used
      expect(sharedReads).toBe(0)
      yield* repo.getTenantByToken(c.apiToken) // one token too many: b, not read since it was stored, goes
      sharedReads = 0
      expect(Option.getOrThrow(yield* repo.getTenantByToken(a.apiToken)).id).toBe(a.id)
      expect(sharedReads).toBe(0)
      expect(Option.getOrThrow(yield* repo.getTenantByToken(b.apiToken)).id).toBe(b.id)
      expect(sharedReads).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(sqlite, MemoryCache.layer()))))
})
