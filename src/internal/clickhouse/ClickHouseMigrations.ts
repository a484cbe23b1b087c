import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import { type StorageQueryError, StorageUnavailable } from "../../StorageError.js"
import type { ClickHouseClientShape } from "../../clickhouse/ClickHouseClient.js"

/** Where applied migrations are recorded, in the trace database. */
export const table = "llmtrace_migrations"

export interface SchemaOptions {
  readonly database: string
  /** Cluster name: DDL gets `ON CLUSTER` and tables Replicated engines (one shard, n replicas). */
  readonly cluster?: string | undefined
  /** Drop spans (and traces) older than this many days, through a table `TTL`. */
  readonly retentionDays?: number | undefined
}

export interface Migration {
  readonly version: number
  readonly name: string
  /** What a fresh install runs (and the golden DDL pins). */
  readonly statements: (options: SchemaOptions) => ReadonlyArray<string>
  /**
   * Runs the migration when its statements alone cannot be run again safely (a table rebuilt and its
   * data moved): it reads what is there and runs what is left. Without it, each statement runs in order.
   */
  readonly run?: (client: ClickHouseClientShape, options: SchemaOptions) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
}

const clusterName = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

const onCluster = (o: SchemaOptions) => (o.cluster === undefined ? "" : ` ON CLUSTER \`${o.cluster}\``)

/** A MergeTree-family engine, Replicated in cluster mode (the ZooKeeper path and replica come from macros). */
const engine = (o: SchemaOptions, kind: string, tableName: string, args = "") =>
  o.cluster === undefined
    ? `${kind}(${args})`
    : `Replicated${kind}('/clickhouse/tables/{shard}/${o.database}/${tableName}', '{replica}'${args === "" ? "" : `, ${args}`})`

/** The retention clause of each table; empty when no retention is configured. */
const ttl = (o: SchemaOptions, tableName: "spans" | "traces"): string => {
  if (o.retentionDays === undefined) return ""
  const column = tableName === "spans" ? "start_time" : "assumeNotNull(coalesce(created_at, span_start))"
  return `toDateTime(${column}) + toIntervalDay(${o.retentionDays})`
}

const ttlClause = (o: SchemaOptions, tableName: "spans" | "traces") => (o.retentionDays === undefined ? "" : `\nTTL ${ttl(o, tableName)}`)

/**
 * What a span counts towards storageSizeBytes (`spanStorageBytes` in the domain): `length` is bytes
 * in ClickHouse, and the JSON columns hold the text `JSON.stringify` wrote.
 */
const sizeBytes =
  "length(prompt) + length(ifNull(response, '')) + length(ifNull(error_message, '')) + length(security_findings) + " +
  "length(events) + length(agent_actions) + arraySum(arrayMap((k, v) -> length(k) + length(v), mapKeys(tags), mapValues(tags)))"

/** The columns migration 3 gives ZSTD(1): every one that had the default LZ4 (the texts have ZSTD(3) since version 1). */
const zstdColumns = {
  spans: [
    "tenant_id", "trace_id", "span_id", "parent_span_id", "operation_name", "start_time", "end_time", "provider", "model_name",
    "prompt_tokens", "completion_tokens", "total_tokens", "time_to_first_token_ms", "duration_ms", "status_code",
    "estimated_cost_usd", "security_score", "size_bytes", "version"
  ],
  traces: ["tenant_id", "trace_id", "created_at", "span_start"]
} as const

/** The granule limit migration 4 gives `spans` (see there): how `run` tells a rebuilt table. */
const granuleLimit = "index_granularity_bytes = 1048576"

/** The table settings migration 4 gives `spans`. */
const granuleSettings = `${granuleLimit}, merge_max_block_size = 1024, merge_max_block_size_bytes = 1048576`

