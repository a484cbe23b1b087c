import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { MemoryCache } from "../../src/memory/index.js"
import { cacheContract, failingBackend } from "../../src/testing/CacheContract.js"
import { cacheTracing } from "../contract/TracingContract.js"

// A failing memory cache: the memory cache's own calls behind a backend that fails them on demand.
cacheContract("memory", MemoryCache.layer(), {
  clock: "test-clock",
  outage: Effect.map(MemoryCache.make(), (inner) => failingBackend("memory", inner))
})
cacheTracing("memory", "memory", MemoryCache.layer())

describe("MemoryCache bound", () => {
  it.effect("a flood of distinct keys stays within maxEntries, evicting the least recently used", () =>
    Effect.gen(function*() {
      const cache = yield* MemoryCache.make({ maxEntries: 100 })
      const value = new Uint8Array([1])
      yield* cache.set("kept", value, "1 hour")
      for (let i = 0; i < 10_000; i++) {
        yield* cache.set(`flood:${i}`, value, "1 hour")
        // Reading a key makes it the most recently used: it outlives the flood.
        if (i % 50 === 0) expect(Option.isSome(yield* cache.get("kept"))).toBe(true)
        expect(cache.size()).toBeLessThanOrEqual(100)
      }
      expect(cache.size()).toBe(100)
      expect(Option.isSome(yield* cache.get("kept"))).toBe(true)
      expect(Option.isSome(yield* cache.get("flood:9999"))).toBe(true)
      expect(Option.isNone(yield* cache.get("flood:0"))).toBe(true)
      expect(Option.isNone(yield* cache.get("flood:9800"))).toBe(true)
    }))

  it.effect("compareAndSet counts against the bound too", () =>
    Effect.gen(function*() {
      const cache = yield* MemoryCache.make({ maxEntries: 10 })
      for (let i = 0; i < 1000; i++) yield* cache.compareAndSet(`cas:${i}`, Option.none(), new Uint8Array([1]), "1 hour")
      expect(cache.size()).toBe(10)
    }))
})
