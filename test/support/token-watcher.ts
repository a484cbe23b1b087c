// Process B of the cross-process rotation test and of the staleness bench: a process of its own
// (its own connections and in-process level) sharing only Redis and the metadata database with
// the parent. For each `watch <token>` line on stdin it looks the token up until found, lets the
// create's notice arrive and looks it up once more (its in-process level now holds the tenant),
// says `watching`, then polls until the token is refused and says `refused <wall-clock ms>`.
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createInterface } from "node:readline"
import { CachedMetadataRepository, MetadataRepository } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { SqliteClient } from "../../src/sqlite/index.js"
import { RedisCache, RedisClient, RedisTokenChanges } from "../../src/redis/index.js"

const [metadata, redisUrl, prefix, localTtl, clusterNodes] = process.argv.slice(2)
if (metadata === undefined || redisUrl === undefined || prefix === undefined) {
  throw new Error("usage: token-watcher.ts <postgres url | sqlite:file> <redis url> <prefix> [local ttl] [cluster nodes host:port,…]")
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const now = () => performance.timeOrigin + performance.now()

const sql = metadata.startsWith("sqlite:")
  ? SqliteClient.layer({ filename: metadata.slice("sqlite:".length) })
  : PostgresClient.layer({ url: Redacted.make(metadata), maxConnections: 2 })
const runtime = ManagedRuntime.make(
  CachedMetadataRepository.layer(localTtl === undefined ? {} : { localTtl: localTtl as Duration.DurationInput }).pipe(
    Layer.provide(SqlMetadataRepository.layer().pipe(Layer.provide(sql))),
    Layer.provide(Layer.merge(RedisCache.layerFromClient, RedisTokenChanges.layerFromClient)),
    Layer.provide(RedisClient.layer({ url: Redacted.make(redisUrl), prefix, clusterNodes: clusterNodes?.split(",") ?? [] }))
  )
)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const repo = await runtime.runPromise(MetadataRepository.MetadataRepository)
const found = async (token: string) => Option.isSome(await runtime.runPromise(repo.getTenantByToken(token)))
console.log("ready")
for await (const line of createInterface({ input: process.stdin })) {
  const token = line.replace(/^watch /, "")
  while (!(await found(token))) await sleep(1)
  await sleep(50)
  await found(token)
  console.log("watching")
  while (await found(token)) await new Promise((resolve) => setImmediate(resolve))
  console.log(`refused ${now()}`)
}
await runtime.dispose()
