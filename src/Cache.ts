import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { isNonEmptyText, NonEmptyText } from "./domain/Primitives.js"
import * as ServiceBoundary from "./ServiceBoundary.js"
import { type Backend, InvalidInput, type StorageError, validate } from "./StorageError.js"

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
   * key in this process run `compute` once and share its result. The cache is optional here: a
   * cache that fails or times out is bypassed (the value is computed and returned; while it fails,
   * nothing is written to it) and logged once per outage, a warning when it starts failing and a
   * line when it answers again; a failing write after `compute` does not fail the call. Only
   * `InvalidInput` (an empty key, a bad TTL) and `compute`'s own failure fail it.
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

/** What `CacheKey` accepts, recognised without running the schema. */
const isKey = isNonEmptyText

/** A TTL as a Duration of at least 1 ms, or undefined. */
const ttlOf = (input: Duration.DurationInput): Duration.Duration | undefined => {
  const ttl = Duration.decodeUnknown(input)
  return Option.isSome(ttl) && Duration.isFinite(ttl.value) && Duration.toMillis(ttl.value) >= 1 ? ttl.value : undefined
}

export const make = (backend: Backend, impl: CacheBackend, options: MakeOptions = {}): CacheShape => {
  const boundary = ServiceBoundary.make({
    backend,
    service: "Cache",
    timeout: options.backendBoundsCalls === true ? undefined : Duration.decode(options.timeout ?? "5 seconds")
  })
  const keyCheck = (method: keyof CacheShape) => ServiceBoundary.check(CacheKey, backend, boundary.name(method), isKey)
  const slowKey = validate(CacheKey, backend, "Cache.set")
  const slowBytes = validate(Bytes, backend, "Cache.set")
  // The key is reported first, then the value, then the TTL.
  const entryCheck: ServiceBoundary.Check<readonly [string, Uint8Array, Duration.DurationInput]> = {
    guard: (input) => {
      const [key, value] = input as readonly [unknown, unknown, unknown]
      return isKey(key) && value instanceof Uint8Array
    },
    slow: (input) => Effect.as(Effect.zipRight(slowKey(input[0]), slowBytes(input[1])), input)
  }

  const get = boundary.operation("get", keyCheck("get"), impl.get)
  const setEntry = boundary.operation("set", entryCheck, ([key, value, ttl]: readonly [string, Uint8Array, Duration.DurationInput]) => {
    const duration = ttlOf(ttl)
    return duration === undefined
      ? Effect.fail(new InvalidInput({ backend, operation: "Cache.set", path: ["ttl"], message: "ttl must be a finite duration of at least 1 millisecond" }))
      : impl.set(key, value, duration)
  })
  const set = (key: string, value: Uint8Array, ttl: Duration.DurationInput) => setEntry([key, value, ttl])
  const invalidate = boundary.operation("invalidate", keyCheck("invalidate"), impl.invalidate)
  const healthCheck = boundary.operation("healthCheck", undefined, impl.healthCheck)
  const casKey = validate(CacheKey, backend, "Cache.compareAndSet")
  // As before: the expected bytes are reported first, then the key, then the value, then the TTL.
  const casCheck: ServiceBoundary.Check<readonly [string, Option.Option<Uint8Array>, Uint8Array, Duration.DurationInput]> = {
    guard: (input) => {
      const [key, expected, value] = input as readonly [unknown, Option.Option<unknown>, unknown, unknown]
      return isKey(key) && value instanceof Uint8Array && Option.isOption(expected) && (Option.isNone(expected) || expected.value instanceof Uint8Array)
    },
    slow: (input) =>
      Effect.as(
        Effect.zipRight(
          Option.isSome(input[1]) ? slowBytes(input[1].value) : Effect.void,
          Effect.zipRight(casKey(input[0]), slowBytes(input[2]))
        ),
        input
      )
  }
  const compareAndSetEntry = boundary.operation(
    "compareAndSet",
    casCheck,
    ([key, expected, value, ttl]: readonly [string, Option.Option<Uint8Array>, Uint8Array, Duration.DurationInput]) => {
      const duration = ttlOf(ttl)
      return duration === undefined
        ? Effect.fail(new InvalidInput({ backend, operation: "Cache.compareAndSet", path: ["ttl"], message: "ttl must be a finite duration of at least 1 millisecond" }))
        : impl.compareAndSet(key, expected, value, duration)
    }
  )
  const compareAndSet = (key: string, expected: Option.Option<Uint8Array>, value: Uint8Array, ttl: Duration.DurationInput) =>
    compareAndSetEntry([key, expected, value, ttl])

  // Whether getOrSet found the cache failing, in one value: `healthy` → `failing` (a warning) →
  // `healthy` (a line saying so): one log line per outage, not one per call.
  const health = { state: "healthy" as "healthy" | "failing" }
  const failed = (method: string, error: StorageError) =>
    Effect.suspend(() => {
      if (health.state === "failing") return Effect.void
      health.state = "failing"
      return Effect.logWarning(
        `Cache (${backend}) is failing: getOrSet computes values without it until it answers again (${method}: ${error._tag}: ${error.message})`
      )
    })
  const answered = Effect.suspend(() => {
    if (health.state === "healthy") return Effect.void
    health.state = "healthy"
    return Effect.logInfo(`Cache (${backend}) answers again: getOrSet uses it again`)
  })
  /** A cache call whose failure, other than bad input, is logged (once per outage) and replaced by `fallback`. */
  const optional = <A>(method: string, self: Effect.Effect<A, StorageError>, fallback: A): Effect.Effect<A, InvalidInput> =>
    Effect.matchEffect(self, {
      onFailure: (error) => (error._tag === "InvalidInput" ? Effect.fail(error) : Effect.as(failed(method, error), fallback)),
      onSuccess: (value) => Effect.as(answered, value)
    })

  const inflight = new Map<string, Deferred.Deferred<Uint8Array, unknown>>()
  const getOrSet = <E, R>(
    key: string,
    ttl: Duration.DurationInput,
    compute: Effect.Effect<Uint8Array, E, R>
  ): Effect.Effect<Uint8Array, E | StorageError, R> =>
    boundary.traced(
      "getOrSet",
      Effect.gen(function*() {
        // A bad TTL is the caller's error even while the cache fails (its write is skipped then).
        if (ttlOf(ttl) === undefined) {
          return yield* new InvalidInput({ backend, operation: "Cache.getOrSet", path: ["ttl"], message: "ttl must be a finite duration of at least 1 millisecond" })
        }
        const cached = yield* optional("get", get(key), Option.none())
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
          // While the cache fails, the value is not written to it (a frozen server would cost a timeout more).
          Effect.tap((value) => (health.state === "failing" ? Effect.void : optional("set", set(key, value, ttl), undefined))),
          Effect.onExit((exit) => Effect.sync(() => inflight.delete(key)).pipe(Effect.zipRight(Deferred.done(leader, exit))))
        )
      })
    )

  return { get, set, compareAndSet, invalidate, healthCheck: () => healthCheck(undefined), getOrSet }
}
