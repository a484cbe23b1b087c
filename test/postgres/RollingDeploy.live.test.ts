import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { MetadataRepository, NewTenant } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"

const run = promisify(execFile)
const child = fileURLToPath(new URL("../support/alter-child.ts", import.meta.url))
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))

const connections = 4

describeLive(await livePostgres(), () => {
  it.live("a process with warm prepared statements keeps answering lookups while a second process migrates the table under them", () =>
    Effect.scoped(Effect.gen(function*() {
      const database = yield* freshDatabase("llmtrace_rolling")
      const stack = SqlMetadataRepository.layer().pipe(Layer.provide(PostgresClient.layer({ url: database.url, maxConnections: connections })))
      const repo = yield* Effect.map(Layer.build(stack), (context) => Effect.runSync(Effect.provide(MetadataRepository.MetadataRepository, context)))
      const tenants = Array.from({ length: 8 }, (_, i) => NewTenant.make({ name: `t${i}`, apiToken: `tok-${randomUUID()}`, plan: "pro" }))
      yield* Effect.forEach(tenants, (t) => repo.createTenant(t), { discard: true })
      const round = Effect.forEach(
        tenants,
        (t) => Effect.either(Effect.map(repo.getTenantByToken(t.apiToken), (found) => Option.map(found, (x) => x.id))),
        { concurrency: connections * 2 }
      )
      // Warm: every pooled connection has prepared the lookup.
      for (let i = 0; i < 5; i++) yield* round
      // The second process migrates while this one keeps looking tokens up, and this one goes on
      // afterwards until every connection has run the lookup on the new schema.
      const migration = run(tsx, [child, Redacted.value(database.url)], { timeout: 120_000 })
      let finished = false
      void migration.finally(() => (finished = true)).catch(() => undefined)
      const results: Array<Either.Either<Option.Option<string>, { readonly message: string }>> = []
      let after = 0
      while (!finished || after < 20) {
        results.push(...(yield* round))
        if (finished) after++
      }
      expect((yield* Effect.promise(() => migration)).stdout.trim()).toBe("migrated")
      const failed = results.filter(Either.isLeft).map((r) => r.left.message)
      expect(failed).toEqual([])
      expect(results.length).toBeGreaterThan(20 * tenants.length)
      // The new column is there, the lookups still return the tenants they did.
      const found = Option.getOrThrow(yield* repo.getTenantByToken(tenants[0]!.apiToken))
      expect(found.id).toBe(tenants[0]!.id)
      expect(found.plan).toBe("pro")
    })), 180_000)
})
