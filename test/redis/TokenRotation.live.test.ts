import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { CachedMetadataRepository, hashApiToken, MetadataRepository, NewTenant, TokenChanges } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { RedisCache, RedisClient, RedisTokenChanges } from "../../src/redis/index.js"
import { cachedMetadataRepositoryContract } from "../contract/CachedMetadataRepositoryContract.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres, scopedDatabase } from "../support/postgres.js"
import { dropPrefixOnClose, liveRedis, rawClient, redisUrl, testPrefix } from "../support/redis.js"

const live = (await livePostgres()) && (await liveRedis())
const root = fileURLToPath(new URL("../..", import.meta.url))
const watcher = fileURLToPath(new URL("../support/token-watcher.ts", import.meta.url))

/** What a test sees of one process's channel: what it heard, and a switch that stops its notices. */
interface Controls {
  readonly heard: Array<boolean>
  readonly changed: Array<string>
  muted: boolean
}

/** One process's stack: its own PostgreSQL pool, Redis connections and in-process level; only the servers are shared. */
const processStack = (url: string, prefix: string, { changed, heard, ...controls }: Controls) => {
  const recorded = Layer.effect(
    TokenChanges.TokenChanges,
    Effect.map(RedisTokenChanges.fromClient, (changes): TokenChanges.TokenChangesShape => ({
      publish: (hashes) => Effect.suspend(() => controls.muted ? Effect.void : changes.publish(hashes)),
      listen: (listener) => changes.listen({ changed: (hash) => {
        changed.push(hash)
        listener.changed(hash)
      }, listening: (up) => {
        heard.push(up)
        listener.listening(up)
      } })
    }))
  )
  // An in-process entry trusted for an hour: only a heard change (or a lost subscription) can drop it.
  return CachedMetadataRepository.layer({ localTtl: "1 hour" }).pipe(
    Layer.provide(SqlMetadataRepository.layer().pipe(Layer.provide(PostgresClient.layer({ url: Redacted.make(url), maxConnections: 2 })))),
    Layer.provide(Layer.merge(RedisCache.layerFromClient, recorded)),
    Layer.provideMerge(RedisClient.layer({ url: Redacted.make(redisUrl), prefix }))
  )
}

/** Polls `check` every millisecond until it holds. */
const eventually = (check: Effect.Effect<boolean, unknown>) =>
  Effect.gen(function*() {
    while (!(yield* check)) yield* Effect.sleep("1 millis")
  })

/**
 * Puts a token's tenant into a process's in-process level: once the process has heard the create's
 * notice, no notice is pending, so its next lookup keeps its answer (an hour, in these stacks).
 */
const warm = (repo: MetadataRepository.MetadataRepositoryShape, controls: Controls, token: string) =>
  Effect.gen(function*() {
    yield* eventually(Effect.sync(() => controls.changed.includes(hashApiToken(token))))
    expect(Option.isSome(yield* repo.getTenantByToken(token))).toBe(true)
  })

