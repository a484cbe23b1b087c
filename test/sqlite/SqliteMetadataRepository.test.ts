import * as Layer from "effect/Layer"
import { SqliteClient, SqlMetadataRepository } from "../../src/index.js"
import { metadataRepositoryContract } from "../contract/MetadataRepositoryContract.js"
import { tokenMigrationSuite, tokensAtRestContract } from "../contract/TokensAtRestContract.js"

metadataRepositoryContract("sqlite :memory:", SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)))

tokensAtRestContract("sqlite :memory:", SqlMetadataRepository.layer().pipe(Layer.provideMerge(SqliteClient.memory)))

tokenMigrationSuite("sqlite :memory:", () => SqliteClient.memory)
