import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import pg from "pg"
import { AuditEvent, AuditQuery, MetadataRepository, NewTenant, uuid } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres, postgresUrl } from "../support/postgres.js"

const live = await livePostgres()

/** A superuser session on the test database (trust auth for `postgres` on this machine and in CI). */
const superuser = (database: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const u = new URL(postgresUrl)
      u.username = process.env.LLMTRACE_POSTGRES_SUPERUSER ?? "postgres"
      u.password = ""
      u.pathname = `/${database}`
      const client = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 3000 })
      client.on("error", () => undefined)
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** Kills every connection the library's pool holds on `database`; returns how many went. */
const terminatePool = (admin: pg.Client, database: string) =>
  Effect.promise(() =>
    admin.query<{ killed: boolean }>(
      "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND application_name = 'llmtrace-storage' AND pid <> pg_backend_pid()",
      [database]
    )
  ).pipe(Effect.map((r) => r.rows.filter((row) => row.killed).length))

describeLive(live, () => describe("PostgreSQL connections killed with pg_terminate_backend", () => {
  it.scopedLive("calls in flight fail with StorageUnavailable, and later calls succeed on the same layer", () =>
    Effect.gen(function*() {
      const database = yield* freshDatabase("llmtrace_fault")
      const context = yield* Layer.build(
        SqlMetadataRepository.layer().pipe(Layer.provide(PostgresClient.layer({ url: database.url, maxConnections: 4 })))
      )
      const repo = yield* MetadataRepository.MetadataRepository.pipe(Effect.provide(context))
      const tenant = NewTenant.make({ name: "fault", apiToken: `token-${uuid()}`, plan: "free" })
      yield* repo.createTenant(tenant)
      const admin = yield* superuser(database.name)
      const event = () => AuditEvent.make({ tenantId: tenant.id, eventType: "e", actor: "a", resource: "r" })

      // 1. Deterministically in flight: writes blocked on a table lock the superuser holds.
      const locker = yield* superuser(database.name)
      yield* Effect.promise(() => locker.query("BEGIN; LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE"))
      const blocked = yield* Effect.forkScoped(Effect.forEach(Array.from({ length: 4 }, event), (e) => Effect.exit(repo.recordAuditEvent(e)), { concurrency: 4 }))
      // Wait until all four are waiting on the lock, then kill their connections.
      yield* Effect.promise(() =>
        admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'llmtrace-storage' AND wait_event_type = 'Lock'")
      ).pipe(Effect.map((r) => r.rows[0]!.n), Effect.repeat({ until: (n) => n >= 4, schedule: Schedule.spaced("50 millis") }), Effect.timeout("10 seconds"))
      const killed = yield* terminatePool(admin, database.name)
      expect(killed).toBeGreaterThanOrEqual(4)
      const exits = yield* Fiber.join(blocked).pipe(Effect.timeout("15 seconds"))
      yield* Effect.promise(() => locker.query("ROLLBACK"))
      for (const exit of exits) {
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(error?._tag, String(exit.cause)).toBe("StorageUnavailable")
        }
      }

      // 2. Under load: killed again and again while 8 fibers keep calling; every failure is typed.
      const failures: Array<string> = []
      let succeeded = 0
      const worker = Effect.gen(function*() {
        for (let i = 0; i < 60; i++) {
          const exit = yield* Effect.exit(i % 2 === 0 ? repo.recordAuditEvent(event()) : repo.queryAuditEvents(AuditQuery.make({ tenantId: tenant.id, limit: 5 })))
          if (Exit.isSuccess(exit)) succeeded++
          else failures.push(exit.cause._tag === "Fail" ? (exit.cause.error._tag === "StorageUnavailable" ? exit.cause.error._tag : `${exit.cause.error._tag}: ${exit.cause.error.message} ${JSON.stringify((exit.cause.error as { cause?: { cause?: unknown } }).cause?.cause)}`) : `defect or interruption: ${String(exit.cause)}`)
        }
      })
      const workers = yield* Effect.forkScoped(Effect.all(Array.from({ length: 8 }, () => worker), { concurrency: "unbounded" }))
      let kills = 0
      for (let round = 0; round < 5; round++) {
        yield* Effect.sleep("100 millis")
        kills += yield* terminatePool(admin, database.name)
      }
      yield* Fiber.join(workers).pipe(Effect.timeout("60 seconds"))
      // The kills happened: connections were terminated while the workers ran.
      expect(kills).toBeGreaterThan(0)
      expect(failures.filter((tag) => tag !== "StorageUnavailable")).toEqual([])
      expect(succeeded + failures.length).toBe(8 * 60)

      // 3. Recovery on the same layer: the pool replaces the dead connections.
      yield* repo.healthCheck().pipe(Effect.retry({ times: 5, schedule: Schedule.spaced("200 millis") }))
      const after = yield* Effect.forEach(Array.from({ length: 20 }, event), (e) => Effect.exit(repo.recordAuditEvent(e)), { concurrency: 4 })
      expect(after.filter(Exit.isFailure)).toEqual([])
      expect((yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: tenant.id, limit: 10_000 }))).length).toBeGreaterThanOrEqual(20)
      console.log(`pg_terminate_backend: ${killed} in-flight calls killed, then ${kills} connections in 5 rounds under load (${failures.length} typed failures, ${succeeded} successes); recovered`)
    }), 120_000)
}))
