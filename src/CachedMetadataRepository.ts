import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as Cache from "./Cache.js"
import * as ConfigFields from "./ConfigFields.js"
import type { TenantId } from "./domain/Ids.js"
import { NonEmptyText } from "./domain/Primitives.js"
import { Tenant } from "./domain/Tenant.js"
import * as MetadataRepository from "./MetadataRepository.js"
import { type InvalidInput, type StorageError, StorageUnavailable, validate } from "./StorageError.js"

export interface Options {
  /** How long a found tenant stays cached. Default 60 s. */
  readonly hitTtl?: Duration.DurationInput
  /** How long "no tenant has this token" stays cached, so a flood of bad tokens stays off the database. Default 5 s. */
  readonly missTtl?: Duration.DurationInput
}

export const defaults = { hitTtl: Duration.seconds(60), missTtl: Duration.seconds(5) } as const

/**
 * The key of a token's lookup: a SHA-256 of the token, so no token ever appears in the cache's key
 * space. `v1` names the entry format; a new format takes a new version rather than misreading old entries.
 */
export const tokenKey = (apiToken: string): string =>
  `tenant-by-token:v1:${createHash("sha256").update(apiToken, "utf8").digest("hex")}`

/**
 * A cached lookup: the tenant without its token (the key is the token's hash, and the caller holds
 * the token), or `null` for "no such tenant". JSON through the domain schema, so dates round-trip.
 */
const Entry = Schema.parseJson(Schema.NullOr(Tenant.omit("apiToken")))
const encodeEntry = Schema.encode(Entry)
const decodeEntry = Schema.decodeEither(Entry)
const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder("utf-8", { fatal: true })
const missBytes = utf8.encode("null")

/** Raised inside the cached computation: the repository's own failure, to tell it apart from the cache's. */
class RepositoryFailure {
  constructor(readonly error: StorageError) {}
}
/** Raised inside the cached computation: an answer that is not cached under the hit TTL (a miss, or an unencodable tenant). */
class NotCached {
  constructor(readonly tenant: Option.Option<Tenant>) {}
}

/**
 * Wraps a repository so `getTenantByToken` goes through the cache (`getOrSet`: concurrent lookups of
 * one token in this process query the repository once). Found tenants are cached for `hitTtl`,
 * unknown tokens for `missTtl`. `createTenant`, `updateTenant` and `deleteTenant` drop the entries
 * of the tokens they touch (for an update, the old token and the new one). Everything else passes through.
 *
 * When the cache itself fails (Redis down), lookups go to the repository: authentication keeps
 * working on the database alone. When dropping an entry fails after a write, the write stands and
 * the call fails with `StorageUnavailable` saying so, because the old entry may serve for up to `hitTtl`.
 */