describeLive(live, () => {
  const prefix = testPrefix("rotation-contract")
  // The whole cached contract, with its paused-lookup races, on PostgreSQL + Redis with the in-process level on.
  cachedMetadataRepositoryContract(
    "redis cache with the in-process level over postgres",
    Layer.merge(RedisCache.layer({ url: Redacted.make(redisUrl), prefix }), dropPrefixOnClose(prefix)),
    {
      clock: "real",
      excludeTestServices: true,
      repository: SqlMetadataRepository.layer().pipe(Layer.provide(scopedDatabase)),
      changes: RedisTokenChanges.layer({ url: Redacted.make(redisUrl), prefix })
    }
  )

  describe("rotation across processes sharing Redis and PostgreSQL", () => {
    const withTwoProcesses = <A, E>(
      f: (a: MetadataRepository.MetadataRepositoryShape, b: MetadataRepository.MetadataRepositoryShape, controls: { a: Controls; b: Controls }, prefix: string) => Effect.Effect<A, E>
    ) =>
      Effect.scoped(Effect.flatMap(
        freshDatabase("llmtrace_rotation"),
        ({ url }) =>
          Effect.gen(function*() {
            const prefix = testPrefix("rotation")
            const controls = { a: { heard: [], changed: [], muted: false }, b: { heard: [], changed: [], muted: false } }
            const a = yield* Layer.build(processStack(Redacted.value(url), prefix, controls.a))
            const b = yield* Layer.build(processStack(Redacted.value(url), prefix, controls.b))
            yield* Layer.build(dropPrefixOnClose(prefix))
            // Both subscribed before anything changes.
            yield* eventually(Effect.sync(() => controls.a.heard.at(-1) === true && controls.b.heard.at(-1) === true))
            return yield* f(
              MetadataRepository.MetadataRepository.pipe(Effect.provide(a), Effect.runSync),
              MetadataRepository.MetadataRepository.pipe(Effect.provide(b), Effect.runSync),
              controls,
              prefix
            )
          }).pipe(Effect.scoped)
      ))

    it.live("A rotates, B refuses the old token (its in-process entry, trusted for an hour, dropped by the notice)", () =>
      withTwoProcesses((a, b, controls) =>
        Effect.gen(function*() {
          const t = NewTenant.make({ name: "shared", apiToken: `tok-${randomUUID()}`, plan: "pro" })
          yield* a.createTenant(t)
          yield* warm(b, controls.b, t.apiToken)
          const rotated = `tok-${randomUUID()}`
          yield* a.updateTenant({ ...t, apiToken: rotated })
          const returned = performance.now()
          // A itself refuses at once.
          expect(Option.isNone(yield* a.getTenantByToken(t.apiToken))).toBe(true)
          yield* eventually(Effect.map(b.getTenantByToken(t.apiToken), Option.isNone))
          console.log(`B refused the rotated token ${(performance.now() - returned).toFixed(2)} ms after A's update returned`)
          for (let i = 0; i < 5; i++) expect(Option.isNone(yield* b.getTenantByToken(t.apiToken))).toBe(true)
          expect(Option.getOrThrow(yield* b.getTenantByToken(rotated)).id).toBe(t.id)
          // A delete, likewise.
          yield* a.deleteTenant(t.id)
          yield* eventually(Effect.map(b.getTenantByToken(rotated), Option.isNone))
        })
      ), 120_000)

    it.live("in two OS processes: A rotates, B (its in-process entry trusted for an hour) refuses", () =>
      Effect.scoped(Effect.flatMap(
        freshDatabase("llmtrace_rotation"),
        ({ url }) =>
          Effect.gen(function*() {
            const prefix = testPrefix("rotation-processes")
            const controls: Controls = { heard: [], changed: [], muted: false }
            const a = MetadataRepository.MetadataRepository.pipe(
              Effect.provide(yield* Layer.build(processStack(Redacted.value(url), prefix, controls))),
              Effect.runSync
            )
            yield* Layer.build(dropPrefixOnClose(prefix))
            const proc = yield* Effect.acquireRelease(
              Effect.sync(() =>
                spawn(process.execPath, ["--import", "tsx", watcher, Redacted.value(url), redisUrl, prefix, "1 hour"], { cwd: root, stdio: ["pipe", "pipe", "inherit"] })
              ),
              (p) => Effect.sync(() => p.kill("SIGKILL"))
            )
            const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
            const said = Effect.promise(() => lines.next()).pipe(Effect.map((next) => next.done === true ? "(exited)" : next.value))
            expect(yield* said).toBe("ready")
            for (let round = 0; round < 3; round++) {
              const t = NewTenant.make({ name: `round ${round}`, apiToken: `tok-${randomUUID()}`, plan: "pro" })
              yield* a.createTenant(t)
              proc.stdin.write(`watch ${t.apiToken}\n`)
              expect(yield* said).toBe("watching")
              yield* a.updateTenant({ ...t, apiToken: `tok-${randomUUID()}` })
              const returned = performance.timeOrigin + performance.now()
              const refused = yield* said
              expect(refused).toMatch(/^refused \d/)
              console.log(`process B refused the rotated token ${(Number(refused.slice(8)) - returned).toFixed(2)} ms after A's update returned`)
            }
            proc.stdin.end()
          }).pipe(Effect.scoped)
      )), 120_000)

    it.live("a lost subscription clears B's in-process level and bypasses it until the subscription is back", () =>
      withTwoProcesses((a, b, controls, prefix) =>
        Effect.gen(function*() {
          const t = NewTenant.make({ name: "killed", apiToken: `tok-${randomUUID()}`, plan: "pro" })
          yield* a.createTenant(t)
          yield* warm(b, controls.b, t.apiToken)
          const admin = rawClient()
          admin.on("error", () => undefined)
          yield* Effect.promise(() => admin.connect())
          const name = RedisTokenChanges.subscriberName(prefix)
          const clients = (yield* Effect.promise(() => admin.call("CLIENT", "LIST", "TYPE", "pubsub") as Promise<string>)).split("\n")
          const ids = clients.filter((line) => line.includes(` name=${name} `)).map((line) => /\bid=(\d+)/.exec(line)![1]!)
          // A's and B's subscribers (same prefix, same name): both go; A's notices are muted below anyway.
          expect(ids).toHaveLength(2)
          const heardByB = controls.b.heard
          const losses = heardByB.filter((up) => !up).length
          for (const id of ids) expect(yield* Effect.promise(() => admin.call("CLIENT", "KILL", "ID", id))).toBe(1)
          // B hears the loss...
          yield* eventually(Effect.sync(() => heardByB.filter((up) => !up).length > losses))
          // ...and a change B never hears: A's notice is not sent at all (as if B was still down when it
          // went out). Only what B did on losing the subscription can make B refuse.
          controls.a.muted = true
          const rotated = `tok-${randomUUID()}`
          yield* a.updateTenant({ ...t, apiToken: rotated })
          // Refused: B's in-process entry (trusted for an hour) is gone, whether or not the subscription is back yet.
          expect(Option.isNone(yield* b.getTenantByToken(t.apiToken))).toBe(true)
          // The subscription comes back by itself, and the new token is served.
          yield* eventually(Effect.sync(() => heardByB.at(-1) === true))
          expect(Option.getOrThrow(yield* b.getTenantByToken(rotated)).id).toBe(t.id)
          admin.disconnect()
        })
      ), 120_000)
  })
})

