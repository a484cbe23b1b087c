import * as Layer from "effect/Layer"
import { MemoryCache, MemoryTraceRepository, SqliteClient, SqlMetadataRepository } from "../../src/index.js"
import { hostileCache, hostileMetadata, hostileTraces } from "./hostileSuite.js"

// The in-process backends: traces and cache in maps, metadata in SQLite (the memory profile's engine).
hostileTraces("memory", MemoryTraceRepository.layer)
hostileCache("memory", MemoryCache.layer)
hostileMetadata("SQLite :memory:", SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)))