export const wrap = (
  repository: MetadataRepository.MetadataRepositoryShape,
  cache: Cache.CacheShape,
  options: Options = {}
): MetadataRepository.MetadataRepositoryShape => {
  const hitTtl = Duration.decode(options.hitTtl ?? defaults.hitTtl)
  const missTtl = Duration.decode(options.missTtl ?? defaults.missTtl)
  const slowToken = validate(NonEmptyText, "storage", "MetadataRepository.getTenantByToken")
  // A lone surrogate would hash like U+FFFD and hit another token's entry: only well-formed tokens are looked up.
  const validToken = (token: string): Effect.Effect<string, InvalidInput> =>
    typeof token === "string" && token.length > 0 && token.isWellFormed() ? Effect.succeed(token) : slowToken(token)

  const lookup = (apiToken: string, key: string) =>
    repository.getTenantByToken(apiToken).pipe(
      Effect.mapError((error) => new RepositoryFailure(error)),
      Effect.flatMap(Option.match({
        onNone: () =>
          cache.set(key, missBytes, missTtl).pipe(
            Effect.catchAll((error) => Effect.logWarning("could not cache an unknown token", error)),
            Effect.zipRight(Effect.fail(new NotCached(Option.none())))
          ),
        onSome: (tenant) =>
          encodeEntry(tenant).pipe(
            Effect.map((json) => utf8.encode(json)),
            Effect.mapError(() => new NotCached(Option.some(tenant)))
          )
      }))
    )

  const decode = (bytes: Uint8Array): Either.Either<typeof Entry.Type, unknown> => {
    try {
      return decodeEntry(fromUtf8.decode(bytes))
    } catch (error) {
      return Either.left(error)
    }
  }

  const getTenantByToken = Effect.fn("CachedMetadataRepository.getTenantByToken")(function*(token: string) {
    const apiToken = yield* validToken(token)
    const key = tokenKey(apiToken)
    const cached = yield* Effect.either(cache.getOrSet(key, hitTtl, lookup(apiToken, key)))
    if (Either.isLeft(cached)) {
      const failure = cached.left
      if (failure instanceof NotCached) return failure.tenant
      if (failure instanceof RepositoryFailure) return yield* Effect.fail(failure.error)
      yield* Effect.logWarning("tenant cache unavailable, reading the repository", failure)
      return yield* repository.getTenantByToken(apiToken)
    }
    const entry = decode(cached.right)
    if (Either.isLeft(entry)) {
      yield* Effect.logWarning("dropping an unreadable tenant cache entry", entry.left)
      yield* Effect.ignore(cache.invalidate(key))
      return yield* repository.getTenantByToken(apiToken)
    }
    return entry.right === null ? Option.none<Tenant>() : Option.some<Tenant>({ ...entry.right, apiToken })
  })

  const forget = (operation: string, tokens: ReadonlyArray<string>) =>
    Effect.forEach(new Set(tokens), (token) => cache.invalidate(tokenKey(token)), { discard: true, concurrency: "unbounded" }).pipe(
      Effect.mapError((error) =>
        new StorageUnavailable({
          backend: error.backend,
          operation,
          message: `the change was stored, but the cached lookup of its api token could not be dropped and may be served for up to ${
            Duration.format(hitTtl)
          }: ${error.message}`,
          cause: error
        })
      )
    )

  /** The tenant's current token, read before a write that may change or remove it. */
  const currentToken = (id: TenantId) =>
    repository.getTenant(id).pipe(
      Effect.map(Option.map((tenant) => tenant.apiToken)),
      // An invalid id: let the write itself report it.
      Effect.catchTag("InvalidInput", () => Effect.succeedNone)
    )

  return {
    ...repository,
    getTenantByToken,
    createTenant: Effect.fn("CachedMetadataRepository.createTenant")(function*(tenant: Tenant) {
      yield* repository.createTenant(tenant)
      // A lookup of this token just before may have cached "unknown".
      yield* forget("MetadataRepository.createTenant", [tenant.apiToken])
    }),
    updateTenant: Effect.fn("CachedMetadataRepository.updateTenant")(function*(tenant: Tenant) {
      const before = yield* currentToken(tenant.id)
      yield* repository.updateTenant(tenant)
      yield* forget("MetadataRepository.updateTenant", [...Option.toArray(before), tenant.apiToken])
    }),
    deleteTenant: Effect.fn("CachedMetadataRepository.deleteTenant")(function*(id: TenantId) {
      const before = yield* currentToken(id)
      const deleted = yield* repository.deleteTenant(id)
      yield* forget("MetadataRepository.deleteTenant", Option.toArray(before))
      return deleted
    })
  }
}

/** The `MetadataRepository` in context wrapped with the `Cache` in context (see {@link wrap}). */
export const make = (
  options: Options = {}
): Effect.Effect<MetadataRepository.MetadataRepositoryShape, never, MetadataRepository.MetadataRepository | Cache.Cache> =>
  Effect.zipWith(MetadataRepository.MetadataRepository, Cache.Cache, (repository, cache) => wrap(repository, cache, options))

/** Each option as an unnamed `Config`, with its default (see `ConfigFields`). */
export const fields = {
  hitTtl: Config.duration().pipe(Config.withDefault(defaults.hitTtl)),
  missTtl: Config.duration().pipe(Config.withDefault(defaults.missTtl))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`hitTtl`, `missTtl`), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** Wraps the `MetadataRepository` in context with the `Cache` in context, from explicit options. */
export const layer = (
  options: Options = {}
): Layer.Layer<MetadataRepository.MetadataRepository, never, MetadataRepository.MetadataRepository | Cache.Cache> =>
  Layer.effect(MetadataRepository.MetadataRepository, make(options))

/** {@link layer} from a configuration, e.g. {@link config} or `StorageConfig.tenantCache`. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<MetadataRepository.MetadataRepository, ConfigError.ConfigError, MetadataRepository.MetadataRepository | Cache.Cache> =>
  Layer.effect(MetadataRepository.MetadataRepository, Effect.flatMap(Config.unwrap(config), make))
