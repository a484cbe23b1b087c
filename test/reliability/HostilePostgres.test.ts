import * as Layer from "effect/Layer"
import { SqlMetadataRepository } from "../../src/index.js"
import { describeLive } from "../support/live.js"
import { livePostgres, scopedDatabase } from "../support/postgres.js"
import { hostileMetadata } from "./hostileSuite.js"

describeLive(await livePostgres(), () => {
  hostileMetadata("PostgreSQL", SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase)))
})