/**
 * Migration 4: `spans` rebuilt with {@link granuleSettings}, its data kept. The new table is created
 * beside it (same columns, codecs, indexes, key and TTL) as `spans_v3`, the two are exchanged
 * atomically (writers never meet a missing table), and the old table, now `spans_v3`, is retired:
 * renamed to a name of this run's own, its parts attached to `spans` (hard links, no copy), then
 * dropped. Nothing writes to or exchanges a retired table, so dropping it after the attach loses
 * nothing, even if another process ran the same migration at once. `run` reads where a stopped run
 * left off and works in rounds until `spans` has the new settings and nothing is left beside it: it
 * exchanges only while `spans` lacks the settings, retires `spans_v3` when it exists, and finishes any
 * retired table a stopped run left (an attach repeated by a re-run makes copies that collapse as any
 * re-store does). Two runs in step can exchange twice (the second putting the old table back), which
 * the next round rebuilds again. Its ZooKeeper path in cluster mode is `…/spans_v3`.
 */
const besideSpans = "spans_v3"

/** Retired tables are named `spans_v3_retired_<run>`; the golden DDL shows the prefix alone. */
const retiredPrefix = `${besideSpans}_retired`

/**
 * A pause in wall-clock time. Not `Effect.sleep`: a migration runs when a layer is built, also in a
 * test under `TestClock` (`it.effect` of an application's suite), where an Effect sleep would wait for
 * a clock that never moves.
 */
