import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ConfigFields from "../ConfigFields.js"
import * as Cache from "../Cache.js"

interface Entry {
  readonly value: Uint8Array
  readonly expiresAt: number
}

/** None yet; the cache still composes like every adapter. */
export type Options = ConfigFields.None
export const fields = ConfigFields.none
export const config: Config.Config<Options> = ConfigFields.nothing

/**
 * An in-process TTL map. Expiry is read from Effect's `Clock`, so `TestClock` drives it in tests.
 * Values are copied in and out: a caller mutating its buffer never changes what is cached.
 */
export const make = (_options: Options = {}): Effect.Effect<Cache.CacheShape> => Effect.sync(() => {
  const entries = new Map<string, Entry>()
  let sweepAt = 1024

  const sweep = (now: number) => {
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key)
    sweepAt = Math.max(1024, entries.size * 2)
  }

  return Cache.make("memory", {
    get: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = entries.get(key)
        if (entry === undefined) return Option.none()
        if (entry.expiresAt <= now) {
          entries.delete(key)
          return Option.none()
        }
        return Option.some(entry.value.slice())
      }),
    set: (key, value, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entries.set(key, { value: value.slice(), expiresAt: now + Duration.toMillis(ttl) })
        if (entries.size >= sweepAt) sweep(now)
      }),
    invalidate: (key) => Effect.sync(() => void entries.delete(key)),
    healthCheck: () => Effect.void
  }, { backendBoundsCalls: true }) // no I/O: nothing to time out
})

/** A fresh, private cache. */
export const layer = (options: Options = {}): Layer.Layer<Cache.Cache> => Layer.effect(Cache.Cache, make(options))

export const layerConfig = (config: Config.Config.Wrap<Options>): Layer.Layer<Cache.Cache, ConfigError.ConfigError> =>
  Layer.effect(Cache.Cache, Effect.flatMap(Config.unwrap(config), make))
