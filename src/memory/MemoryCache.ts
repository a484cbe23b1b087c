import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { LRUCache } from "lru-cache"
import * as Cache from "../Cache.js"
import * as ConfigFields from "../ConfigFields.js"

/** A stored value and the time (Effect `Clock`, ms) it expires at. */
interface Stored {
  readonly value: Uint8Array
  readonly expiresAt: number
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

export interface Options {
  /**
   * At most this many keys are held; storing one more evicts the least recently used (read or
   * written) key, so a flood of distinct keys cannot grow the process without limit. Default 100 000.
   */
  readonly maxEntries?: number
}

export const defaults = { maxEntries: 100_000 } as const

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  maxEntries: Config.integer().pipe(
    Config.validate({ message: "must be a positive integer", validation: (n) => n >= 1 }),
    Config.withDefault(defaults.maxEntries)
  )
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`maxEntries`), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** The number of keys a memory cache holds, expired ones not yet swept included (for tests and metrics). */
export interface Sized {
  readonly size: () => number
}

/**
 * An in-process TTL map, bounded by `maxEntries` with least-recently-used eviction (`lru-cache`: a
 * read or a write makes a key the most recently used). Expiry is kept beside each value and read from
 * Effect's `Clock` rather than `lru-cache`'s own TTL (which reads `performance.now()`), so
 * `TestClock` drives it in tests. Values are copied in and out: a caller mutating its buffer never
 * changes what is cached.
 */
export const make = (options: Options = {}): Effect.Effect<Cache.CacheShape & Sized> =>
  Effect.sync(() => {
    const maxEntries = options.maxEntries ?? defaults.maxEntries
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error("MemoryCache maxEntries must be a positive integer")
    const entries = new LRUCache<string, Stored>({ max: maxEntries })

    const live = (key: string, now: number): Stored | undefined => {
      const stored = entries.get(key)
      if (stored === undefined || stored.expiresAt > now) return stored
      entries.delete(key)
      return undefined
    }
    const store = (key: string, value: Uint8Array, ttl: Duration.Duration, now: number) =>
      void entries.set(key, { value: value.slice(), expiresAt: now + Duration.toMillis(ttl) })

    const cache = Cache.make("memory", {
      get: (key) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const stored = live(key, now)
          return stored === undefined ? Option.none() : Option.some(stored.value.slice())
        }),
      set: (key, value, ttl) => Effect.map(Clock.currentTimeMillis, (now) => store(key, value, ttl, now)),
      compareAndSet: (key, expected, value, ttl) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const held = live(key, now)
          const matches = Option.isNone(expected) ? held === undefined : held !== undefined && sameBytes(held.value, expected.value)
          if (matches) store(key, value, ttl, now)
          return matches
        }),
      invalidate: (key) => Effect.sync(() => void entries.delete(key)),
      healthCheck: () => Effect.void
    }, { backendBoundsCalls: true }) // no I/O: nothing to time out
    return { ...cache, size: () => entries.size }
  })

/** A fresh, private cache. */
export const layer = (options: Options = {}): Layer.Layer<Cache.Cache> => Layer.effect(Cache.Cache, make(options))

export const layerConfig = (config: Config.Config.Wrap<Options>): Layer.Layer<Cache.Cache, ConfigError.ConfigError> =>
  Layer.effect(Cache.Cache, Effect.flatMap(Config.unwrap(config), make))
