import * as Layer from "effect/Layer"
import { SqlMetadataRepository } from "../../src/index.js"
import { describeLive } from "../support/live.js"
import { livePostgres, scopedDatabase } from "../support/postgres.js"
import { metadataIsolation } from "./isolationSuite.js"

describeLive(await livePostgres(), () => {
  metadataIsolation("PostgreSQL", SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase)))
})
