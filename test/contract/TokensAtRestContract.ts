import { describe, expect, it, layer } from "@effect/vitest"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { apiTokenPrefix, hashApiToken, MetadataRepository, NewTenant, storedTenant } from "../../src/index.js"
import { SqlMetadataRepository } from "../../src/sqlite/index.js"
import * as SqlMigrations from "../../src/internal/sql/Migrations.js"
import * as Dialect from "../../src/internal/sql/Dialect.js"

/** Every table of the schema. */
const tableNames = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () => sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`,
    orElse: () => sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
  })
).pipe(Effect.map((rows) => rows.map((r) => r.name)))

/**
 * Every text a database holds, as `table.column` and its value read back (JSON columns as their text,
 * so a token inside a JSON value is found too).
 */
const allText = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const found: Array<readonly [string, string]> = []
  for (const table of yield* tableNames) {
    for (const row of yield* sql.unsafe<Record<string, unknown>>(`SELECT * FROM ${table}`)) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue
        found.push([`${table}.${column}`, typeof value === "string" ? value : value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : JSON.stringify(value)])
      }
    }
  }
  return found
})

/** The `table.column`s whose text contains `needle`. */
const holding = (needle: string) => Effect.map(allText, (texts) => texts.filter(([, text]) => text.includes(needle)).map(([where]) => where))

const emoji = "🔑🦊👩🏽‍💻"

/** Tokens at rest on a SQL database: hashed, never stored, any length. The layer must hold the repository and its `SqlClient`. */
export const tokensAtRestContract = <E>(
  name: string,
  repository: Layer.Layer<MetadataRepository.MetadataRepository | SqlClient.SqlClient, E>,
  options: { readonly excludeTestServices?: boolean } = {}
) =>
  layer(repository, { timeout: "120 seconds", excludeTestServices: options.excludeTestServices ?? false })(`API tokens at rest: ${name}`, (it) => {
    const Repo = MetadataRepository.MetadataRepository

    it.effect("a token of any length round-trips: 1 character, 10 kB, 100 kB, emoji", () =>
      Effect.gen(function*() {
        const repo = yield* Repo
        for (const token of ["x", `${randomUUID()}-${"a".repeat(10 * 1024)}`, `${randomUUID()}-${"é".repeat(50 * 1024)}`, emoji, `${emoji}-${randomUUID()}`]) {
          const t = NewTenant.make({ name: "any length", apiToken: token, plan: "free" })
          yield* repo.createTenant(t)
          const read = Option.getOrThrow(yield* repo.getTenantByToken(token))
          expect(read).toEqual(storedTenant(t))
          expect(read.apiTokenHash).toBe(hashApiToken(token))
          expect(read.apiTokenPrefix).toBe(apiTokenPrefix(token))
          expect(Option.isNone(yield* repo.getTenantByToken(`${token}!`))).toBe(true)
          // Free the token again: the database outlives this test on some engines.
          yield* repo.deleteTenant(t.id)
        }
      }))

    it.effect("two tenants cannot share a token, however long (StorageConflict)", () =>
      Effect.gen(function*() {
        const repo = yield* Repo
        const token = `${randomUUID()}-${"z".repeat(100 * 1024)}`
        const a = NewTenant.make({ name: "a", apiToken: token, plan: "free" })
        yield* repo.createTenant(a)
        const error = yield* Effect.flip(repo.createTenant(NewTenant.make({ name: "b", apiToken: token, plan: "free" })))
        expect(error._tag).toBe("StorageConflict")
        expect(Option.getOrThrow(yield* repo.getTenantByToken(token)).id).toBe(a.id)
      }))

    it.effect("no column of any table holds the token text; the read model has its prefix", () =>
      Effect.gen(function*() {
        const repo = yield* Repo
        const token = `secret-${randomUUID()}`
        const t = NewTenant.make({ name: "at rest", apiToken: token, plan: "free" })
        yield* repo.createTenant(t)
        const rotated = `secret-${randomUUID()}`
        yield* repo.updateTenant({ ...t, apiToken: rotated })
        expect(yield* holding(token)).toEqual([])
        expect(yield* holding(rotated)).toEqual([])
        // The scan can see: the hash is where it should be.
        expect(yield* holding(hashApiToken(rotated))).toEqual(["tenants.api_token_hash"])
        const listed = (yield* repo.listTenants()).find((x) => x.id === t.id)
        expect(listed?.apiTokenPrefix).toBe(rotated.slice(0, 8))
        expect(JSON.stringify(listed)).not.toContain(rotated)
      }))
  })

/** The schema as migration 0001 left it, before tokens were hashed. */
const migrateTo0001 = Migrator.make({})({
  loader: Migrator.fromRecord({ "0001_metadata": SqlMigrations.migrations["0001_metadata"] }),
  table: SqlMigrations.table
})

/** Tokens as the 0001 schema held them (plain text), including what only escaping kept on PostgreSQL (NUL). */
const plaintextTokens = () => ["p", `plain-${randomUUID()}`, `${emoji}-${randomUUID()}`, `nul\u0000-${randomUUID()}`, `${"k".repeat(2000)}-${randomUUID()}`]

/**
 * Migration 0002 on a database holding plaintext tokens from the 0001 schema: converted in place,
 * also after a run that stopped part way. `fresh` is an empty database per test.
 */
export const tokenMigrationSuite = <E>(name: string, fresh: () => Layer.Layer<SqlClient.SqlClient, E>) =>
  describe(`migration 0002 (tokens hashed in place): ${name}`, () => {
    const scenario = (partial: boolean) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const d = yield* Dialect.make(sql)
        yield* migrateTo0001
        const tokens = plaintextTokens()
        const ids = tokens.map(() => randomUUID())
        for (const [i, token] of tokens.entries()) {
          yield* sql`INSERT INTO tenants (id, name, api_token, plan, created_at, config)
                     VALUES (${ids[i]!}, ${`old ${i}`}, ${d.text(token)}, 'free', ${d.timestamp(new Date(Date.UTC(2024, 0, 1 + i)))}, ${d.json({ i })})`
        }
        expect((yield* holding("plain-")).length).toBe(1)
        if (partial) {
          // A run that stopped after its first row: the column is renamed, one row converted, the rest not.
          yield* SqlMigrations.hashTenantTokens({ batchSize: 1, maxBatches: 1 })
          const converted = yield* sql<{ n: number }>`SELECT count(*) AS n FROM tenants WHERE api_token_prefix IS NOT NULL`
          expect(Number(converted[0]!.n)).toBe(1)
        }
        const ran = (yield* SqlMigrations.run).map(([id]) => id)
        expect(ran).toEqual([2])
        const repo = yield* SqlMetadataRepository.make()
        for (const [i, token] of tokens.entries()) {
          const read = Option.getOrThrow(yield* repo.getTenantByToken(token))
          expect(read.id).toBe(ids[i])
          expect(read.apiTokenPrefix).toBe(apiTokenPrefix(token))
          expect(read.config).toEqual({ i })
          // A needle of a few characters would match unrelated text: the scan is for the long tokens.
          if (token.length > 16) expect(yield* holding(token)).toEqual([])
        }
        const columns = Object.keys((yield* sql.unsafe<Record<string, unknown>>("SELECT * FROM tenants"))[0]!)
        expect(columns).not.toContain("api_token")
        // A new tenant cannot take a migrated token.
        const taken = yield* Effect.flip(repo.createTenant(NewTenant.make({ name: "late", apiToken: tokens[1]!, plan: "free" })))
        expect(taken._tag).toBe("StorageConflict")
      }).pipe(Effect.provide(fresh()))

    it.live("converts every plaintext row in place", () => scenario(false), 120_000)
    it.live("resumes a run that stopped part way", () => scenario(true), 120_000)
  })
