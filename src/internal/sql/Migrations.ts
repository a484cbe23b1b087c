import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { apiTokenPrefix, hashApiToken } from "../../domain/Tenant.js"
import { StorageQueryError, StorageUnavailable } from "../../StorageError.js"
import * as Dialect from "./Dialect.js"
import { classify } from "./SqlErrors.js"

/** The table where applied migrations are recorded, in every SQL database. */
export const table = "llmtrace_migrations"

/** Runs one migration's statements with the dialect's column types. */
const migration = (statements: (t: { timestamp: string; json: string; float: string; bigint: string }) => ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const dialect = yield* Dialect.make(sql)
    for (const statement of statements(dialect.types)) yield* sql.unsafe(statement)
  })

/**
 * Ordered, versioned schema changes. Never edit one that has shipped: add the next number.
 * Column types come from the dialect (timestamptz/jsonb on PostgreSQL, INTEGER ms/TEXT on SQLite).
 */
export const migrations = {
  "0001_metadata": migration((t) => [
    `CREATE TABLE tenants (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      api_token TEXT NOT NULL UNIQUE,
      plan TEXT NOT NULL,
      created_at ${t.timestamp} NOT NULL,
      config ${t.json} NOT NULL
    )`,
    `CREATE TABLE tenant_configs (
      tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
      security_thresholds ${t.json} NOT NULL,
      feature_flags ${t.json} NOT NULL,
      monitoring_scope TEXT NOT NULL,
      rate_limit_rpm ${t.bigint},
      monthly_budget ${t.float}
    )`,
    `CREATE TABLE audit_events (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      event_type TEXT NOT NULL,
      actor TEXT NOT NULL,
      resource TEXT NOT NULL,
      data ${t.json} NOT NULL,
      timestamp ${t.timestamp} NOT NULL
    )`,
    `CREATE INDEX audit_events_tenant_time ON audit_events (tenant_id, timestamp DESC)`,
    `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      key_hash TEXT NOT NULL UNIQUE,
      key_prefix TEXT NOT NULL,
      role TEXT NOT NULL,
      created_at ${t.timestamp} NOT NULL,
      revoked_at ${t.timestamp}
    )`,
    `CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at)`,
    `CREATE TABLE compliance_reports (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      report_type TEXT NOT NULL,
      status TEXT NOT NULL,
      period_start ${t.timestamp} NOT NULL,
      period_end ${t.timestamp} NOT NULL,
      created_at ${t.timestamp} NOT NULL,
      completed_at ${t.timestamp},
      content ${t.json},
      error TEXT
    )`,
    `CREATE INDEX compliance_reports_tenant_time ON compliance_reports (tenant_id, created_at DESC)`
  ]),
  "0002_tenant_token_hash": Effect.suspend(() => hashTenantTokens())
}