const pause = (millis: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

const rebuildSpans = {
  statements: (o: SchemaOptions, ttl: string, retired = retiredPrefix): ReadonlyArray<string> => [
    `CREATE TABLE IF NOT EXISTS ${o.database}.${besideSpans}${onCluster(o)} AS ${o.database}.spans
ENGINE = ${engine(o, "ReplacingMergeTree", besideSpans, "version")}
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant_id, trace_id, span_id)${ttl}
SETTINGS ${granuleSettings}`,
    `EXCHANGE TABLES ${o.database}.spans AND ${o.database}.${besideSpans}${onCluster(o)}`,
    `RENAME TABLE ${o.database}.${besideSpans} TO ${o.database}.${retired}${onCluster(o)}`,
    `ALTER TABLE ${o.database}.spans${onCluster(o)} ATTACH PARTITION ALL FROM ${o.database}.${retired}`,
    `DROP TABLE IF EXISTS ${o.database}.${retired}${onCluster(o)} SYNC`
  ],
  run: (client: ClickHouseClientShape, o: SchemaOptions) =>
    Effect.gen(function*() {
      const operation = "ClickHouseMigrations.span_granules"
      const tables = client.query<{ readonly name: string; readonly engine_full: string }>(
        operation,
        "SELECT name, engine_full FROM system.tables WHERE database = {database:String} AND startsWith(name, 'spans')",
        { database: o.database }
      )
      const command = (sql: string) => client.command(operation, sql)
      // Another run of this migration at once may have exchanged, retired, attached or dropped a table
      // first: its UNKNOWN_TABLE means that run has it.
      const unlessGone = (sql: string) => Effect.catchIf(command(sql), isMissing, () => Effect.succeed("gone" as const))
      // An insert started before the exchange may still commit a part to the retired table: attach again
      // until its parts stay the same across an attach, then drop it.
      const partsOf = (name: string) =>
        Effect.map(
          client.query<{ readonly parts: string }>(
            operation,
            "SELECT toString(groupArraySorted(1000000)(name)) AS parts FROM system.parts WHERE database = {database:String} AND table = {name:String} AND active",
            { database: o.database, name }
          ),
          (rows) => rows[0]?.parts ?? ""
        )
      const finish = (name: string) =>
        Effect.gen(function*() {
          const [, , , attach, drop] = rebuildSpans.statements(o, "", name)
          for (let pass = 0; pass < 10; pass++) {
            const attached = yield* partsOf(name)
            if ((yield* unlessGone(attach!)) === "gone") return
            if ((yield* partsOf(name)) !== attached) continue
            return yield* command(drop!)
          }
        })
      for (let round = 0; round < 5; round++) {
        // Runs in step would undo each other's exchange every round: a later round starts after a random pause.
        if (round > 0) yield* pause(Math.floor(Math.random() * 250 * round))
        const found = yield* tables
        const current = found.find((t) => t.name === "spans")?.engine_full
        const left = found.filter((t) => t.name === besideSpans || t.name.startsWith(retiredPrefix))
        const done = current !== undefined && current.includes(granuleLimit)
        if (current === undefined || (done && left.length === 0)) return
        if (!done) {
          // The TTL the table has now (whatever the configuration says: a migration never changes retention).
          const ttl = / TTL (.*?)(?= SETTINGS |$)/.exec(current)?.[1] ?? ""
          const [create, exchange] = rebuildSpans.statements(o, ttl === "" ? "" : `\nTTL ${ttl}`)
          yield* command(create!)
          yield* unlessGone(exchange!)
        }
        const retire = rebuildSpans.statements(o, "", `${retiredPrefix}_${crypto.randomUUID().replaceAll("-", "")}`)[2]!
        if ((yield* tables).some((t) => t.name === besideSpans)) yield* unlessGone(retire)
        for (const { name } of yield* tables) if (name.startsWith(retiredPrefix)) yield* finish(name)
      }
      return yield* new StorageUnavailable({
        backend: "clickhouse",
        operation,
        message: `${o.database}.spans was exchanged by another run of this migration in each of 5 rounds; no data was lost: run migrate again`
      })
    })
}

/**
 * Ordered, versioned schema changes. Never edit one that has shipped: add the next version.
 * Every statement is `IF NOT EXISTS`, so a run that stopped half-way is simply run again.
 *
 * - spans: one row per stored copy; re-stores are collapsed by ReplacingMergeTree(version) in the
 *   background and by `LIMIT 1 BY span_id` on read (a re-store may move a span to another key).
 *   The key starts with (tenant_id, trace_id): whole traces, which every trace query returns, are
 *   one range; time ranges prune by month partition and a minmax index; span ids by a bloom filter.
 * - traces: one row per trace after merges (AggregatingMergeTree keeps the earliest createdAt given
 *   to storeTrace); reads aggregate with GROUP BY, so counts are exact. Version 1 also filled it
 *   from every span insert through a materialized view, which version 2 drops.
 * - version 3 compresses every column with ZSTD (the texts at level 3, the rest at 1) and keys tags as
 *   LowCardinality: fewer bytes on disk than the OpenTelemetry exporter's otel_traces for the same spans.
 * - version 4 rebuilds spans with granules of at most 1 MiB, so large spans cost the engine less memory.
 */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "traces_and_spans",
    statements: (o) => [
      `CREATE TABLE IF NOT EXISTS ${o.database}.spans${onCluster(o)}
(
    tenant_id String,
    trace_id String,
    span_id String,
    parent_span_id Nullable(String),
    operation_name LowCardinality(String),
    start_time DateTime64(3, 'UTC'),
    end_time Nullable(DateTime64(3, 'UTC')),
    provider LowCardinality(String),
    model_name LowCardinality(String),
    prompt String CODEC(ZSTD(3)),
    response Nullable(String) CODEC(ZSTD(3)),
    prompt_tokens Nullable(Int64),
    completion_tokens Nullable(Int64),
    total_tokens Nullable(Int64),
    time_to_first_token_ms Nullable(Float64),
    duration_ms Nullable(Float64),
    status_code Nullable(Int64),
    error_message Nullable(String) CODEC(ZSTD(3)),
    estimated_cost_usd Nullable(Float64),
    security_score Nullable(UInt8),
    security_findings String CODEC(ZSTD(3)),
    tags Map(String, String),
    events String CODEC(ZSTD(3)),
    agent_actions String CODEC(ZSTD(3)),
    size_bytes UInt64,
    version UInt64,
    INDEX idx_span_id span_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_start_time start_time TYPE minmax GRANULARITY 4,
    INDEX idx_security_score security_score TYPE minmax GRANULARITY 4
)
ENGINE = ${engine(o, "ReplacingMergeTree", "spans", "version")}
PARTITION BY toYYYYMM(start_time)
ORDER BY (tenant_id, trace_id, span_id)${ttlClause(o, "spans")}`,
      `CREATE TABLE IF NOT EXISTS ${o.database}.traces${onCluster(o)}
(
    tenant_id String,
    trace_id String,
    created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    span_start SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
)
ENGINE = ${engine(o, "AggregatingMergeTree", "traces")}
ORDER BY (tenant_id, trace_id)${ttlClause(o, "traces")}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${o.database}.spans_to_traces${onCluster(o)} TO ${o.database}.traces
AS SELECT
    tenant_id,
    trace_id,
    CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS created_at,
    min(start_time) AS span_start
FROM ${o.database}.spans
GROUP BY tenant_id, trace_id`
    ]
  },
  {
    // A span's identity is (tenant, span id) and a trace's start is computed from its current spans
    // (see TraceQueries): the view's `min` kept the earliest start ever stored, also of spans that
    // moved to another trace, so `traces` now holds only the createdAt given to storeTrace (the rows
    // the view wrote are ignored by every read). `size_bytes` is measured by the engine, in UTF-8
    // bytes, the same sum the memory engine counts (`spanStorageBytes`); rows stored before are
    // measured again by a background mutation.
    version: 2,
    name: "span_identity_and_size",
    statements: (o) => [
      `DROP VIEW IF EXISTS ${o.database}.spans_to_traces${onCluster(o)}`,
      `ALTER TABLE ${o.database}.spans${onCluster(o)} MODIFY COLUMN size_bytes UInt64 DEFAULT ${sizeBytes}`,
      `ALTER TABLE ${o.database}.spans${onCluster(o)} UPDATE size_bytes = ${sizeBytes} WHERE 1`
    ]
  },
  {
    // Bytes on disk (bench/Schema10M.ts, bytes per span of the same spans as the OpenTelemetry exporter's
    // otel_traces): every column that had the default LZ4 gets ZSTD(1), which entropy-codes what LZ4 cannot
    // (hex and UUID ids to about half, numbers, times), and tag keys become LowCardinality (a dictionary
    // per part instead of the key text in every row). On 200k generated spans: 254 -> 153 bytes a span,
    // tags 95 -> 29, span_id 16 -> 8. Delta on the times measured larger (rows are in trace order, not
    // time order); the texts keep ZSTD(3). The codecs are metadata; the tags type change is a mutation
    // that rewrites every part, with the new codecs, in the background.
    version: 3,
    name: "column_codecs",
    statements: (o) => [
      `ALTER TABLE ${o.database}.spans${onCluster(o)} ${zstdColumns.spans.map((c) => `MODIFY COLUMN ${c} CODEC(ZSTD(1))`).join(", ")}`,
      `ALTER TABLE ${o.database}.traces${onCluster(o)} ${zstdColumns.traces.map((c) => `MODIFY COLUMN ${c} CODEC(ZSTD(1))`).join(", ")}`,
      `ALTER TABLE ${o.database}.spans${onCluster(o)} MODIFY COLUMN tags Map(LowCardinality(String), String) CODEC(ZSTD(1))`
    ]
  },
  {
    // Memory with large spans (BENCHMARKS, "1 MB prompts"): a granule holds up to 8,192 rows or 10 MiB
    // by default, and merges read each column granule by granule, so 1 MB prompts cost the engine
    // ~10 MiB per column read at once and a lite process passed 1.6 GB at 15,000 of them. Granules
    // of at most 1 MiB (and merge blocks of 1 MiB) keep it near 1 GB; spans of ~1 kB get ~1,000-row
    // granules instead of 8,192 (more marks, measured in BENCHMARKS). `index_granularity_bytes` can
    // only be given when a table is created, so `spans` is rebuilt: see {@link rebuildSpans}.
    version: 4,
    name: "span_granules",
    statements: (o) => rebuildSpans.statements(o, ttlClause(o, "spans")),
    run: (client, o) => rebuildSpans.run(client, o)
  }
]

