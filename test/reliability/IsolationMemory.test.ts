import * as Layer from "effect/Layer"
import { MemoryTraceRepository, SqliteClient, SqlMetadataRepository } from "../../src/index.js"
import { metadataIsolation, traceIsolation } from "./isolationSuite.js"

traceIsolation("memory", MemoryTraceRepository.layer)
metadataIsolation("SQLite :memory:", SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)))
