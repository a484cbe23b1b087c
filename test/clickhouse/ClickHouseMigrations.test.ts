import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import { newTenantId, newTraceId, spanStorageBytes, StorageMigrations, TraceQuery } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import * as ClickHouseMigrations from "../../src/internal/clickhouse/ClickHouseMigrations.js"
import * as Redacted from "effect/Redacted"
import * as ClickHouseHttp from "../support/ClickHouseHttp.js"
import { at, span } from "../support/fixtures.js"

const Client = ClickHouseClient.ClickHouseClient

const tables = (database: string) =>
  Effect.flatMap(Client, (ch) =>
    ch.query<{ name: string }>("test.tables", "SELECT name FROM system.tables WHERE database = {database:String} ORDER BY name", { database })
  ).pipe(Effect.map((rows) => rows.map((r) => r.name)))

/** The shipped migrations up to `version`: a migration tested on its own, on the schema before it. */
const upTo = (version: number) => ClickHouseMigrations.migrations.filter((m) => m.version <= version)

const engineOf = (database: string, name: string) =>
  Effect.flatMap(Client, (ch) =>
    ch.query<{ engine_full: string }>(
      "test.engine",
      "SELECT engine_full FROM system.tables WHERE database = {database:String} AND name = {name:String}",
      { database, name }
    )
  ).pipe(Effect.map((rows) => rows[0]?.engine_full ?? ""))

// The vitest project `clickhouse-http` runs this file again through @clickhouse/client's HTTP transport, on
// the HTTP fixture over the embedded engine (test/support/ClickHouseHttp.ts).
const overHttp = process.env.LLMTRACE_TEST_CLICKHOUSE_TRANSPORT === "http"
const client = overHttp ? ClickHouseHttp.client("default") : ClickHouseClient.layer({ url: Redacted.make("chdb::memory:") })

