import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Sqlite from "@effect/sql-sqlite-node/SqliteClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as ConfigFields from "../internal/ConfigFields.js"
import { StorageUnavailable } from "../StorageError.js"

export interface Options {
  /** A file path, or `:memory:` for a private database gone when the scope closes. Default `:memory:`. */
  readonly filename?: string
}

/**
 * The driver (better-sqlite3, through its Effect client), loaded when a client is made: importing
 * this module, or the package's entries, loads no driver (test/packaging/EntryDrivers.test.ts).
 */
const loadDriver = Effect.promise(() => import("@effect/sql-sqlite-node/SqliteClient"))

/**
 * A SQLite client in the current scope, with foreign keys enforced (SQLite leaves them off per
 * connection, and the metadata schema relies on them for cascading deletes).
 */
export const make = (options: Options = {}): Effect.Effect<Sqlite.SqliteClient, StorageUnavailable, Scope.Scope> => {
  const filename = options.filename ?? ":memory:"
  return loadDriver.pipe(
    Effect.flatMap((Sqlite) => Sqlite.make({ filename })),
    Effect.tap((sql) => sql`PRAGMA foreign_keys = ON`),
    Effect.provide(Reactivity.layer),
    Effect.catchAllCause((cause) =>
      Effect.fail(new StorageUnavailable({ backend: "sqlite", operation: "SqliteClient.make", message: `cannot open SQLite database ${filename}`, cause }))
    )
  )
}

/** Each option as an unnamed `Config`, with its default (see `ConfigFields`). */
export const fields = {
  filename: Config.string().pipe(Config.withDefault(":memory:"))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`filename`), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** A SQLite `SqlClient` from explicit options; reads no configuration. */
export const layer = (options: Options = {}): Layer.Layer<SqlClient.SqlClient | Sqlite.SqliteClient, StorageUnavailable> =>
  Layer.scopedContext(
    Effect.zipWith(make(options), loadDriver, (client, Sqlite) => Context.make(Sqlite.SqliteClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  )

/** A SQLite `SqlClient` from a configuration, e.g. {@link config}. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<SqlClient.SqlClient | Sqlite.SqliteClient, StorageUnavailable | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

/** A private in-memory database, gone when the layer's scope closes. */
export const memory = layer({ filename: ":memory:" })
