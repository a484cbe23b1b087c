import { describe, expect, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { Cache } from "../index.js"

/** A sequence of operations on a few keys: set some bytes, or invalidate. */
const operations = FastCheck.array(
  FastCheck.record({
    key: FastCheck.nat(4),
    value: FastCheck.option(FastCheck.uint8Array({ maxLength: 64 }), { nil: undefined })
  }),
  { minLength: 1, maxLength: 20 }
)

/** Property cases of the Cache contract, run inside its layer: the cache reads back the last operation on each key. */
export const cacheProperties = (it: Vitest.MethodsNonLive<Cache.Cache, boolean>) =>
  describe("properties", () => {
    it.effect.prop("any sets and invalidations, in any order, read back as the last one on each key", [operations], ([ops]) =>
      Effect.gen(function*() {
        const cache = yield* Cache.Cache
        const run = randomUUID()
        const last = new Map<number, Uint8Array | undefined>()
        for (const { key, value } of ops) {
          const name = `prop:${run}:${key}`
          yield* value === undefined ? cache.invalidate(name) : cache.set(name, value, "10 minutes")
          last.set(key, value)
        }
        for (const [key, value] of last) {
          const read = yield* cache.get(`prop:${run}:${key}`)
          expect(Option.map(read, (b) => [...b])).toEqual(value === undefined ? Option.none() : Option.some([...value]))
        }
      }), { fastCheck: { numRuns: 25 } })
  })