/** The statements that create the database and the version table, before any migration. */
const bootstrap = (o: SchemaOptions): ReadonlyArray<string> => [
  `CREATE DATABASE IF NOT EXISTS ${o.database}${onCluster(o)}`,
  `CREATE TABLE IF NOT EXISTS ${o.database}.${table}${onCluster(o)}
(
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${engine(o, "ReplacingMergeTree", table)}
ORDER BY version`
]

/** Every DDL statement of a fresh install, in order (what the golden tests pin). */
export const allStatements = (o: SchemaOptions, list: ReadonlyArray<Migration> = migrations): ReadonlyArray<string> => [
  ...bootstrap(o),
  ...list.flatMap((m) => m.statements(o))
]

const checkOptions = (o: SchemaOptions): Effect.Effect<void, StorageUnavailable> => {
  const problem =
    !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.database) ? `invalid database name ${JSON.stringify(o.database)}` :
    o.cluster !== undefined && !clusterName.test(o.cluster) ? `invalid cluster name ${JSON.stringify(o.cluster)}` :
    o.retentionDays !== undefined && !(Number.isInteger(o.retentionDays) && o.retentionDays > 0) ? `retention must be a positive number of days` :
    undefined
  return problem === undefined
    ? Effect.void
    : Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: "ClickHouseMigrations.run", message: problem }))
}

