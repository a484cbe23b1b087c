import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TraceRepository } from "../../src/index.js"
import { SqliteClient, SqlMetadataRepository } from "../../src/sqlite/index.js"
import { MemoryCache, MemoryTraceRepository } from "../../src/memory/index.js"
import { hostileCache, hostileMetadata, hostileTraces } from "./hostileSuite.js"
import { metadataIsolation, traceIsolation } from "./isolationSuite.js"
import { concurrentStores } from "./loadSuite.js"

// The in-process backends: traces and cache in maps, metadata in SQLite (the memory profile's engine).
const sqlite = SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory))

hostileTraces("memory", MemoryTraceRepository.layer())
hostileCache("memory", MemoryCache.layer())
hostileMetadata("SQLite :memory:", sqlite)
traceIsolation("memory", MemoryTraceRepository.layer())
metadataIsolation("SQLite :memory:", sqlite)
/**
 * The memory repository answers synchronously, so concurrent calls to it would simply run one after
 * another. This one yields before and after each store, so calls interleave as they do on a real
 * backend; it counts how many were in flight at once, which the load test checks.
 */
let inFlight = 0
let maxInFlight = 0
const yielding = Layer.effect(
  TraceRepository.TraceRepository,
  Effect.map(TraceRepository.TraceRepository, (repo) => {
    const interleaved = <A, E>(self: Effect.Effect<A, E>) =>
      Effect.yieldNow().pipe(
        Effect.zipRight(Effect.sync(() => void (maxInFlight = Math.max(maxInFlight, ++inFlight)))),
        Effect.zipRight(self),
        Effect.zipLeft(Effect.yieldNow()),
        Effect.ensuring(Effect.sync(() => void inFlight--))
      )
    return { ...repo, storeTrace: (t) => interleaved(repo.storeTrace(t)), storeSpan: (s) => interleaved(repo.storeSpan(s)) }
  })
).pipe(Layer.provide(MemoryTraceRepository.layer()))
concurrentStores("memory, yielding between calls", yielding, () => maxInFlight)