/** The columns of `tenants` as the database reports them. */
const tenantColumns = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql.onDialectOrElse({
    pg: () =>
      sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
                             WHERE table_schema = current_schema() AND table_name = 'tenants'`,
    orElse: () => sql<{ name: string }>`SELECT name FROM pragma_table_info('tenants')`
  })
  return new Set(rows.map((r) => r.name))
})

/**
 * Migration 0002: tenants keep the SHA-256 of their API token and a display prefix, never the token
 * (DESIGN.md §10). In place, on both engines alike: \`api_token\` is renamed \`api_token_hash\` (its
 * UNIQUE index and NOT NULL stay: SQLite cannot add them to an existing table) and \`api_token_prefix\`
 * is added, NULL until its row is converted. Rows are then converted in batches, each found by its
 * NULL prefix, so every step is safe to run again: a run that stopped part way (the Migrator runs it
 * in a transaction, but {@link hashTenantTokens} is also exported for tools) resumes where it stopped.
 * The hash is computed here, not in SQL: PostgreSQL text holds escaped NUL (NulEscape), and SQLite
 * has no SHA-256.
 */
export const hashTenantTokens = (options: { readonly batchSize?: number; readonly maxBatches?: number } = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const d = yield* Dialect.make(sql)
    const columns = yield* tenantColumns
    if (!columns.has("api_token_prefix")) yield* sql.unsafe("ALTER TABLE tenants ADD COLUMN api_token_prefix TEXT")
    if (columns.has("api_token")) yield* sql.unsafe("ALTER TABLE tenants RENAME COLUMN api_token TO api_token_hash")
    const batchSize = options.batchSize ?? 500
    for (let batch = 0; batch < (options.maxBatches ?? Number.POSITIVE_INFINITY); batch++) {
      const rows = yield* sql<{ id: string; api_token_hash: unknown }>`
        SELECT id, api_token_hash FROM tenants WHERE api_token_prefix IS NULL ORDER BY id LIMIT ${batchSize}`
      if (rows.length === 0) return
      for (const row of rows) {
        const token = d.readText(row.api_token_hash)
        yield* sql`UPDATE tenants SET api_token_hash = ${hashApiToken(token)}, api_token_prefix = ${d.text(apiTokenPrefix(token))}
                   WHERE id = ${row.id} AND api_token_prefix IS NULL`
      }
    }
  })

const migrator = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table })

/** Serialises migration runs across processes on PostgreSQL (an arbitrary constant: "llmtrace"). */
const LOCK_KEY = 0x6c6c6d74

/**
 * Applies pending migrations; returns the ones it ran. On PostgreSQL the whole run holds a
 * transaction-scoped advisory lock and creates the record table itself: the Migrator's own
 * "create the table if missing" step races when several processes start on a fresh database.
 */
export const run = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.onDialectOrElse({
    pg: () =>
      sql.withTransaction(
        sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`.pipe(
          Effect.zipRight(sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
            migration_id integer primary key,
            created_at timestamp with time zone not null default now(),
            name text not null
          )`),
          Effect.zipRight(migrator)
        )
      ),
    orElse: () => migrator
  })
})

/** A driver error of a migration read or run: unavailable, or else the engine refused it. */
const migrationError = (backend: Dialect.Dialect["backend"], operation: string) => (error: SqlError): StorageUnavailable | StorageQueryError => {
  const classified = classify(backend, operation)(error)
  return classified._tag === "StorageUnavailable" || classified._tag === "StorageQueryError"
    ? classified
    : new StorageQueryError({ backend, operation, message: classified.message, cause: error })
}

/**
 * {@link run} with any failure as a storage error: a driver error classified by its code (an
 * unreachable server is {@link StorageUnavailable}), a failed migration a {@link StorageQueryError}.
 */
export const runChecked: Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, StorageUnavailable | StorageQueryError, SqlClient.SqlClient> =
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(Dialect.make(sql), ({ backend }) =>
      run.pipe(
        Effect.catchAllCause((cause) =>
          Option.match(Option.filter(Cause.failureOption(cause), (e) => e instanceof SqlError), {
            onSome: (error) => Effect.fail(migrationError(backend, "Migrations.run")(error)),
            onNone: () =>
              Effect.fail(new StorageQueryError({ backend, operation: "Migrations.run", message: `${backend} migrations failed: ${Cause.pretty(cause).split("\n")[0]}`, cause }))
          })
        )
      )))

/** A migration's name as its key in {@link migrations}: `0001_metadata`. */
const key = (id: number, name: string) => `${String(id).padStart(4, "0")}_${name}`

export interface Status {
  /** Recorded in the database, oldest first (a newer build's migrations included). */
  readonly applied: ReadonlyArray<string>
  /** Known to this build and not recorded. */
  readonly pending: ReadonlyArray<string>
}

/**
 * What the database records now. The catalogue is asked whether the record table exists before it
 * is read: on SQLite the client caches prepared statements, a failed one included, so selecting
 * from the table before it existed would keep failing after it was created. Any failure (an
 * unreachable server, a refused permission, an unreadable table) is an error, never "all pending".
 */
export const status: Effect.Effect<Status, StorageUnavailable | StorageQueryError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const dialect = yield* Dialect.make(sql)
  const rows = yield* dialect.tableExists(table).pipe(
    Effect.flatMap((exists) =>
      exists
        ? sql<{ readonly migration_id: number | string; readonly name: string }>`SELECT migration_id, name FROM ${sql(table)} ORDER BY migration_id`
        : Effect.succeed([])
    ),
    Effect.mapError(migrationError(dialect.backend, "Migrations.status"))
  )
  const applied = rows.map((r) => key(Number(r.migration_id), r.name))
  const done = new Set(rows.map((r) => Number(r.migration_id)))
  return { applied, pending: Object.keys(migrations).sort().filter((k) => !done.has(Number(k.split("_")[0]))) }
})

/**
 * Makes sure the schema is current before a repository is used: runs pending migrations when
 * `autoMigrate` is on, otherwise refuses an outdated schema with a message that says what to run.
 */
export const ensure = (autoMigrate: boolean): Effect.Effect<void, StorageUnavailable | StorageQueryError, SqlClient.SqlClient> =>
  autoMigrate
    ? Effect.asVoid(runChecked)
    : Effect.gen(function*() {
      const { pending } = yield* status
      if (pending.length > 0) {
        const { backend } = yield* Effect.flatMap(SqlClient.SqlClient, Dialect.make)
        return yield* new StorageUnavailable({
          backend,
          operation: "Migrations.ensure",
          message: `the ${backend} schema has pending migrations (${pending.join(", ")}) and auto-migration is off (\`autoMigrate: false\`): run \`llmtrace-storage migrate\``
        })
      }
    })
