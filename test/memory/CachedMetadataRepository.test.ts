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
  it.effect("lookups fall back to the repository; a write says its entry could not be dropped", () =>
    Effect.gen(function*() {
      const plain = yield* MetadataRepository.MetadataRepository
      const repo = yield* CachedMetadataRepository.wrap(plain, yield* Cache.Cache)
      const t = NewTenant.make({ name: "Acme", apiToken: "tok-down", plan: "pro" })
      yield* plain.createTenant(t)
      expect(Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken)).id).toBe(t.id)
      expect(Option.isNone(yield* repo.getTenantByToken("tok-unknown"))).toBe(true)
      const error = yield* Effect.flip(repo.updateTenant({ ...t, name: "Renamed" }))
      expect(error._tag).toBe("StorageUnavailable")
      expect(error.message).toContain("the change was stored")
      expect(Option.getOrThrow(yield* plain.getTenant(t.id)).name).toBe("Renamed")
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(sqlite, downCache))))
})
