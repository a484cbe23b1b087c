/**
 * PostgreSQL metadata: the repository versus the raw `pg` driver running the same statements
 * the same way (named prepared statements, as the repository runs them on its pool), in one run, at concurrency 1 and 50, ours and raw alternating within each repetition. A third
 * contender in the same rotation runs the same statement text through @effect/sql-pg alone
 * (`sql.unsafe`, no repository): what @effect/sql-pg's own statement path costs over raw `pg`,
 * apart from ours. Rows run with no tracer installed unless they say "tracer installed".
 * `runPostgres` is called by bench/run.ts (`npm run bench`); `npm run bench:postgres` runs it alone
 * (LLMTRACE_POSTGRES_URL as in tests; BENCH_REPS, default 5; BENCH_OPS, default 2000).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type * as Tracer from "effect/Tracer"
import pg from "pg"
import { AuditEvent, AuditQuery, MetadataRepository, NewTenant, type TenantId, apiTokenPrefix, hashApiToken } from "../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../src/postgres/index.js"
import { randomBytes } from "node:crypto"
import { type CaseResult, compare, countingTracer, isMain, machine, pool, table } from "./Harness.js"

const POOL = 20
/** The server the live suites use (its role needs CREATEDB); the benchmark works in a database of its own, dropped at the end. */
const postgresUrl = process.env.LLMTRACE_POSTGRES_URL ?? "postgres://llmtrace:llmtrace@localhost:5432/llmtrace"
const admin = async (sql: string) => {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
const databaseUrl = (name: string) => {
  const u = new URL(postgresUrl)
  u.pathname = `/${name}`
  return u.toString()
}
const GROUP = "PostgreSQL metadata"

/**
 * The statements the repository runs, as raw `pg` and @effect/sql-pg alone run them; both hash the
 * token in their timed part, as the repository does. Raw `pg` runs them as named prepared
 * statements, as the repository does (src/internal/sql/PgPrepared.ts); @effect/sql-pg can only send them unnamed.
 */
const statements = {
  byToken: "SELECT id, name, api_token_hash, api_token_prefix, plan, created_at, config FROM tenants WHERE api_token_hash = $1",
  insertTenant: "INSERT INTO tenants (id, name, api_token_hash, api_token_prefix, plan, created_at, config) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
}

export interface PostgresOptions {
  readonly ops: number
  readonly reps: number
  readonly concurrencies: ReadonlyArray<number>
}

export const runPostgres = async (o: PostgresOptions): Promise<ReadonlyArray<CaseResult>> => {
  const name = `llmtrace_bench_${randomBytes(6).toString("hex")}`
  await admin(`CREATE DATABASE ${name}`)
  const url = databaseUrl(name)
  const runtime = ManagedRuntime.make(
    SqlMetadataRepository.layer().pipe(Layer.provideMerge(PostgresClient.layer({ url: Redacted.make(url), maxConnections: POOL })))
  )
  // The same repository with the settings of `pooler: "transaction"` (every statement unnamed, the
  // statement timeout kept by the client), on the same direct server: what naming statements buys.
  const unnamedRuntime = ManagedRuntime.make(
    SqlMetadataRepository.layer().pipe(Layer.provideMerge(PostgresClient.layer({ url: Redacted.make(url), maxConnections: POOL, pooler: "transaction" })))
  )
  const raw = new pg.Pool({ connectionString: url, max: POOL })
  // an idle connection the server drops (a restart, pg_terminate_backend) is reported, not an unhandled crash
  raw.on("error", (error) => console.error(`raw pg pool: ${error.message}`))
  try {
    const repo = await runtime.runPromise(MetadataRepository.MetadataRepository)
    const unnamedRepo = await unnamedRuntime.runPromise(MetadataRepository.MetadataRepository)
    const sql = await runtime.runPromise(SqlClient.SqlClient)
    const run = <A, E>(effect: Effect.Effect<A, E>) => runtime.runPromise(effect)
    /** `ops` calls of `op` through the runtime, `concurrency` at a time */
    const effectRun = (ops: number, concurrency: number, op: (i: number) => Effect.Effect<unknown, unknown>, tracer?: Tracer.Tracer) => {
      const all = Effect.forEach(Array.from({ length: ops }, (_, i) => i), op, { concurrency, discard: true })
      return run(tracer === undefined ? all : Effect.withTracer(all, tracer))
    }

    const tenants = Array.from({ length: 1000 }, (_, i) => NewTenant.make({ name: `tenant ${i}`, apiToken: `token-${i}-${crypto.randomUUID()}`, plan: "pro", config: { region: "eu", rpm: 600 } }))
    await run(Effect.forEach(tenants, repo.createTenant, { concurrency: 10, discard: true }))
    const auditTenant = tenants[0]!
    await run(Effect.forEach(Array.from({ length: 5000 }, (_, i) => AuditEvent.make({ tenantId: auditTenant.id, eventType: i % 3 === 0 ? "key.created" : "tenant.updated", actor: "admin", resource: "tenant", data: { i }, timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000) })), repo.recordAuditEvent, { concurrency: 10, discard: true }))
    await raw.query("SELECT 1")

    const rows: Array<CaseResult> = []
    const ops = o.ops
    for (const concurrency of o.concurrencies) {
      const common = { group: GROUP, unit: "ops", concurrency, reps: o.reps }
      const token = (i: number) => tenants[i % tenants.length]!.apiToken
      const sqlPgAlone = (statement: string, params: (i: number) => ReadonlyArray<unknown>) =>
        ({ label: "@effect/sql-pg alone (sql.unsafe, same statement)", run: () => effectRun(ops, concurrency, (i) => sql.unsafe(statement, params(i))) })
      rows.push(await compare({
        ...common, id: `postgres.getTenantByToken.${concurrency}`, aim: concurrency === 1 ? ">= 0.7x" : ">= 0.55x",
        case: `getTenantByToken, concurrency ${concurrency}`, ops,
        ours: () => effectRun(ops, concurrency, (i) => repo.getTenantByToken(token(i))),
        baseline: () => pool(ops, concurrency, (i) => raw.query({ name: "by_token", text: statements.byToken, values: [hashApiToken(token(i))] })),
        extra: sqlPgAlone(statements.byToken, (i) => [hashApiToken(token(i))])
      }))
      rows.push(await compare({
        ...common, id: `postgres.preparedByName.${concurrency}`,
        case: `getTenantByToken prepared by name (pooler none) vs unnamed (pooler transaction), concurrency ${concurrency}`, ops,
        note: "both the repository on the same direct server; baseline: every statement parsed and planned on each call",
        ours: () => effectRun(ops, concurrency, (i) => repo.getTenantByToken(token(i))),
        baseline: () => unnamedRuntime.runPromise(Effect.forEach(Array.from({ length: ops }, (_, i) => i), (i) => unnamedRepo.getTenantByToken(token(i)), { concurrency, discard: true }))
      }))
      const counting = countingTracer()
      rows.push(await compare({
        ...common, case: `getTenantByToken, concurrency ${concurrency}, tracer installed`, ops,
        ours: () => effectRun(ops, concurrency, (i) => repo.getTenantByToken(token(i)), counting.tracer),
        baseline: () => pool(ops, concurrency, (i) => raw.query({ name: "by_token", text: statements.byToken, values: [hashApiToken(token(i))] }))
      }))
      if (counting.count() < ops) throw new Error(`the tracer saw ${counting.count()} spans for ${ops} calls`)
      const insertParams = () => {
        const token = crypto.randomUUID()
        return [crypto.randomUUID(), "n", hashApiToken(token), apiTokenPrefix(token), "free", new Date(), JSON.stringify({ a: 1 })]
      }
      rows.push(await compare({
        ...common, id: `postgres.createTenant.${concurrency}`, aim: concurrency === 1 ? ">= 0.75x" : ">= 0.65x",
        case: `createTenant, concurrency ${concurrency}`, ops,
        // The tenant as a plain object of the NewTenant type, built as the raw side builds its parameters (two UUIDs
        // and a Date); `NewTenant.make` would time Schema's defaults merge (~3% of the run), which is not the
        // repository's work. The repository validates it; the raw side validates nothing.
        ours: () => effectRun(ops, concurrency, () => repo.createTenant({ id: crypto.randomUUID() as TenantId, name: "n", apiToken: crypto.randomUUID(), plan: "free", createdAt: new Date(), config: { a: 1 } })),
        baseline: () => pool(ops, concurrency, () => raw.query({ name: "insert_tenant", text: statements.insertTenant, values: insertParams() })),
        extra: sqlPgAlone(statements.insertTenant, insertParams)
      }))
      const audit = AuditQuery.make({ tenantId: auditTenant.id, eventType: "key.created", limit: 50 })
      const auditOps = Math.max(1, Math.floor(ops / 4))
      rows.push(await compare({
        ...common, case: `queryAuditEvents (50 of 5000), concurrency ${concurrency}`, ops: auditOps,
        ours: () => effectRun(auditOps, concurrency, () => repo.queryAuditEvents(audit)),
        baseline: () => pool(auditOps, concurrency, () => raw.query({ name: "audit", text: "SELECT id, tenant_id, event_type, actor, resource, data, timestamp FROM audit_events WHERE (tenant_id = $1 AND event_type = $2) ORDER BY timestamp DESC, id DESC LIMIT $3 OFFSET $4", values: [auditTenant.id, "key.created", 50, 0] }))
      }))
    }
    return rows
  } finally {
    await raw.end()
    await runtime.dispose()
    await unnamedRuntime.dispose()
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

export const postgresHeading = (o: PostgresOptions) =>
  `PostgreSQL on loopback, repository (pool ${POOL}; its statements run as named prepared statements on the pool behind @effect/sql-pg) ` +
  `vs raw \`pg\` (pool ${POOL}) running the same statements as named prepared statements, ` +
  `${o.ops} operations per run (queryAuditEvents ${Math.floor(o.ops / 4)}), median of ${o.reps} paired repetitions. ` +
  "Rows run with no tracer installed; \"tracer installed\" rows run under a tracer that makes and counts every span " +
  "(Effect's built-in spans through a `Tracer.make`, standing in for OpenTelemetry, which is not a dependency)."

/** The third contender: @effect/sql-pg running the same statement alone, against raw `pg` and against the repository. */
export const postgresExtraTable = (rows: ReadonlyArray<CaseResult>): string =>
  [
    "| case | @effect/sql-pg alone ops/s | it / raw pg (paired) | repository / it (paired) |",
    "|---|---:|---:|---:|",
    ...rows.flatMap((r) => r.extra === undefined ? [] : [
      `| ${r.case} | ${Math.round(r.extra.figures.throughput.median)} (${Math.round(r.extra.figures.throughput.min)}–${Math.round(r.extra.figures.throughput.max)}) | ` +
      `${r.extra.vsBaseline === undefined ? "?" : `${r.extra.vsBaseline.median.toFixed(2)}x`} | ${r.extra.pairedRatio.median.toFixed(2)}x |`
    ])
  ].join("\n")

if (isMain(import.meta.url)) {
  const o: PostgresOptions = { ops: Number(process.env.BENCH_OPS ?? 2000), reps: Number(process.env.BENCH_REPS ?? 5), concurrencies: [1, 50] }
  runPostgres(o).then((rows) => console.log(`### ${GROUP}\n\n${postgresHeading(o)}\n\nMachine: ${machine()}\n\n${table(rows)}\n\n${postgresExtraTable(rows)}\n`))
    .catch((error: unknown) => {
      console.error(error)
      process.exitCode = 1
    })
}
