import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cache from "./Cache.js"
import * as MetadataRepository from "./MetadataRepository.js"
import type { StorageError } from "./StorageError.js"
import * as TraceRepository from "./TraceRepository.js"

/** The three services every profile provides. */
export type Storage = TraceRepository.TraceRepository | MetadataRepository.MetadataRepository | Cache.Cache

/** Composes a traces, a metadata and a cache layer into one. */
export const layer = <E1, R1, E2, R2, E3, R3>(
  traces: Layer.Layer<TraceRepository.TraceRepository, E1, R1>,
  metadata: Layer.Layer<MetadataRepository.MetadataRepository, E2, R2>,
  cache: Layer.Layer<Cache.Cache, E3, R3>
): Layer.Layer<Storage, E1 | E2 | E3, R1 | R2 | R3> => Layer.mergeAll(traces, metadata, cache)

export interface BackendHealth {
  readonly service: "traces" | "metadata" | "cache"
  readonly healthy: boolean
  readonly latencyMs: number
  readonly error?: StorageError
}

const probe = (service: BackendHealth["service"], check: Effect.Effect<void, StorageError>) =>
  check.pipe(
    Effect.timed,
    Effect.map(([elapsed]): BackendHealth => ({ service, healthy: true, latencyMs: Duration.toMillis(elapsed) })),
    Effect.catchAll((error) => Effect.succeed<BackendHealth>({ service, healthy: false, latencyMs: 0, error }))
  )

/** Checks the three services concurrently and reports each by name; never fails. */
export const healthCheck: Effect.Effect<ReadonlyArray<BackendHealth>, never, Storage> = Effect.gen(function*() {
  const traces = yield* TraceRepository.TraceRepository
  const metadata = yield* MetadataRepository.MetadataRepository
  const cache = yield* Cache.Cache
  return yield* Effect.all(
    [probe("traces", traces.healthCheck()), probe("metadata", metadata.healthCheck()), probe("cache", cache.healthCheck())],
    { concurrency: "unbounded" }
  )
}).pipe(Effect.withSpan("Storage.healthCheck"))