/** UNKNOWN_TABLE, UNKNOWN_DATABASE: the version table is not there yet (nothing was migrated). */
const missingCodes = new Set(["60", "81"])

const isMissing = (error: StorageUnavailable | StorageQueryError): boolean =>
  // Either tag: a missing table is "unavailable" to a writer (see ClickHouseErrors), and still "nothing migrated" here.
  Predicate.hasProperty(error.cause, "code") && missingCodes.has(String(error.cause.code))

/**
 * The recorded migrations, oldest first: none when the version table or database does not exist.
 * Any other failure (unreachable, a refused login or permission) is the error, never "none applied".
 */
const records = (client: ClickHouseClientShape, database: string) =>
  client.query<{ readonly version: number | string; readonly name: string }>(
    "ClickHouseMigrations.applied",
    `SELECT version, any(name) AS name FROM ${database}.${table} GROUP BY version ORDER BY version`
  ).pipe(
    Effect.map((rows) => rows.map((r) => ({ version: Number(r.version), name: r.name }))),
    Effect.catchIf(isMissing, () => Effect.succeed([]))
  )

/** Versions already recorded; none when the version table does not exist yet. */
export const applied = (client: ClickHouseClientShape, database: string) =>
  Effect.map(records(client, database), (rows) => rows.map((r) => r.version))

/** A migration's display name: `1_traces_and_spans`. */
const key = (m: { readonly version: number; readonly name: string }) => `${m.version}_${m.name}`

/** What the database records now (a newer build's migrations included), and what this build would run. */
export const status = (client: ClickHouseClientShape, database: string, list: ReadonlyArray<Migration> = migrations) =>
  Effect.map(records(client, database), (rows) => {
    const done = new Set(rows.map((r) => r.version))
    return {
      applied: rows.map(key),
      pending: [...list].sort((a, b) => a.version - b.version).filter((m) => !done.has(m.version)).map(key)
    }
  })

/**
 * Applies pending migrations in order and records each one after all its statements succeeded;
 * returns the versions it ran. Two processes starting at once both run `IF NOT EXISTS` DDL and
 * both record the version, which the ReplacingMergeTree collapses.
 */
export const run = (
  client: ClickHouseClientShape,
  options: SchemaOptions,
  list: ReadonlyArray<Migration> = migrations
): Effect.Effect<ReadonlyArray<number>, StorageUnavailable | StorageQueryError> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    for (const statement of bootstrap(options)) yield* client.command("ClickHouseMigrations.run", statement)
    const done = new Set(yield* applied(client, options.database))
    const ran: Array<number> = []
    for (const migration of [...list].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue
      if (migration.run !== undefined) yield* migration.run(client, options)
      else for (const statement of migration.statements(options)) yield* client.command(`ClickHouseMigrations.${migration.name}`, statement)
      yield* client.insert("ClickHouseMigrations.run", `${options.database}.${table}`, [{ version: migration.version, name: migration.name }])
      ran.push(migration.version)
    }
    return ran
  })

/** A difference between the configured retention and a table's TTL (days; `undefined`: none). */
export interface RetentionChange {
  readonly table: "spans" | "traces"
  readonly current: number | undefined
  readonly wanted: number | undefined
}

// NaN: a TTL this build did not write (an expression of its own).
const days = (n: number | undefined) =>
  n === undefined ? "none" : Number.isNaN(n) ? "(another expression)" : `${n} day${n === 1 ? "" : "s"}`

