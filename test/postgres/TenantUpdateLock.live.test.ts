import { layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import pg from "pg"
import { expect } from "vitest"
import { MetadataRepository, NewTenant, hashApiToken } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { TestStorage } from "../../src/testing/index.js"
import { describeLive } from "../support/live.js"
import { livePostgres, postgresUrl } from "../support/postgres.js"

class Url extends Context.Tag("test/Url")<Url, string>() {}

const database = Layer.unwrapScoped(
  Effect.map(TestStorage.postgresDatabase(Redacted.make(postgresUrl), "llmtrace_update_lock"), (db) =>
    Layer.merge(PostgresClient.layer({ url: db.url, maxConnections: 4 }), Layer.succeed(Url, Redacted.value(db.url))))
)

describeLive(await livePostgres(), () => {
  layer(SqlMetadataRepository.layer().pipe(Layer.provideMerge(database)), { timeout: 60_000, excludeTestServices: true })("PostgreSQL updateTenant", (it) => {
    it.effect("returns the token it replaced even when another transaction changed it while this update waited for the row", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const t = NewTenant.make({ name: "lock", apiToken: `tok-${crypto.randomUUID()}`, plan: "pro", config: {} })
        yield* repo.createTenant(t)
        const between = `tok-${crypto.randomUUID()}`
        // Another session holds the row, mid-change to `between`.
        const url = yield* Url
        const client = Effect.acquireRelease(
          Effect.promise(async () => {
            const c = new pg.Client({ connectionString: url })
            await c.connect()
            return c
          }),
          (c) => Effect.promise(() => c.end())
        )
        const other = yield* client
        // pg_stat_activity is read once per transaction: the watcher must not be inside `other`'s.
        const watcher = yield* client
        yield* Effect.promise(() => other.query("BEGIN"))
        yield* Effect.promise(() => other.query("UPDATE tenants SET api_token_hash = $1 WHERE id = $2", [hashApiToken(between), t.id]))
        const update = yield* Effect.fork(repo.updateTenant({ ...t, apiToken: `tok-${crypto.randomUUID()}` }))
        // Wait until our update is blocked on that row (a backend of this database waiting on a lock).
        yield* Effect.promise(() =>
          watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
        ).pipe(
          Effect.filterOrFail((r) => r.rows[0].n > 0),
          Effect.retry(Schedule.spaced("20 millis"))
        )
        yield* Effect.promise(() => other.query("COMMIT"))
        const before = yield* Fiber.join(update)
        expect(before.apiTokenHash).toBe(hashApiToken(between))
      }).pipe(Effect.scoped))
  })
})
