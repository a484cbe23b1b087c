import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as path from "node:path"
import { SqliteClient } from "../../src/sqlite/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { migrationsContract, sqlTarget } from "../contract/MigrationsContract.js"

/** A new database file each time it is built (what the lite profile opens), deleted afterwards. */
const freshFile = Layer.unwrapScoped(
  Effect.map(
    TestStorage.temporaryDirectory("llmtrace-sqlite-migrations-"),
    (dir) => SqliteClient.layer({ filename: path.join(dir, "metadata.db") })
  )
)

migrationsContract("sqlite file", sqlTarget(freshFile), "sqlite")
migrationsContract("sqlite :memory:", sqlTarget(SqliteClient.memory), "sqlite")
