import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { LRUCache } from "lru-cache"
import * as Cache from "./Cache.js"
import * as ConfigFields from "./ConfigFields.js"
import type { TenantId } from "./domain/Ids.js"
import { isNonEmptyText, NonEmptyText } from "./domain/Primitives.js"
import { hashApiToken, type NewTenant, type Tenant } from "./domain/Tenant.js"
import * as MetadataRepository from "./MetadataRepository.js"
import { type StorageError, StorageUnavailable, validate } from "./StorageError.js"
import * as TenantTokenEntry from "./TenantTokenEntry.js"
import * as TokenChanges from "./TokenChanges.js"

export interface Options {
  /** How long a found tenant stays in the shared cache. Default 60 s. */
  readonly hitTtl?: Duration.DurationInput
  /** How long "no tenant has this token" stays cached, so a flood of bad tokens stays off the database. Default 5 s. */
  readonly missTtl?: Duration.DurationInput
  /**
   * How long the tombstone of a changed token stays in the shared cache. A lookup whose database
   * read took longer than half of it does not cache its answer (its read may predate a change whose
   * tombstone is already gone). Default 30 s.
   */
  readonly changeTtl?: Duration.DurationInput
  /**
   * The in-process level in front of the shared cache: at most this many tokens (least recently
   * used evicted). Used only with a `TokenChanges` service in context (which keeps it honest
   * across processes). Default 10 000.
   */
  readonly localMaxEntries?: number
  /** How long an in-process entry is trusted at most, should a change notice be lost. Default 1 s. */
  readonly localTtl?: Duration.DurationInput
  /**
   * How long a change keeps trying to mark its tokens in the shared cache while the cache is
   * unavailable (`StorageUnavailable`: a Redis Cluster failing over, a restart) before it fails
   * saying the old entry may be served. Default 40 s, longer than a Redis Cluster failover with the
   * default `cluster-node-timeout` of 15 s (`RedisConfig.failoverBound`): a token rotated during a
   * failover is marked on the promoted replica, which may still hold its old entry.
   */
  readonly markTimeout?: Duration.DurationInput
}

export const defaults = {
  hitTtl: Duration.seconds(60),
  missTtl: Duration.seconds(5),
  changeTtl: Duration.seconds(30),
  localMaxEntries: 10_000,
  localTtl: Duration.seconds(1),
  markTimeout: Duration.seconds(40)
} as const

/**
 * The shared-cache key of a token's lookup: the SHA-256 of the token (the hash the database keeps),
 * so no token ever appears in the cache's key space.
 */
export const tokenKey = (apiToken: string): string => TenantTokenEntry.key(hashApiToken(apiToken))

/** An in-process entry: an answer, trusted until `expiresAt`. */
interface Local {
  readonly answer: Option.Option<Tenant>
  readonly expiresAt: number
}

const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/**
 * Wraps a repository so `getTenantByToken` goes through two levels: an in-process LRU (when a
 * `TokenChanges` channel is given) in front of the shared cache, the repository behind both.
 *
 * Rotation is immediate. A change (`createTenant`, `updateTenant`, `deleteTenant`) first commits,
 * then writes a fresh tombstone over the shared entry of every token it touched (the old and the new
 * one), then publishes the hashes, then drops its own in-process entries; only then does it return.
 * A lookup stores its answer in the shared cache only with `compareAndSet`: where it found nothing,
 * or over exactly the tombstone it saw before reading the database. So a lookup whose read predates
 * a change can never store the old answer (the change's tombstone is in the way), and one that loses
 * that race reads the repository again rather than return the old answer. The in-process level
 * takes an answer only if no change was heard in this process since the lookup began (a counter),
 * and is cleared and bypassed while the channel's subscription is down.
 *
 * When the shared cache fails (Redis down), lookups go to the repository: authentication keeps
 * working on the database alone. Marking a change is re-tried while the cache is unavailable (a
 * Redis failover), for `markTimeout`; when it still fails, the write stands and the call fails with `StorageUnavailable` saying so, because the old entry may serve for up to `hitTtl`.
 */
