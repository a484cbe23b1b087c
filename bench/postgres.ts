/**
 * PostgreSQL metadata: the repository versus the raw `pg` driver running the same statements,
 * in one run, at concurrency 1 and 50. `npm run bench:postgres` (LLMTRACE_POSTGRES_URL as in tests).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { AuditEvent, AuditQuery, MetadataRepository, PostgresClient, SqlMetadataRepository, Tenant } from "../src/index.js"
import { createDatabase, databaseUrl, dropDatabase } from "../test/support/postgres.js"
import { machine, pool, type Row, table, throughput } from "./Harness.js"

const REPS = Number(process.env.BENCH_REPS ?? 5)
const OPS = Number(process.env.BENCH_OPS ?? 2000)
const POOL = 20

const main = async () => {
  const name = await createDatabase("llmtrace_bench")
  const url = databaseUrl(name)
  const runtime = ManagedRuntime.make(
    SqlMetadataRepository.layer().pipe(Layer.provide(PostgresClient.layer({ url: Redacted.make(url), maxConnections: POOL })))
  )
  const raw = new pg.Pool({ connectionString: url, max: POOL })
  try {
    const repo = await runtime.runPromise(MetadataRepository.MetadataRepository)
    const run = <A, E>(effect: Effect.Effect<A, E>) => runtime.runPromise(effect)

    const tenants = Array.from({ length: 1000 }, (_, i) => Tenant.make({ name: `tenant ${i}`, apiToken: `token-${i}-${crypto.randomUUID()}`, plan: "pro", config: { region: "eu", rpm: 600 } }))
    await run(Effect.forEach(tenants, repo.createTenant, { concurrency: 10, discard: true }))
    const auditTenant = tenants[0]!
    await run(Effect.forEach(Array.from({ length: 5000 }, (_, i) => AuditEvent.make({ tenantId: auditTenant.id, eventType: i % 3 === 0 ? "key.created" : "tenant.updated", actor: "admin", resource: "tenant", data: { i }, timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000) })), repo.recordAuditEvent, { concurrency: 10, discard: true }))
    await raw.query("SELECT 1")

    const rows: Array<Row> = []
    for (const concurrency of [1, 50]) {
      rows.push({
        case: `getTenantByToken, concurrency ${concurrency}`,
        ours: await throughput(OPS, REPS, () => run(Effect.forEach(Array.from({ length: OPS }, (_, i) => tenants[i % tenants.length]!.apiToken), repo.getTenantByToken, { concurrency, discard: true }))),
        baseline: await throughput(OPS, REPS, () => pool(OPS, concurrency, (i) => raw.query("SELECT * FROM tenants WHERE api_token = $1", [tenants[i % tenants.length]!.apiToken])))
      })
      rows.push({
        case: `createTenant, concurrency ${concurrency}`,
        ours: await throughput(OPS, REPS, () => run(Effect.forEach(Array.from({ length: OPS }, () => Tenant.make({ name: "n", apiToken: crypto.randomUUID(), plan: "free", config: { a: 1 } })), repo.createTenant, { concurrency, discard: true }))),
        baseline: await throughput(OPS, REPS, () => pool(OPS, concurrency, () => raw.query("INSERT INTO tenants (id, name, api_token, plan, created_at, config) VALUES ($1, $2, $3, $4, $5, $6::jsonb)", [crypto.randomUUID(), "n", crypto.randomUUID(), "free", new Date(), JSON.stringify({ a: 1 })])))
      })
      const audit = AuditQuery.make({ tenantId: auditTenant.id, eventType: "key.created", limit: 50 })
      rows.push({
        case: `queryAuditEvents (50 of 5000), concurrency ${concurrency}`,
        ours: await throughput(OPS / 4, REPS, () => run(Effect.forEach(Array.from({ length: OPS / 4 }), () => repo.queryAuditEvents(audit), { concurrency, discard: true }))),
        baseline: await throughput(OPS / 4, REPS, () => pool(OPS / 4, concurrency, () => raw.query("SELECT * FROM audit_events WHERE (tenant_id = $1 AND event_type = $2) ORDER BY timestamp DESC, id DESC LIMIT $3 OFFSET $4", [auditTenant.id, "key.created", 50, 0])))
      })
    }
    const report = `### PostgreSQL metadata (repository vs raw \`pg\`, pool ${POOL}, ${OPS} ops per repetition, median of ${REPS})\n\nMachine: ${machine()}, PostgreSQL on loopback.\n\n${table(rows)}\n`
    console.log(report)
  } finally {
    await raw.end()
    await runtime.dispose()
    await dropDatabase(name)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
