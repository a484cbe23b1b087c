/**
 * PostgreSQL metadata: the repository versus the raw `pg` driver running the same statements,
 * in one run, at concurrency 1 and 50, ours and raw alternating within each repetition.
 * `runPostgres` is called by bench/run.ts (`npm run bench`); `npm run bench:postgres` runs it alone
 * (LLMTRACE_POSTGRES_URL as in tests; BENCH_REPS, default 5; BENCH_OPS, default 2000).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { AuditEvent, AuditQuery, MetadataRepository, PostgresClient, SqlMetadataRepository, NewTenant, apiTokenPrefix, hashApiToken } from "../src/index.js"
import { randomBytes } from "node:crypto"
import { type CaseResult, compare, isMain, machine, pool, table } from "./Harness.js"

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
    SqlMetadataRepository.layer().pipe(Layer.provide(PostgresClient.layer({ url: Redacted.make(url), maxConnections: POOL })))
  )
  const raw = new pg.Pool({ connectionString: url, max: POOL })
  try {
    const repo = await runtime.runPromise(MetadataRepository.MetadataRepository)
    const run = <A, E>(effect: Effect.Effect<A, E>) => runtime.runPromise(effect)

    const tenants = Array.from({ length: 1000 }, (_, i) => NewTenant.make({ name: `tenant ${i}`, apiToken: `token-${i}-${crypto.randomUUID()}`, plan: "pro", config: { region: "eu", rpm: 600 } }))
    await run(Effect.forEach(tenants, repo.createTenant, { concurrency: 10, discard: true }))
    const auditTenant = tenants[0]!
    await run(Effect.forEach(Array.from({ length: 5000 }, (_, i) => AuditEvent.make({ tenantId: auditTenant.id, eventType: i % 3 === 0 ? "key.created" : "tenant.updated", actor: "admin", resource: "tenant", data: { i }, timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000) })), repo.recordAuditEvent, { concurrency: 10, discard: true }))
    await raw.query("SELECT 1")

    const rows: Array<CaseResult> = []
    const ops = o.ops
    for (const concurrency of o.concurrencies) {
      const common = { group: GROUP, unit: "ops", concurrency, reps: o.reps, aim: ">= 0.8x" }
      rows.push(await compare({
        ...common, case: `getTenantByToken, concurrency ${concurrency}`, ops,
        ours: () => run(Effect.forEach(Array.from({ length: ops }, (_, i) => tenants[i % tenants.length]!.apiToken), repo.getTenantByToken, { concurrency, discard: true })),
        baseline: () => pool(ops, concurrency, (i) => raw.query("SELECT * FROM tenants WHERE api_token_hash = $1", [hashApiToken(tenants[i % tenants.length]!.apiToken)]))
      }))
      rows.push(await compare({
        ...common, case: `createTenant, concurrency ${concurrency}`, ops,
        ours: () => run(Effect.forEach(Array.from({ length: ops }, () => NewTenant.make({ name: "n", apiToken: crypto.randomUUID(), plan: "free", config: { a: 1 } })), repo.createTenant, { concurrency, discard: true })),
        baseline: () => pool(ops, concurrency, () => {
          const token = crypto.randomUUID()
          return raw.query("INSERT INTO tenants (id, name, api_token_hash, api_token_prefix, plan, created_at, config) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)", [crypto.randomUUID(), "n", hashApiToken(token), apiTokenPrefix(token), "free", new Date(), JSON.stringify({ a: 1 })])
        })
      }))
      const audit = AuditQuery.make({ tenantId: auditTenant.id, eventType: "key.created", limit: 50 })
      const auditOps = Math.max(1, Math.floor(ops / 4))
      rows.push(await compare({
        ...common, case: `queryAuditEvents (50 of 5000), concurrency ${concurrency}`, ops: auditOps,
        ours: () => run(Effect.forEach(Array.from({ length: auditOps }), () => repo.queryAuditEvents(audit), { concurrency, discard: true })),
        baseline: () => pool(auditOps, concurrency, () => raw.query("SELECT * FROM audit_events WHERE (tenant_id = $1 AND event_type = $2) ORDER BY timestamp DESC, id DESC LIMIT $3 OFFSET $4", [auditTenant.id, "key.created", 50, 0]))
      }))
    }
    return rows
  } finally {
    await raw.end()
    await runtime.dispose()
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

export const postgresHeading = (o: PostgresOptions) =>
  `PostgreSQL on loopback, repository (@effect/sql-pg, pool ${POOL}) vs raw \`pg\` (pool ${POOL}) running the same statements, ` +
  `${o.ops} operations per run (queryAuditEvents ${Math.floor(o.ops / 4)}), median of ${o.reps} paired repetitions.`

if (isMain(import.meta.url)) {
  const o: PostgresOptions = { ops: Number(process.env.BENCH_OPS ?? 2000), reps: Number(process.env.BENCH_REPS ?? 5), concurrencies: [1, 50] }
  runPostgres(o).then((rows) => console.log(`### ${GROUP}\n\n${postgresHeading(o)}\n\nMachine: ${machine()}\n\n${table(rows)}\n`))
    .catch((error: unknown) => {
      console.error(error)
      process.exitCode = 1
    })
}
