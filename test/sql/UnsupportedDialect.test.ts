import * as Reactivity from "@effect/experimental/Reactivity"
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StorageMigrations } from "../../src/index.js"
import { SqlMetadataRepository } from "../../src/sqlite/index.js"

/**
 * A client of another dialect that dies if any statement reaches it: the dialect must be refused
 * before the repository or the migrations send SQL written for PostgreSQL or SQLite.
 */
const clientOf = (dialect: Statement.Dialect) =>
  Layer.effect(
    SqlClient.SqlClient,
    SqlClient.make({
      acquirer: Effect.dieMessage(`a statement reached the ${dialect} client`),
      compiler: Statement.makeCompiler({
        dialect,
        placeholder: () => "?",
        onIdentifier: (value) => `\`${value}\``,
        onRecordUpdate: () => ["", []],
        onCustom: () => ["", []]
      }),
      spanAttributes: []
    })
  ).pipe(Layer.provide(Reactivity.layer))

describe("a SQL client of a dialect we do not support", () => {
  for (const dialect of ["mysql", "mssql", "clickhouse"] as const) {
    it.effect(`${dialect}: building the repository fails naming the dialect, with or without auto-migration, and so do its migrations`, () =>
      Effect.gen(function*() {
        for (const autoMigrate of [true, false]) {
          const error = yield* Layer.build(SqlMetadataRepository.layer({ autoMigrate })).pipe(Effect.scoped, Effect.flip)
          expect(error._tag).toBe("StorageUnavailable")
          expect(error.message).toContain(`dialect ${dialect} is not supported`)
        }
        const repository = yield* Effect.flip(SqlMetadataRepository.make())
        expect(repository.message).toContain(`dialect ${dialect} is not supported`)
        const migrations = yield* Effect.flip(StorageMigrations.sql)
        expect(migrations.message).toContain(`dialect ${dialect} is not supported`)
      }).pipe(Effect.provide(clientOf(dialect))))
  }
})
