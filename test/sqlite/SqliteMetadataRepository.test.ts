import * as Layer from "effect/Layer"
import { SqliteClient, SqlMetadataRepository } from "../../src/index.js"
import { metadataRepositoryContract } from "../../src/testing/MetadataRepositoryContract.js"

metadataRepositoryContract("sqlite :memory:", SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)))
