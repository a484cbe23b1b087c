import * as Layer from "effect/Layer"
import { SqlMetadataRepository } from "../../src/sqlite/index.js"
import { metadataRepositoryContract } from "../../src/testing/MetadataRepositoryContract.js"
import { metadataRepositoryTracing } from "../contract/TracingContract.js"
import { tokenMigrationSuite, tokensAtRestContract } from "../contract/TokensAtRestContract.js"
import { describeLive } from "../support/live.js"
import { livePostgres, scopedDatabase } from "../support/postgres.js"

describeLive(await livePostgres(), () => {
  metadataRepositoryContract("postgres", SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase)), { excludeTestServices: true })
  metadataRepositoryTracing("postgres", "postgres", SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase)), { excludeTestServices: true })
  tokensAtRestContract("postgres", SqlMetadataRepository.layer().pipe(Layer.provideMerge(scopedDatabase)), { excludeTestServices: true })
  tokenMigrationSuite("postgres", () => scopedDatabase)
})