layer(client, { timeout: "120 seconds", excludeTestServices: true })(`ClickHouse migrations${overHttp ? " over HTTP" : ""}`, (it) => {
  it.effect("create the database and tables, record the version, and do nothing when run again", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const options = { database: "llmtrace_idempotent" }
      expect(yield* ClickHouseMigrations.run(ch, options)).toEqual([1, 2, 3, 4])
      expect(yield* ClickHouseMigrations.run(ch, options)).toEqual([])
      expect(yield* ClickHouseMigrations.applied(ch, options.database)).toEqual([1, 2, 3, 4])
      expect(yield* tables(options.database)).toEqual(["llmtrace_migrations", "spans", "traces"])
    }))

  it.effect("resume after a run that stopped half-way through a migration", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const options = { database: "llmtrace_partial" }
      const next = (broken: boolean): ClickHouseMigrations.Migration => ({
        version: 5,
        name: "extra",
        statements: (o) => [
          `CREATE TABLE IF NOT EXISTS ${o.database}.extra (id String) ENGINE = MergeTree ORDER BY id`,
          broken ? `CREATE TABLE ${o.database}.broken (id NoSuchType) ENGINE = MergeTree ORDER BY id` :
            `CREATE TABLE IF NOT EXISTS ${o.database}.extra_2 (id String) ENGINE = MergeTree ORDER BY id`
        ]
      })
      const first = ClickHouseMigrations.migrations
      const failure = yield* Effect.flip(ClickHouseMigrations.run(ch, options, [...first, next(true)]))
      expect(failure._tag).toBe("StorageQueryError")
      // The shipped migrations are recorded, the broken one is not, though its first statement ran.
      expect(yield* ClickHouseMigrations.applied(ch, options.database)).toEqual([1, 2, 3, 4])
      expect(yield* tables(options.database)).toContain("extra")
      expect(yield* ClickHouseMigrations.run(ch, options, [...first, next(false)])).toEqual([5])
      expect(yield* ClickHouseMigrations.applied(ch, options.database)).toEqual([1, 2, 3, 4, 5])
      // A migration this build does not know (a newer build ran it) is reported as applied, by its recorded name.
      expect(yield* ClickHouseMigrations.status(ch, options.database)).toEqual({ applied: ["1_traces_and_spans", "2_span_identity_and_size", "3_column_codecs", "4_span_granules", "5_extra"], pending: [] })
      expect(yield* tables(options.database)).toEqual(["extra", "extra_2", "llmtrace_migrations", "spans", "traces"])
    }))

  it.effect("migration 2 on a version-1 schema: the view goes, size_bytes is measured by the engine, traces stored before read alike", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_upgrade"
      expect(yield* ClickHouseMigrations.run(ch, { database }, ClickHouseMigrations.migrations.slice(0, 1))).toEqual([1])
      const inDatabase = Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database })
      const v1 = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true }).pipe(inDatabase)
      const tenantId = newTenantId()
      const before = span(tenantId, newTraceId(), { startTime: at(1), prompt: "🚀" })
      yield* v1.storeSpan(before)
      expect(yield* tables(database)).toContain("spans_to_traces")

      expect(yield* ClickHouseMigrations.run(ch, { database })).toEqual([2, 3, 4])
      expect(yield* tables(database)).not.toContain("spans_to_traces")
      const repo = yield* ClickHouseTraceRepository.make({ autoMigrate: false }).pipe(inDatabase)
      const after = span(tenantId, newTraceId(), { startTime: at(2), prompt: "漢字" })
      yield* repo.storeSpan(after)
      expect((yield* repo.queryTraces(TraceQuery.make({ tenantId }))).map((t) => [t.traceId, t.createdAt])).toEqual([[after.traceId, at(2)], [before.traceId, at(1)]])
      const sizes = yield* ch.query<{ span_id: string; size_bytes: string | number }>(
        "test.size",
        `SELECT span_id, size_bytes FROM ${database}.spans WHERE span_id = {id:String}`,
        { id: after.spanId }
      )
      expect(sizes.map((r) => Number(r.size_bytes))).toEqual([spanStorageBytes(after)])
      // The span stored before is measured too (migration 2's mutation), and counted once.
      expect((yield* repo.getStats(tenantId)).storageSizeBytes).toBe(spanStorageBytes(before) + spanStorageBytes(after))
    }))

  it.effect("migration 3 on a version-2 schema: columns get ZSTD, tag keys LowCardinality, and spans stored before read alike", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_codecs"
      expect(yield* ClickHouseMigrations.run(ch, { database }, ClickHouseMigrations.migrations.slice(0, 2))).toEqual([1, 2])
      const inDatabase = Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database })
      const v2 = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true }).pipe(inDatabase)
      const tenantId = newTenantId()
      const before = span(tenantId, newTraceId(), { startTime: at(1), prompt: "🚀", tags: { env: "prod", "ключ": "значение" } })
      yield* v2.storeSpan(before)

      expect(yield* ClickHouseMigrations.run(ch, { database })).toEqual([3, 4])
      const columns = yield* ch.query<{ table: string; name: string; type: string; compression_codec: string }>(
        "test.columns",
        "SELECT table, name, type, compression_codec FROM system.columns WHERE database = {database:String} AND table IN ('spans', 'traces')",
        { database }
      )
      // Every column is compressed with ZSTD now (none left on the default LZ4); tag keys are a dictionary.
      expect(columns.filter((c) => !/ZSTD/.test(c.compression_codec)).map((c) => `${c.table}.${c.name}`)).toEqual([])
      expect(columns.find((c) => c.table === "spans" && c.name === "tags")?.type).toBe("Map(LowCardinality(String), String)")

      const repo = yield* ClickHouseTraceRepository.make({ autoMigrate: false }).pipe(inDatabase)
      const after = span(tenantId, newTraceId(), { startTime: at(2), tags: { env: "prod" } })
      yield* repo.storeSpan(after)
      expect((yield* repo.querySpans(TraceQuery.make({ tenantId, tags: { env: "prod" } }))).map((s) => [s.spanId, s.tags])).toEqual([
        [after.spanId, after.tags],
        [before.spanId, before.tags]
      ])
      expect((yield* repo.querySpans(TraceQuery.make({ tenantId, tags: { "ключ": "значение" } }))).map((s) => s.spanId)).toEqual([before.spanId])
      expect((yield* repo.getStats(tenantId)).storageSizeBytes).toBe(spanStorageBytes(before) + spanStorageBytes(after))
    }))

  it.effect("migration 4 on a version-3 schema: spans rebuilt with 1 MiB granules, every span and the table's own TTL kept; a run stopped after retiring the old table finishes on the next", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_granules"
      // Version 3 with a 90-day TTL; the migration runs with another retention configured, and keeps the table's.
      expect(yield* ClickHouseMigrations.run(ch, { database, retentionDays: 90 }, ClickHouseMigrations.migrations.slice(0, 3))).toEqual([1, 2, 3])
      const inDatabase = Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database })
      const v3 = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true, retentionDays: 90 }).pipe(inDatabase)
      const tenantId = newTenantId()
      const now = Date.now()
      const before = Array.from({ length: 30 }, (_, i) =>
        span(tenantId, newTraceId(), { startTime: new Date(now - (i % 3) * 40 * 86_400_000 - 1000), prompt: "x".repeat(i * 100), tags: { i: String(i) } }))
      yield* v3.storeSpans(before)
      // Three monthly partitions, so the attach moves more than one.
      const partitions = yield* ch.query<{ n: string | number }>("test.partitions", `SELECT uniqExact(partition) AS n FROM system.parts WHERE database = '${database}' AND table = 'spans' AND active`)
      expect(Number(partitions[0]!.n)).toBeGreaterThan(1)

      // A run that stopped after retiring the old table: spans is the new, empty table, and the old data waits
      // in the retired one (the exchange alone is the one-shot case below, where run itself retires spans_v3).
      const [create, exchange, retire] = ClickHouseMigrations.migrations[3]!.statements({ database, retentionDays: 90 })
      yield* ch.command("test.create", create!)
      yield* ch.command("test.exchange", exchange!)
      yield* ch.command("test.retire", retire!)
      expect(yield* tables(database)).toEqual(["llmtrace_migrations", "spans", "spans_v3_retired", "traces"])
      expect(yield* ClickHouseMigrations.run(ch, { database, retentionDays: 7 }, upTo(4))).toEqual([4])
      expect(yield* tables(database)).toEqual(["llmtrace_migrations", "spans", "traces"])
      const engine = yield* engineOf(database, "spans")
      expect(engine).toContain("index_granularity_bytes = 1048576")
      expect(engine).toContain("TTL toDateTime(start_time) + toIntervalDay(90)")

      // Every span stored before reads alike, once each; and the migration, run again, does nothing.
      const repo = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true, retentionDays: 90 }).pipe(inDatabase)
      const read = yield* repo.querySpans(TraceQuery.make({ tenantId, limit: 100 }))
      expect(read.map((s) => s.spanId).sort()).toEqual(before.map((s) => s.spanId).sort())
      expect((yield* repo.getStats(tenantId)).totalSpans).toBe(before.length)
      expect(yield* ClickHouseMigrations.run(ch, { database }, upTo(4))).toEqual([])
    }))

  it.effect("migration 4 from a version-3 schema in one run: the exchange, the old table retired, attached and dropped, no TTL where there was none", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_granules_once"
      expect(yield* ClickHouseMigrations.run(ch, { database }, ClickHouseMigrations.migrations.slice(0, 3))).toEqual([1, 2, 3])
      const inDatabase = Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database })
      const v3 = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true }).pipe(inDatabase)
      const tenantId = newTenantId()
      const stored = Array.from({ length: 5 }, () => span(tenantId, newTraceId(), { startTime: at(1) }))
      yield* v3.storeSpans(stored)
      expect(yield* ClickHouseMigrations.run(ch, { database, retentionDays: 7 }, upTo(4))).toEqual([4])
      const engine = yield* engineOf(database, "spans")
      expect(engine).toContain("index_granularity_bytes = 1048576")
      expect(engine).not.toContain("TTL")
      expect(yield* tables(database)).toEqual(["llmtrace_migrations", "spans", "traces"])
      const repo = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true }).pipe(inDatabase)
      expect((yield* repo.getStats(tenantId)).totalSpans).toBe(stored.length)
    }))

  it.effect("migration 4 run twice at once on one engine, writes landing throughout: every span kept, no table left behind", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_granules_race"
      yield* ClickHouseMigrations.run(ch, { database }, ClickHouseMigrations.migrations.slice(0, 3))
      const inDatabase = Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database })
      const writer = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true }).pipe(inDatabase)
      const tenantId = newTenantId()
      const stored = Array.from({ length: 20 }, () => span(tenantId, newTraceId(), { startTime: at(1) }))
      yield* writer.storeSpans(stored.slice(0, 10))
      // Two migrations and a writer at once: their statements interleave on the engine.
      const late = stored.slice(10)
      yield* Effect.all([
        ClickHouseMigrations.run(ch, { database }, upTo(4)),
        ClickHouseMigrations.run(ch, { database }, upTo(4)),
        // An insert that meets the exchange is refused as unavailable (TABLE_UUID_MISMATCH over HTTP); a writer retries it.
        Effect.forEach(late, (s) => writer.storeSpan(s).pipe(Effect.retry({ times: 5, while: (e) => e._tag === "StorageUnavailable" })), { discard: true })
      ], { concurrency: "unbounded" })
      expect(yield* tables(database)).toEqual(["llmtrace_migrations", "spans", "traces"])
      const repo = yield* ClickHouseTraceRepository.make({ autoMigrate: false, skipSchemaCheck: true }).pipe(inDatabase)
      expect((yield* repo.getStats(tenantId)).totalSpans).toBe(stored.length)
    }))

  it.effect("one batch of spans over 120 months (a backfill; a partition a month) is stored whole: inserts lift the engine's 100-partition limit", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_backfill"
      yield* ClickHouseMigrations.run(ch, { database })
      const repo = yield* ClickHouseTraceRepository.make({ autoMigrate: false }).pipe(Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database }))
      const tenantId = newTenantId()
      const spans = Array.from({ length: 120 }, (_, i) => span(tenantId, newTraceId(), { startTime: at(i * 31 * 24 * 60 + 7) }))
      yield* repo.storeSpans(spans)
      const stats = yield* repo.getStats(tenantId)
      expect(stats.totalSpans).toBe(120)
      expect(stats.newestTrace).toEqual(spans[119]!.startTime)
      const partitions = yield* ch.query<{ n: string | number }>("test.partitions", `SELECT uniqExact(partition) AS n FROM system.parts WHERE database = '${database}' AND table = 'spans' AND active`)
      expect(Number(partitions[0]!.n)).toBe(120)
    }))

  it.effect("every statement of cluster mode parses on the engine (EXPLAIN AST): no cluster runs here to execute them", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const statements = ClickHouseMigrations.allStatements({ database: "llmtrace", cluster: "llmtrace_cluster", retentionDays: 90 })
      const refused: Array<string> = []
      for (const sql of statements) {
        const parsed = yield* Effect.either(ch.command("test.ast", `EXPLAIN AST ${sql}`))
        if (parsed._tag === "Left") refused.push(`${sql.split("\n")[0]}: ${parsed.left.message}`)
      }
      expect(refused).toEqual([])
    }))

  it.effect("tables are created with the configured TTL; only applyRetention (migrate) changes or removes it", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_retention"
      yield* ClickHouseMigrations.run(ch, { database, retentionDays: 30 })
      expect(yield* engineOf(database, "spans")).toContain("TTL toDateTime(start_time) + toIntervalDay(30)")
      expect(yield* engineOf(database, "traces")).toContain("toIntervalDay(30)")
      // Running the migrations again with another retention changes no TTL.
      yield* ClickHouseMigrations.run(ch, { database, retentionDays: 7 })
      yield* ClickHouseMigrations.run(ch, { database })
      expect(yield* engineOf(database, "spans")).toContain("toIntervalDay(30)")
      expect(yield* ClickHouseMigrations.retentionChanges(ch, { database, retentionDays: 7 })).toEqual([
        { table: "spans", current: 30, wanted: 7 },
        { table: "traces", current: 30, wanted: 7 }
      ])
      expect((yield* ClickHouseMigrations.applyRetention(ch, { database, retentionDays: 7 })).map(ClickHouseMigrations.describeRetention)).toEqual([
        "spans: TTL 30 days → 7 days",
        "traces: TTL 30 days → 7 days"
      ])
      expect(yield* engineOf(database, "spans")).toContain("toIntervalDay(7)")
      yield* ClickHouseMigrations.applyRetention(ch, { database })
      expect(yield* engineOf(database, "spans")).not.toContain("TTL")
      expect(yield* engineOf(database, "traces")).not.toContain("TTL")
      expect(yield* ClickHouseMigrations.retentionChanges(ch, { database })).toEqual([])
    }))

  it.effect("building the repository with another retention warns once and changes no TTL, migrating or not", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const database = "llmtrace_retention_layer"
      yield* ClickHouseMigrations.run(ch, { database, retentionDays: 30 })
      const inDatabase = Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database })
      for (const options of [{ autoMigrate: true }, { autoMigrate: false }, { autoMigrate: true, retentionDays: 1 }]) {
        const logs: Array<string> = []
        const logger = Logger.make(({ logLevel, message }) => logs.push(`${logLevel.label} ${String(message)}`))
        yield* ClickHouseTraceRepository.make(options).pipe(inDatabase, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        expect(logs).toEqual([expect.stringMatching(/^WARN .*retention.*differs.*spans: TTL 30 days → (none|1 day), traces: TTL 30 days → (none|1 day).*llmtrace-storage migrate/)])
        expect(yield* engineOf(database, "spans")).toContain("toIntervalDay(30)")
        expect(yield* engineOf(database, "traces")).toContain("toIntervalDay(30)")
      }
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      yield* ClickHouseTraceRepository.make({ retentionDays: 30 }).pipe(inDatabase, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(logs).toEqual([])
    }))

  it.effect("refuse an unmigrated schema when auto-migration is off, saying what to run", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const error = yield* Effect.flip(ClickHouseTraceRepository.make({ autoMigrate: false }).pipe(Effect.provideService(ClickHouseClient.ClickHouseClient, { ...ch, database: "llmtrace_never_migrated" })))
      expect(error._tag).toBe("StorageUnavailable")
      expect(error.message).toContain("llmtrace-storage migrate")
    }))

  it.effect("reject a database or cluster name that could not be spliced safely", () =>
    Effect.gen(function*() {
      const ch = yield* Client
      const bad = yield* Effect.flip(ClickHouseMigrations.run(ch, { database: "x; DROP TABLE y" }))
      expect(bad.message).toContain("invalid database name")
      const cluster = yield* Effect.flip(ClickHouseMigrations.run(ch, { database: "ok", cluster: "a` b" }))
      expect(cluster.message).toContain("invalid cluster name")
    }))
})

