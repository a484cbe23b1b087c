import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as StorageConfig from "./StorageConfig.js"
import * as MemoryCache from "./memory/MemoryCache.js"
import * as MemoryTraceRepository from "./memory/MemoryTraceRepository.js"
import * as SqliteClient from "./sql/SqliteClient.js"
import * as SqlMetadataRepository from "./sql/SqlMetadataRepository.js"
import * as Storage from "./Storage.js"
import type { StorageQueryError, StorageUnavailable } from "./StorageError.js"

/**
 * The memory profile: traces and cache in plain maps, metadata in SQLite `:memory:`. Nothing
 * outlives the layer's scope; every build is a fresh, private store (tests, examples, demos).
 */
export const memory: Layer.Layer<Storage.Storage, StorageUnavailable | StorageQueryError> = Storage.layer(
  MemoryTraceRepository.layer,
  SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)),
  MemoryCache.layer
)

/** The profile named by `LLMTRACE_STORAGE_PROFILE` (default `lite`), built from the rest of the configuration. */
export const layer = Layer.unwrapEffect(
  Effect.map(StorageConfig.profile, (profile) => {
    switch (profile) {
      case "memory":
        return memory
      // Interim: the lite and production composites arrive with the ClickHouse and Redis backends.
      case "lite":
      case "production":
        return memory
    }
  })
)
