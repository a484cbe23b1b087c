import * as Layer from "effect/Layer"
import { SqliteClient, SqlMetadataRepository } from "../../src/sqlite/index.js"
import { metadataRepositoryContract } from "../../src/testing/MetadataRepositoryContract.js"
import { metadataRepositoryTracing } from "../contract/TracingContract.js"
import { tokenMigrationSuite, tokensAtRestContract } from "../contract/TokensAtRestContract.js"

metadataRepositoryContract("sqlite :memory:", SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)))
metadataRepositoryTracing("sqlite :memory:", "sqlite", SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)))

tokensAtRestContract("sqlite :memory:", SqlMetadataRepository.layer().pipe(Layer.provideMerge(SqliteClient.memory)))

tokenMigrationSuite("sqlite :memory:", () => SqliteClient.memory)
