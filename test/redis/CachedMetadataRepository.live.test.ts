import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { CachedMetadataRepository, MetadataRepository, NewTenant, storedTenant } from "../../src/index.js"
import { SqliteClient, SqlMetadataRepository } from "../../src/sqlite/index.js"
import { RedisCache } from "../../src/redis/index.js"
import { cachedMetadataRepositoryContract, cachedRepository } from "../contract/CachedMetadataRepositoryContract.js"
import { metadataRepositoryContract } from "../../src/testing/MetadataRepositoryContract.js"
import { describeLive } from "../support/live.js"
import { dropPrefixOnClose, keysUnder, liveRedis, redisUrl, testPrefix } from "../support/redis.js"
import * as Redacted from "effect/Redacted"

const live = await liveRedis()

describeLive(live, () => {
  // Each suite under its own prefix, removed when its layer's scope closes.
  const redisUnder = (prefix: string) => Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix))
  const sqlite = SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory))

  metadataRepositoryContract(
    "cached (redis cache over sqlite :memory:)",
    CachedMetadataRepository.layer().pipe(Layer.provide(Layer.merge(sqlite, redisUnder(testPrefix("metadata-contract"))))),
    { excludeTestServices: true }
  )

  cachedMetadataRepositoryContract("redis cache over sqlite :memory:", redisUnder(testPrefix("cached-metadata")), { clock: "real", excludeTestServices: true })

  const prefix = testPrefix("token-keys")
  layer(cachedRepository(redisUnder(prefix)), { timeout: "60 seconds", excludeTestServices: true })("CachedMetadataRepository on redis", (it) => {
    it.effect("no api token appears in the redis key space or values", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const t = NewTenant.make({ name: "Acme", apiToken: `tok-${randomUUID()}`, plan: "pro" })
        yield* repo.createTenant(t)
        yield* repo.getTenantByToken(t.apiToken)
        yield* repo.getTenantByToken(`tok-${randomUUID()}-unknown`)
        const keys = yield* Effect.promise(() => keysUnder(prefix))
        expect(keys.length).toBeGreaterThanOrEqual(2)
        for (const key of keys) expect(key.toString("utf8")).not.toContain("tok-")
        expect(keys.map((k) => k.toString("utf8"))).toContain(`${prefix}${CachedMetadataRepository.tokenKey(t.apiToken)}`)
        const hit = Option.getOrThrow(yield* repo.getTenantByToken(t.apiToken))
        expect(hit).toEqual(storedTenant(t))
      }))
  })
})