describe("ClickHouse migration status on a server that does not answer", () => {
  it.live("is StorageUnavailable naming clickhouse and the address, never 'everything pending', and never the password", () =>
    Effect.gen(function*() {
      const migrations = yield* StorageMigrations.clickhouse({})
      expect(migrations.target).toBe("http://user@127.0.0.1:1 (database llmtrace)")
      const error = yield* Effect.flip(migrations.status)
      expect(error._tag).toBe("StorageUnavailable")
      expect(error.backend).toBe("clickhouse")
      expect(error.message).toContain("127.0.0.1:1")
      const refused = yield* Effect.flip(ClickHouseTraceRepository.make({ autoMigrate: false }))
      expect(refused._tag).toBe("StorageUnavailable")
      expect(refused.message).not.toContain("pending")
      expect(JSON.stringify([migrations.target, error.message, refused.message])).not.toContain("S3cret")
    }).pipe(
      // Not checked when built, so the status is the first call that reaches for the server.
      Effect.provide(ClickHouseClient.layer({ url: Redacted.make("http://user:S3cret@127.0.0.1:1"), verify: false, requestTimeout: "2 seconds" }))
    ), 30_000)
})

describe("ClickHouse DDL (golden)", () => {
  it("single node", async () => {
    const ddl = ClickHouseMigrations.allStatements({ database: "llmtrace" }).join(";\n\n") + ";\n"
    await expect(ddl).toMatchFileSnapshot("__snapshots__/single-node.sql")
  })

  it("cluster mode: ON CLUSTER and Replicated engines, with retention", async () => {
    const ddl = ClickHouseMigrations.allStatements({ database: "llmtrace", cluster: "llmtrace_cluster", retentionDays: 90 })
    expect(ddl.every((s) => s.includes("ON CLUSTER `llmtrace_cluster`"))).toBe(true)
    expect(ddl.filter((s) => s.includes("ENGINE = Replicated"))).toHaveLength(4)
    await expect(ddl.join(";\n\n") + ";\n").toMatchFileSnapshot("__snapshots__/cluster.sql")
  })
})
