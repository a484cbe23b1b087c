import * as SqlClient from "@effect/sql/SqlClient"
import * as Sqlite from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StorageUnavailable } from "../StorageError.js"

/**
 * A SQLite `SqlClient` with foreign keys enforced (SQLite leaves them off per connection, and the
 * metadata schema relies on them for cascading deletes). `filename` is a path or `:memory:`.
 */
export const layer = (filename: string): Layer.Layer<SqlClient.SqlClient | Sqlite.SqliteClient, StorageUnavailable> =>
  Layer.effectDiscard(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA foreign_keys = ON`)
  ).pipe(
    Layer.provideMerge(Sqlite.layer({ filename })),
    Layer.catchAllCause((cause) =>
      Layer.fail(
        new StorageUnavailable({
          backend: "sqlite",
          operation: "SqliteClient.layer",
          message: `cannot open SQLite database ${filename}`,
          cause
        })
      )
    )
  )

/** A private in-memory database, gone when the layer's scope closes. */
export const memory = layer(":memory:")