/** `spans: TTL none → 30 days`: how a change is shown by `migrate` and in the warning. */
export const describeRetention = (change: RetentionChange) => `${change.table}: TTL ${days(change.current)} → ${days(change.wanted)}`

/**
 * Where the tables' TTL differs from the configured retention (tables that do not exist yet are
 * created with it, so they differ in nothing). Reads only.
 */
export const retentionChanges = (
  client: ClickHouseClientShape,
  o: SchemaOptions
): Effect.Effect<ReadonlyArray<RetentionChange>, StorageUnavailable | StorageQueryError> =>
  Effect.map(
    Effect.forEach(["spans", "traces"] as const, (name) =>
      Effect.map(
        client.query<{ readonly engine_full: string }>(
          "ClickHouseMigrations.retention",
          "SELECT engine_full FROM system.tables WHERE database = {database:String} AND name = {name:String}",
          { database: o.database, name }
        ),
        (rows): ReadonlyArray<RetentionChange> => {
          const engine = rows[0]?.engine_full
          if (engine === undefined) return []
          const found = / TTL .*toIntervalDay\((\d+)\)/.exec(engine)
          const current = found === null ? (/ TTL /.test(engine) ? Number.NaN : undefined) : Number(found[1])
          return current === o.retentionDays ? [] : [{ table: name, current, wanted: o.retentionDays }]
        }
      )),
    (lists) => lists.flat()
  )

/**
 * Brings the tables' TTL in line with the configured retention (only `migrate` calls it: building a
 * layer never changes a TTL). Existing parts are not rewritten at once
 * (`materialize_ttl_after_modify = 0`): rows expire at the next merges. Returns what it changed.
 */
export const applyRetention = (
  client: ClickHouseClientShape,
  o: SchemaOptions
): Effect.Effect<ReadonlyArray<RetentionChange>, StorageUnavailable | StorageQueryError> =>
  Effect.gen(function*() {
    yield* checkOptions(o)
    const changes = yield* retentionChanges(client, o)
    for (const change of changes) {
      yield* client.command(
        "ClickHouseMigrations.retention",
        change.wanted === undefined
          ? `ALTER TABLE ${o.database}.${change.table}${onCluster(o)} REMOVE TTL`
          : `ALTER TABLE ${o.database}.${change.table}${onCluster(o)} MODIFY TTL ${ttl(o, change.table)} SETTINGS materialize_ttl_after_modify = 0`
      )
    }
    return changes
  })

/** One warning when the tables' TTL is not the configured retention; changes nothing. */
const warnRetention = (client: ClickHouseClientShape, o: SchemaOptions) =>
  Effect.flatMap(retentionChanges(client, o), (changes) =>
    changes.length === 0
      ? Effect.void
      : Effect.logWarning(
        `the configured retention (LLMTRACE_CLICKHOUSE_RETENTION_DAYS: ${days(o.retentionDays)}) differs from the tables' in ${o.database} (${
          changes.map(describeRetention).join(", ")
        }); nothing was changed: run \`llmtrace-storage migrate\` to apply it`
      ))

const refuseOutdated = (client: ClickHouseClientShape, options: SchemaOptions) =>
  Effect.gen(function*() {
    const { pending } = yield* status(client, options.database)
    if (pending.length > 0) {
      return yield* new StorageUnavailable({
        backend: "clickhouse",
        operation: "ClickHouseMigrations.ensure",
        message: `the ClickHouse schema in ${options.database} has pending migrations (${pending.join(", ")}) and auto-migration is off (\`autoMigrate: false\`): run \`llmtrace-storage migrate\``
      })
    }
  })

/**
 * Makes sure the schema is current: runs pending migrations when `autoMigrate` is on, otherwise
 * refuses an outdated schema with a message that says what to run. Never changes a TTL: a
 * configured retention that differs from the tables' is one warning (`migrate` applies it).
 */
export const ensure = (
  client: ClickHouseClientShape,
  options: SchemaOptions & { readonly autoMigrate: boolean }
): Effect.Effect<void, StorageUnavailable | StorageQueryError> =>
  Effect.zipRight(
    options.autoMigrate ? Effect.asVoid(run(client, options)) : refuseOutdated(client, options),
    warnRetention(client, options)
  )
