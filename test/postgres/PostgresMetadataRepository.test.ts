import { describe } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { SqlMetadataRepository } from "../../src/index.js"
import { metadataRepositoryContract } from "../contract/MetadataRepositoryContract.js"
import { postgresAvailable, scopedDatabase } from "../support/postgres.js"

// Under CI=true an unreachable server throws here: the file fails with a one-line diagnosis.
const live = await postgresAvailable()

describe.runIf(live)("live PostgreSQL", () => {
  metadataRepositoryContract("postgres", SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase)), { excludeTestServices: true })
})
