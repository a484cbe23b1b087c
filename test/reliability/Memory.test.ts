import * as Layer from "effect/Layer"
import { MemoryCache, MemoryTraceRepository, SqliteClient, SqlMetadataRepository } from "../../src/index.js"
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
concurrentStores("memory", MemoryTraceRepository.layer())
