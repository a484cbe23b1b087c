import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { randomUUID } from "node:crypto"
import {
  MemoryCache,
  MetadataRepository,
  NewTenant,
  PostgresClient,
  SqlMetadataRepository,
  TokenChanges
} from "../../src/index.js"
import { classify } from "../../src/sql/SqlErrors.js"
import { metadataRepositoryContract } from "../../src/testing/MetadataRepositoryContract.js"
import { cachedMetadataRepositoryContract } from "../contract/CachedMetadataRepositoryContract.js"
import { tokenMigrationSuite, tokensAtRestContract } from "../contract/TokensAtRestContract.js"
import { describeLive } from "../support/live.js"
import { pgbouncerInstalled, privatePgbouncer } from "../support/pgbouncer.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"
import { activeStatements } from "../support/postgresActivity.js"

const server = await livePostgres()
const live = server.available ? await pgbouncerInstalled() : server

type Mode = "transaction" | "session"

/** A fresh database reached through a private pgbouncer in `mode` with default settings. */
const behind = (mode: Mode, options: Partial<PostgresClient.Options> = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const bouncer = yield* privatePgbouncer(mode)
    const database = yield* freshDatabase("llmtrace_bouncer")
    return PostgresClient.layer({ url: Redacted.make(bouncer.url(database.name)), maxConnections: 10, pooler: mode, ...options })
  }))

const repositoryBehind = (mode: Mode, options: Partial<PostgresClient.Options> = {}) =>
  SqlMetadataRepository.layer().pipe(Layer.provideMerge(behind(mode, options)))

/** Fails `self` with what the repository would make of its driver error. */
const classified = <A>(self: Effect.Effect<A, SqlError>) => Effect.mapError(self, classify("postgres", "test"))

describeLive(live, () => {
  // The suites every PostgreSQL layer passes, through a transaction-mode pooler.
  metadataRepositoryContract("postgres behind pgbouncer (transaction mode)", SqlMetadataRepository.layer().pipe(Layer.provide(behind("transaction"))), {
    excludeTestServices: true
  })
  tokensAtRestContract("postgres behind pgbouncer (transaction mode)", repositoryBehind("transaction"), { excludeTestServices: true })
  tokenMigrationSuite("postgres behind pgbouncer (transaction mode)", () => behind("transaction"))
  // The paused-lookup races of the cached lookup, its repository behind the pooler.
  cachedMetadataRepositoryContract("memory cache with the in-process level over postgres behind pgbouncer (transaction mode)", MemoryCache.layer(), {
    clock: "real",
    excludeTestServices: true,
    repository: SqlMetadataRepository.layer().pipe(Layer.provide(behind("transaction"))),
    changes: TokenChanges.layerLocal
  })

  describe("pgbouncer with default settings", () => {
    it.live("pooler `none` behind it fails at layer build with one line naming the refused startup parameter", () =>
      Effect.gen(function*() {
        const error = yield* Layer.build(behind("transaction", { pooler: "none" })).pipe(Effect.scoped, Effect.flip)
        expect(error._tag).toBe("StorageUnavailable")
        expect(error.message).toMatch(/unsupported startup parameter: options/)
        expect(error.message.split("\n")).toHaveLength(1)
      }), 60_000)

    for (const mode of ["transaction", "session"] as const) {
      it.live(`${mode} mode: 3,000 getTenantByToken calls at concurrency 50, none fails`, () =>
        Effect.gen(function*() {
          const repo = yield* MetadataRepository.MetadataRepository
          const tenants = Array.from({ length: 20 }, (_, i) => NewTenant.make({ name: `t${i}`, apiToken: `tok-${randomUUID()}`, plan: "pro" }))
          yield* Effect.forEach(tenants, (t) => repo.createTenant(t), { discard: true })
          const results = yield* Effect.forEach(
            Array.from({ length: 3000 }, (_, i) => tenants[i % tenants.length]!),
            (t) => Effect.either(Effect.map(repo.getTenantByToken(t.apiToken), (found) => Option.map(found, (x) => x.id))),
            { concurrency: 50 }
          )
          const failed = results.filter((r) => r._tag === "Left")
          expect(failed.map((r) => r._tag === "Left" ? r.left.message : "").slice(0, 3)).toEqual([])
          expect(results.map((r) => r._tag === "Right" ? Option.getOrNull(r.right) : null)).toEqual(results.map((_, i) => tenants[i % tenants.length]!.id))
        }).pipe(Effect.provide(repositoryBehind(mode)), Effect.scoped), 180_000)

      it.live(`${mode} mode: the statement timeout still stops a statement on the server`, () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const { run } = yield* PostgresClient.PgPool
          const marker = `llmtrace-timeout-${randomUUID()}`
          const started = Date.now()
          const error = yield* classified(run(sql`SELECT pg_sleep(30) AS ${sql(marker.replaceAll("-", "_"))}`)).pipe(Effect.flip)
          expect(error._tag).toBe("StorageUnavailable")
          expect(error.message).toMatch(/statement timeout|canceling statement/)
          // Bounded by the 300 ms timeout, not by the 30 s sleep (generous: a loaded machine).
          expect(Date.now() - started).toBeLessThan(10_000)
          // Gone on the server itself, asked directly (not through the pooler).
          expect(yield* activeStatements(marker.replaceAll("-", "_"))).toEqual([])
          // The connection is usable afterwards.
          expect(yield* run(sql<{ one: number }>`SELECT 1 AS one`)).toEqual([{ one: 1 }])
        }).pipe(Effect.provide(behind(mode, { statementTimeout: "300 millis" })), Effect.scoped), 60_000)
    }

    it.live("transaction mode: an interrupted statement is gone from pg_stat_activity within 1 s", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const { run } = yield* PostgresClient.PgPool
        const marker = `llmtrace_interrupt_${randomUUID().replaceAll("-", "_")}`
        const fiber = yield* Effect.fork(run(sql`SELECT pg_sleep(30) AS ${sql(marker)}`))
        yield* activeStatements(marker).pipe(Effect.filterOrFail((rows) => rows.length === 1), Effect.retry(Schedule.spaced("20 millis")))
        yield* Fiber.interrupt(fiber)
        const interrupted = Date.now()
        yield* activeStatements(marker).pipe(Effect.filterOrFail((rows) => rows.length === 0), Effect.retry(Schedule.spaced("20 millis")))
        expect(Date.now() - interrupted).toBeLessThan(1000)
      }).pipe(Effect.provide(behind("transaction")), Effect.scoped), 60_000)
  })
})
