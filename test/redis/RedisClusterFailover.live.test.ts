import { expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Cache, CachedMetadataRepository, MetadataRepository, NewTenant, TokenChanges } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { RedisCache, RedisClient, RedisConfig, RedisTokenChanges } from "../../src/redis/index.js"
import { describeLive } from "../support/live.js"
import { freshDatabase, livePostgres } from "../support/postgres.js"
import { privateRedisCluster, redisCliInstalled, redisServerInstalled } from "../support/redisServer.js"

const server = await redisServerInstalled()
const cli = server.available ? await redisCliInstalled() : server
const live = cli.available ? await livePostgres() : cli
const root = fileURLToPath(new URL("../..", import.meta.url))
const watcher = fileURLToPath(new URL("../support/token-watcher.ts", import.meta.url))

/** What one call of the load did: when it began and ended (ms, this process), and how it ended. */
interface Outcome {
  readonly kind: "cache" | "token"
  readonly began: number
  readonly ended: number
  readonly failure: string | undefined
}

const now = () => performance.now()

// A Redis Cluster of 3 masters and 3 replicas of this file's own, started with a 2 s
// `cluster-node-timeout` (Redis's default is 15 s) so the failover takes seconds; the client is
// told the same node timeout, and the bound the test holds it to is the one the configuration
// derives from it (RedisConfig.failoverBound), not a figure of the test's.
describeLive(live, () => {
  it.live("a master SIGKILLed under 100 in-flight cache and token calls: typed failures only, answers again within the derived bound, rotations hold, a second process still hears invalidations", () =>
    Effect.gen(function*() {
      const cluster = yield* privateRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 2000 })
      const { url: pgUrl } = yield* freshDatabase("llmtrace_failover")
      const prefix = `failover-${process.pid}:`
      const options: RedisClient.Options = {
        url: Redacted.make("redis://127.0.0.1"),
        clusterNodes: cluster.seeds,
        prefix,
        clusterNodeTimeout: "2 seconds",
        connectTimeout: "2 seconds",
        commandTimeout: "1 second"
      }
      const resolved = RedisConfig.resolve(options)
      const bound = RedisConfig.failoverBound(resolved)
      const context = yield* Layer.build(Layer.mergeAll(
        SqlMetadataRepository.layer().pipe(Layer.provide(PostgresClient.layer({ url: pgUrl, maxConnections: 10 }))),
        Layer.merge(RedisCache.layerFromClient, RedisTokenChanges.layerFromClient).pipe(Layer.provideMerge(RedisClient.layer(options)))
      ))
      const plain = Context.get(context, MetadataRepository.MetadataRepository)
      const cache = Context.get(context, Cache.Cache)
      const redis = Context.get(context, RedisClient.RedisClient)
      // Changes go through the full stack (tombstones and notices); the load's lookups skip the
      // in-process level, so each one asks the shared cache (the cluster) first.
      const repo = yield* CachedMetadataRepository.wrap(plain, cache, { localTtl: "1 hour" }, Context.get(context, TokenChanges.TokenChanges))
      const lookups = yield* CachedMetadataRepository.wrap(plain, cache)

      // 60 tenants, each token looked up once so its answer sits in the shared cache (and has reached the replicas).
      const tenants = Array.from({ length: 60 }, (_, i) => NewTenant.make({ name: `t${i}`, apiToken: `tok-${randomUUID()}`, plan: "pro" }))
      yield* Effect.forEach(tenants, (t) => repo.createTenant(t), { discard: true })
      yield* Effect.forEach(tenants, (t) => repo.getTenantByToken(t.apiToken), { discard: true })
      const victim = yield* cluster.masterOf(prefix + CachedMetadataRepository.tokenKey(tenants[0]!.apiToken))
      const onVictim = yield* Effect.filter(tenants, (t) =>
        Effect.map(cluster.masterOf(prefix + CachedMetadataRepository.tokenKey(t.apiToken)), (m) => m === victim))
      expect(onVictim.length).toBeGreaterThanOrEqual(4)
      let probeKey = ""
      for (let i = 0; probeKey === ""; i++) if ((yield* cluster.masterOf(`${prefix}probe-${i}`)) === victim) probeKey = `probe-${i}`
      yield* cache.set(probeKey, new Uint8Array([1]), "10 minutes")
      yield* Effect.sleep("500 millis")

      // The second process: its own connections and in-process level (entries trusted for an hour).
      const proc = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, ["--import", "tsx", watcher, Redacted.value(pgUrl), "redis://127.0.0.1", prefix, "1 hour", cluster.seeds.join(",")], {
            cwd: root,
            stdio: ["pipe", "pipe", "inherit"]
          })
        ),
        (p) => Effect.sync(() => p.kill("SIGKILL"))
      )
      const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
      // Each wait is bounded and names itself, so a hang fails with what it was waiting for.
      const bounded = <A, E, R>(what: string, wait: Effect.Effect<A, E, R>) =>
        Effect.timeoutFail(wait, { duration: "30 seconds", onTimeout: () => new Error(`hung for 30 s: ${what}`) })
      const said = bounded("the second process's next line", Effect.promise(() => lines.next()).pipe(Effect.map((next) => next.done === true ? "(exited)" : next.value)))
      expect(yield* said).toBe("ready")

      // 100 calls in flight at all times: 50 loops of cache writes and reads, 50 of token lookups.
      const outcomes: Array<Outcome> = []
      let running = true
      // A caller whose call failed waits 10 ms before its next one, as a caller would: while the
      // cluster is not ready a call fails at once, and 100 loops retrying at once would only spin
      // this process's one thread (starving the client's own reconnection of its timers).
      const record = <A, E extends { readonly _tag: string; readonly message: string }>(kind: Outcome["kind"], call: Effect.Effect<A, E>) =>
        Effect.suspend(() => {
          const began = now()
          return Effect.exit(call).pipe(Effect.flatMap((exit) =>
            Effect.suspend(() => {
              outcomes.push({
                kind,
                began,
                ended: now(),
                failure: Exit.isSuccess(exit)
                  ? undefined
                  : exit.cause._tag === "Fail"
                  ? `${exit.cause.error._tag}: ${exit.cause.error.message}`
                  : `not a typed failure: ${Cause.pretty(exit.cause)}`
              })
              return Exit.isSuccess(exit) ? Effect.void : Effect.sleep("10 millis")
            })
          ))
        })
      const cacheLoop = (n: number) =>
        Effect.whileLoop({
          while: () => running,
          body: () =>
            Effect.zipRight(
              record("cache", cache.set(`load-${n}`, new Uint8Array([n]), "1 minute")),
              record("cache", cache.get(`load-${n}`))
            ),
          step: () => undefined
        })
      const stable = tenants.filter((t) => !onVictim.includes(t))
      const tokenLoop = (n: number) =>
        Effect.whileLoop({
          while: () => running,
          body: () => record("token", Effect.flatMap(lookups.getTenantByToken(stable[n % stable.length]!.apiToken), (found) =>
            Option.isSome(found) ? Effect.void : Effect.die(new Error("a stable token was refused")))),
          step: () => undefined
        })
      // Forked into the test's scope: interrupted when it closes, before the clients they use (never left running).
      const load = yield* Effect.forkScoped(Effect.all([
        ...Array.from({ length: 50 }, (_, n) => cacheLoop(n)),
        ...Array.from({ length: 50 }, (_, n) => tokenLoop(n))
      ], { concurrency: "unbounded", discard: true }))
      yield* Effect.sleep("1 second")

      const killed = now()
      yield* victim.kill
      // Rotations during the failover, of tokens whose (cached) answer lives on the dead master's slots.
      const rotated = onVictim.slice(0, 4)
      const rotations = yield* Effect.forkScoped(Effect.forEach(rotated, (t) => Effect.exit(repo.updateTenant({ ...t, apiToken: `tok-${randomUUID()}` })), {
        concurrency: "unbounded"
      }))
      // The cache answers again for the dead master's slots.
      let answered = 0
      let lastFailure = ""
      while (answered === 0) {
        if (now() - killed > Duration.toMillis(bound) + 30_000) {
          return yield* Effect.fail(new Error(`the cache did not answer again for the dead master's slots (last: ${lastFailure}; client ${redis.client.status})`))
        }
        const exit = yield* Effect.exit(cache.get(probeKey))
        if (Exit.isSuccess(exit)) answered = now()
        else {
          lastFailure = exit.cause._tag === "Fail" ? exit.cause.error.message : Cause.pretty(exit.cause)
          yield* Effect.sleep("20 millis")
        }
      }
      const recovery = answered - killed
      const rotationExits = yield* bounded("the rotations during the failover", Fiber.join(rotations))
      yield* Effect.sleep("1 second")
      running = false
      yield* bounded("the 100 loops to stop", Fiber.join(load))

      const failed = outcomes.filter((o) => o.failure !== undefined)
      const during = outcomes.filter((o) => o.ended >= killed)
      console.log(
        `cluster failover (node timeout 2 s): the cache answered again ${(recovery / 1000).toFixed(2)} s after the SIGKILL ` +
          `(bound ${Duration.format(bound)}); ${failed.length} of ${during.length} calls since the kill failed ` +
          `(${failed.filter((o) => o.kind === "cache").length} cache, ${failed.filter((o) => o.kind === "token").length} token); ` +
          `longest call ${Math.max(...outcomes.map((o) => o.ended - o.began)).toFixed(0)} ms`
      )
      // The fault happened: calls on the dead master's slots failed.
      expect(failed.length).toBeGreaterThan(0)
      // Every failure is a typed StorageUnavailable, never a defect or another error.
      expect([...new Set(failed.map((o) => o.failure!.split(":")[0]))]).toEqual(["StorageUnavailable"])
      // Token lookups never failed: they fall back to the database while the cache is unavailable.
      expect(failed.filter((o) => o.kind === "token")).toEqual([])
      // No call hung: each ended within the command timeout (plus scheduling slack on a shared machine).
      expect(Math.max(...outcomes.map((o) => o.ended - o.began))).toBeLessThan(Duration.toMillis(resolved.commandTimeout) + 2000)
      expect(recovery).toBeLessThanOrEqual(Duration.toMillis(bound))

      // Every rotation succeeded, and no rotated token authenticates afterwards (on either level).
      expect(rotationExits.map(Exit.isSuccess)).toEqual(rotated.map(() => true))
      for (const t of rotated) {
        for (let i = 0; i < 3; i++) {
          expect(Option.isNone(yield* repo.getTenantByToken(t.apiToken))).toBe(true)
          expect(Option.isNone(yield* lookups.getTenantByToken(t.apiToken))).toBe(true)
        }
        expect(Option.isNone(yield* cache.get(CachedMetadataRepository.tokenKey(t.apiToken)).pipe(
          Effect.map(Option.filter((bytes) => new TextDecoder().decode(bytes).includes(t.id)))
        ))).toBe(true)
      }

      // After the failover, a rotation still reaches the second process (its entry trusted for an hour).
      const watched = onVictim[onVictim.length - 1]!
      proc.stdin.write(`watch ${watched.apiToken}\n`)
      expect(yield* said).toBe("watching")
      yield* repo.updateTenant({ ...watched, apiToken: `tok-${randomUUID()}` })
      expect(yield* said).toMatch(/^refused \d/)
      proc.stdin.end()
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error)), 180_000)
})