export const wrap = (
  repository: MetadataRepository.MetadataRepositoryShape,
  cache: Cache.CacheShape,
  options: Options = {},
  changes?: TokenChanges.TokenChangesShape
): Effect.Effect<MetadataRepository.MetadataRepositoryShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const hitTtl = Duration.decode(options.hitTtl ?? defaults.hitTtl)
    const missTtl = Duration.decode(options.missTtl ?? defaults.missTtl)
    const changeTtl = Duration.decode(options.changeTtl ?? defaults.changeTtl)
    const changeMs = Duration.toMillis(changeTtl)
    const localMax = options.localMaxEntries ?? defaults.localMaxEntries
    if (!Number.isInteger(localMax) || localMax < 1) throw new Error("CachedMetadataRepository localMaxEntries must be a positive integer")
    const localHitMs = Duration.toMillis(Duration.decode(options.localTtl ?? defaults.localTtl))
    const localMissMs = Math.min(localHitMs, Duration.toMillis(missTtl))
    const slowToken = validate(NonEmptyText, "storage", "MetadataRepository.getTenantByToken")
    // Re-tried every 50 ms, 100 ms, … at most 500 ms apart while the cache is unavailable, for `markTimeout`.
    const markSchedule = Schedule.exponential("50 millis").pipe(
      Schedule.union(Schedule.spaced("500 millis")),
      Schedule.upTo(options.markTimeout ?? defaults.markTimeout)
    )
    const marking = <A>(effect: Effect.Effect<A, StorageError>) =>
      Effect.retry(effect, { schedule: markSchedule, while: (error) => error._tag === "StorageUnavailable" })

    // The in-process level, an LRU (a hit counts as a use) of at most `localMax` tokens. `changesHeard`
    // counts the changes heard here (and subscription losses): an answer read before one of them is not kept.
    const local = new LRUCache<string, Local>({ max: localMax })
    let listening = false
    let changesHeard = 0
    const forgetLocal = (hash: string) => {
      changesHeard++
      local.delete(hash)
    }
    const keepLocally = (hash: string, answer: Option.Option<Tenant>, since: number, now: number) => {
      if (!listening || changesHeard !== since) return
      // Every caller of this token gets the same object from here on: frozen, so none can change it for the others.
      if (Option.isSome(answer)) deepFreeze(answer.value)
      local.set(hash, { answer, expiresAt: now + (Option.isSome(answer) ? localHitMs : localMissMs) })
    }
    if (changes !== undefined) {
      yield* changes.listen({
        changed: forgetLocal,
        listening: (up) => {
          changesHeard++
          local.clear()
          listening = up
        }
      })
    }

    const stored = (answer: Option.Option<Tenant>) => Option.isSome(answer) ? TenantTokenEntry.encode(answer.value) : TenantTokenEntry.noTenantBytes
    const ttlOf = (answer: Option.Option<Tenant>) => Option.isSome(answer) ? hitTtl : missTtl

    /**
     * Reads the repository and offers the answer to the shared cache where it holds `expected`.
     * Losing that race means a change came in between: the answer is read again, and not cached.
     */
    const fromRepository = (token: string, key: string, expected: Option.Option<Uint8Array>, startedAt: number) =>
      Effect.flatMap(repository.getTenantByToken(token), (answer) =>
        Effect.clockWith((clock) => {
          if ((clock.unsafeCurrentTimeMillis() - startedAt) * 2 >= changeMs) return Effect.succeed(answer)
          return cache.compareAndSet(key, expected, stored(answer), ttlOf(answer)).pipe(
            Effect.flatMap((won) => won ? Effect.succeed(answer) : repository.getTenantByToken(token)),
            Effect.catchIf(
              (error): error is StorageError => error._tag === "StorageUnavailable" || error._tag === "StorageQueryError",
              (error) => Effect.as(Effect.logWarning("could not cache a tenant lookup", error), answer)
            )
          )
        }))

    // Concurrent lookups of one uncached token in this process read the repository once.
    const inflight = new Map<string, Deferred.Deferred<Option.Option<Tenant>, StorageError>>()
    // Keyed by what the lookups saw in the shared cache too: one that saw a newer tombstone never
    // joins a lookup that began before it.
    const shared = (id: string, lookup: Effect.Effect<Option.Option<Tenant>, StorageError>) => {
      const running = inflight.get(id)
      if (running !== undefined) return Deferred.await(running)
      return Effect.flatMap(Deferred.make<Option.Option<Tenant>, StorageError>(), (leader) => {
        inflight.set(id, leader)
        return lookup.pipe(
          Effect.onExit((exit) => Effect.sync(() => inflight.delete(id)).pipe(Effect.zipRight(Deferred.done(leader, exit))))
        )
      })
    }
    const fromUtf8 = new TextDecoder()

    const viaSharedCache = (token: string, hash: string, since: number, startedAt: number) => {
      const key = TenantTokenEntry.key(hash)
      const answered = (answer: Option.Option<Tenant>) =>
        Effect.clockWith((clock) => {
          keepLocally(hash, answer, since, clock.unsafeCurrentTimeMillis())
          return Effect.succeed(answer)
        })
      return cache.get(key).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.zipRight(Effect.logWarning("tenant cache unavailable, reading the repository", error), repository.getTenantByToken(token)),
          onSuccess: (cached) => {
            if (Option.isNone(cached)) return Effect.flatMap(shared(hash, fromRepository(token, key, Option.none(), startedAt)), answered)
            const entry = TenantTokenEntry.decode(cached.value)
            if (entry === undefined) {
              return Effect.logWarning("dropping an unreadable tenant cache entry").pipe(
                Effect.zipRight(Effect.ignore(cache.invalidate(key))),
                Effect.zipRight(repository.getTenantByToken(token))
              )
            }
            switch (entry._tag) {
              case "Found":
                return answered(Option.some(entry.tenant))
              case "NoTenant":
                return answered(Option.none())
              case "Changed":
                return Effect.flatMap(
                  shared(`${hash}${fromUtf8.decode(entry.bytes)}`, fromRepository(token, key, Option.some(entry.bytes), startedAt)),
                  answered
                )
            }
          }
        })
      )
    }

    // The hot path: a plain check of the token, the in-process level without any further effect.
    const getTenantByToken = (token: string): Effect.Effect<Option.Option<Tenant>, StorageError> => {
      if (!isNonEmptyText(token)) {
        // A lone surrogate would hash like U+FFFD and match another token: only well-formed tokens are looked up.
        return Effect.flatMap(slowToken(token), getTenantByToken)
      }
      const hash = hashApiToken(token)
      return Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        if (listening) {
          const hit = local.get(hash)
          if (hit !== undefined) {
            if (hit.expiresAt > now) return Effect.succeed(hit.answer)
            local.delete(hash)
          }
        }
        return viaSharedCache(token, hash, changesHeard, now)
      })
    }

    /** Marks tokens as changed everywhere; see {@link wrap}. Runs after the write has committed. */
    const announce = (operation: string, hashes: ReadonlyArray<string>) => {
      const unique = [...new Set(hashes)]
      return Effect.forEach(unique, (hash) => marking(cache.set(TenantTokenEntry.key(hash), TenantTokenEntry.changedBytes(), changeTtl)), {
        discard: true,
        concurrency: "unbounded"
      }).pipe(
        Effect.zipRight(changes === undefined ? Effect.void : marking(changes.publish(unique))),
        Effect.ensuring(Effect.sync(() => unique.forEach(forgetLocal))),
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
    }

    return {
      ...repository,
      getTenantByToken,
      createTenant: (tenant: NewTenant) =>
        // A lookup of this token just before may have cached "unknown".
        Effect.zipRight(repository.createTenant(tenant), Effect.suspend(() => announce("MetadataRepository.createTenant", [hashApiToken(tenant.apiToken)]))),
      // The token each change replaced comes from the repository's own write (read under its lock),
      // not from a read before it: two racing updates each tombstone exactly the token they replaced.
      updateTenant: (tenant: NewTenant) =>
        Effect.tap(repository.updateTenant(tenant), (before) =>
          announce("MetadataRepository.updateTenant", [before.apiTokenHash, hashApiToken(tenant.apiToken)])),
      deleteTenant: (id: TenantId) =>
        Effect.tap(repository.deleteTenant(id), (deleted) =>
          announce("MetadataRepository.deleteTenant", Option.toArray(Option.map(deleted, (t) => t.apiTokenHash))))
    }
  })

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  hitTtl: Config.duration().pipe(Config.withDefault(defaults.hitTtl)),
  missTtl: Config.duration().pipe(Config.withDefault(defaults.missTtl)),
  changeTtl: Config.duration().pipe(Config.withDefault(defaults.changeTtl)),
  localMaxEntries: Config.integer().pipe(
    Config.validate({ message: "must be a positive integer", validation: (n) => n >= 1 }),
    Config.withDefault(defaults.localMaxEntries)
  ),
  localTtl: Config.duration().pipe(Config.withDefault(defaults.localTtl)),
  markTimeout: Config.duration().pipe(Config.withDefault(defaults.markTimeout))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`hitTtl`, `missTtl`, …), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/**
 * The `MetadataRepository` in context wrapped with the `Cache` in context (see {@link wrap}); the
 * in-process level is on when a `TokenChanges` service is in context too (`TokenChanges.layerLocal`
 * for a cache in this process, `RedisTokenChanges` for Redis); without one, every lookup asks the
 * shared cache. The channel's subscription lives as long as the scope.
 */
export const make = (
  options: Options = {}
): Effect.Effect<MetadataRepository.MetadataRepositoryShape, never, MetadataRepository.MetadataRepository | Cache.Cache | Scope.Scope> =>
  Effect.gen(function*() {
    const changes = yield* Effect.serviceOption(TokenChanges.TokenChanges)
    return yield* wrap(yield* MetadataRepository.MetadataRepository, yield* Cache.Cache, options, Option.getOrUndefined(changes))
  })

/** Wraps the `MetadataRepository` in context with the `Cache` in context, from explicit options (see {@link make}). */
export const layer = (
  options: Options = {}
): Layer.Layer<MetadataRepository.MetadataRepository, never, MetadataRepository.MetadataRepository | Cache.Cache> =>
  Layer.scoped(MetadataRepository.MetadataRepository, make(options))

/** {@link layer} from a configuration, e.g. {@link config} or `StorageConfig.tenantCache`. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<MetadataRepository.MetadataRepository, ConfigError.ConfigError, MetadataRepository.MetadataRepository | Cache.Cache> =>
  Layer.scoped(MetadataRepository.MetadataRepository, Effect.flatMap(Config.unwrap(config), make))
