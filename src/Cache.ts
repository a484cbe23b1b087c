import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { NonEmptyText } from "./domain/Primitives.js"
import { type Backend, InvalidInput, type StorageError, validate } from "./StorageError.js"
import { withTimeout } from "./Timeout.js"

/** Bytes under a key, with a time to live. Keys are namespaced by the backend's configured prefix. */
export interface CacheShape {
  readonly get: (key: string) => Effect.Effect<Option.Option<Uint8Array>, StorageError>
  readonly set: (key: string, value: Uint8Array, ttl: Duration.DurationInput) => Effect.Effect<void, StorageError>
  /**
   * Stores `value` only if the key holds `expected` now: nothing (`Option.none()`, Redis `SET … NX`)
   * or exactly these bytes. True if it was stored. Atomic: a value another caller wrote in between
   * is never overwritten.
   */
  readonly compareAndSet: (
    key: string,
    expected: Option.Option<Uint8Array>,
    value: Uint8Array,
    ttl: Duration.DurationInput
  ) => Effect.Effect<boolean, StorageError>
  /** Removes a key; a missing key is a no-op. */
  readonly invalidate: (key: string) => Effect.Effect<void, StorageError>
  readonly healthCheck: () => Effect.Effect<void, StorageError>
  /**
   * Cache-aside: the cached value, or `compute`'s result stored with `ttl`. Concurrent misses of one
   * key in this process run `compute` once and share its result.
   */
  readonly getOrSet: <E, R>(
    key: string,
    ttl: Duration.DurationInput,
    compute: Effect.Effect<Uint8Array, E, R>
  ) => Effect.Effect<Uint8Array, E | StorageError, R>
}

export class Cache extends Context.Tag("llmtrace-storage/Cache")<Cache, CacheShape>() {}

/** What a backend implements; {@link make} adds validation, tracing, timeouts and `getOrSet`. */
export type CacheBackend = Omit<CacheShape, "getOrSet" | "set" | "compareAndSet"> & {
  readonly set: (key: string, value: Uint8Array, ttl: Duration.Duration) => Effect.Effect<void, StorageError>
  readonly compareAndSet: (
    key: string,
    expected: Option.Option<Uint8Array>,
    value: Uint8Array,
    ttl: Duration.Duration
  ) => Effect.Effect<boolean, StorageError>
}

export interface MakeOptions {
  /** Upper bound of every call; default 5 seconds. */
  readonly timeout?: Duration.DurationInput
  /**
   * The backend itself fails every call with `StorageUnavailable` within `timeout` (a driver-level
   * command timeout, as on Redis), so `make` adds no timer of its own: an Effect timer per call
   * forks two fibers, which on a hot cache costs more than the network round trip. Default false.
   */
  readonly backendBoundsCalls?: boolean
}

const CacheKey = NonEmptyText.annotations({ identifier: "CacheKey" })
const Bytes = Schema.Uint8ArrayFromSelf

export const make = (backend: Backend, impl: CacheBackend, options: MakeOptions = {}): CacheShape => {
  const timeout = Duration.decode(options.timeout ?? "5 seconds")
  const bounded = (method: keyof CacheShape) => <A>(self: Effect.Effect<A, StorageError>) =>
    options.backendBoundsCalls === true ? self : withTimeout(self, { backend, operation: `Cache.${method}`, timeout })
  // No call-site stack per span: capturing it costs more than a cache hit takes.
  const span = { attributes: { "storage.backend": backend }, captureStackTrace: false }
  // The schema reports a bad key; a good one (the hot path) is recognised without running it.
  const keyFor = (method: keyof CacheShape) => {
    const slow = validate(CacheKey, backend, `Cache.${method}`)
    return (key: string): Effect.Effect<string, InvalidInput> =>
      typeof key === "string" && key.length > 0 && key.isWellFormed() ? Effect.succeed(key) : slow(key)
  }
  const getKey = keyFor("get")
  const setKey = keyFor("set")
  const dropKey = keyFor("invalidate")
  const slowBytes = validate(Bytes, backend, "Cache.set")
  const bytes = (value: Uint8Array): Effect.Effect<Uint8Array, InvalidInput> =>
    value instanceof Uint8Array ? Effect.succeed(value) : slowBytes(value)
  const ttlOf = (input: Duration.DurationInput, operation: string) =>
    Effect.suspend(() => {
      const ttl = Duration.decodeUnknown(input)
      return Option.isSome(ttl) && Duration.isFinite(ttl.value) && Duration.toMillis(ttl.value) >= 1
        ? Effect.succeed(ttl.value)
        : Effect.fail(new InvalidInput({ backend, operation, path: ["ttl"], message: "ttl must be a finite duration of at least 1 millisecond" }))
    })

  const get = Effect.fn("Cache.get", span)(function*(key: string) {
    return yield* impl.get(yield* getKey(key))
  }, bounded("get"))
  const set = Effect.fn("Cache.set", span)(function*(key: string, value: Uint8Array, ttl: Duration.DurationInput) {
    yield* impl.set(yield* setKey(key), yield* bytes(value), yield* ttlOf(ttl, "Cache.set"))
  }, bounded("set"))
  const casKey = keyFor("compareAndSet")
  const compareAndSet = Effect.fn("Cache.compareAndSet", span)(
    function*(key: string, expected: Option.Option<Uint8Array>, value: Uint8Array, ttl: Duration.DurationInput) {
      const was = Option.isSome(expected) ? Option.some(yield* bytes(expected.value)) : Option.none()
      return yield* impl.compareAndSet(yield* casKey(key), was, yield* bytes(value), yield* ttlOf(ttl, "Cache.compareAndSet"))
    },
    bounded("compareAndSet")
  )

  const inflight = new Map<string, Deferred.Deferred<Uint8Array, unknown>>()
  const getOrSet = <E, R>(
    key: string,
    ttl: Duration.DurationInput,
    compute: Effect.Effect<Uint8Array, E, R>
  ): Effect.Effect<Uint8Array, E | StorageError, R> =>
    Effect.gen(function*() {
      const cached = yield* get(key)
      if (Option.isSome(cached)) return cached.value
      const running = inflight.get(key)
      if (running !== undefined) {
        // The leader ran the same key's computation; its failure is ours. A leader that was
        // interrupted leaves its waiters to try again rather than inherit the interruption.
        return yield* (Deferred.await(running) as Effect.Effect<Uint8Array, E | StorageError>).pipe(
          Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? getOrSet(key, ttl, compute) : Effect.failCause(cause))
        )
      }
      const leader = yield* Deferred.make<Uint8Array, unknown>()
      inflight.set(key, leader)
      return yield* compute.pipe(
        Effect.tap((value) => set(key, value, ttl)),
        Effect.onExit((exit) => Effect.sync(() => inflight.delete(key)).pipe(Effect.zipRight(Deferred.done(leader, exit))))
      )
    }).pipe(Effect.withSpan("Cache.getOrSet", span))

  return {
    get,
    set,
    compareAndSet,
    invalidate: Effect.fn("Cache.invalidate", span)(function*(key: string) {
      yield* impl.invalidate(yield* dropKey(key))
    }, bounded("invalidate")),
    healthCheck: Effect.fn("Cache.healthCheck", span)(function*() {
      yield* impl.healthCheck()
    }, bounded("healthCheck")),
    getOrSet
  }
}
