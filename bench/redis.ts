/**
 * Redis cache benchmark: `RedisCache` (Effect, through `Cache.make`: validation, spans, timeouts)
 * against raw ioredis doing the same commands, in the same run, on the same server.
 *
 *   npm run bench:redis            # LLMTRACE_REDIS_URL, else redis://127.0.0.1:6379
 *   BENCH_REPS=9 BENCH_OPS=20000 npm run bench:redis
 *
 * Every figure is the median of the repetitions (min and max beside it), raw and Effect runs
 * alternating so drift of the machine hits both alike. Keys live under a random prefix, removed at the end.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { availableParallelism, cpus } from "node:os"
import {
  Cache,
  CachedMetadataRepository,
  MetadataRepository,
  RedisCache,
  SqliteClient,
  SqlMetadataRepository,
  Tenant
} from "../src/index.js"

const url = process.env.LLMTRACE_REDIS_URL ?? "redis://127.0.0.1:6379"
const reps = Number(process.env.BENCH_REPS ?? 7)
const opsPerRep = Number(process.env.BENCH_OPS ?? 20_000)
const prefix = `llmtrace-bench:${randomUUID()}:`
const keyCount = 1000
const value = new Uint8Array(Buffer.from("x".repeat(256)))
const autoPipelining = process.env.LLMTRACE_REDIS_AUTO_PIPELINING !== "false"
const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`)

interface Stat {
  readonly median: number
  readonly min: number
  readonly max: number
}
const stat = (xs: ReadonlyArray<number>): Stat => {
  const sorted = [...xs].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 }
}

/** ops/s of `run`, which performs `ops` operations. */
const measure = async (ops: number, run: () => Promise<void>): Promise<number> => {
  const start = process.hrtime.bigint()
  await run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return ops / seconds
}

/** `ops` calls of `op` by `concurrency` workers, each waiting for its previous call. */
const workers = async (ops: number, concurrency: number, op: (i: number) => Promise<unknown>) => {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ops) {
      const i = next++
      await op(i)
    }
  }))
}

const main = async () => {
  const raw = new Redis(url)
  // Raw ioredis with the options RedisCache gives its client (command timeout, no offline queue,
  // auto-pipelining): the difference to RedisCache is then Effect's alone.
  const same = new Redis(url, { commandTimeout: 2000, enableOfflineQueue: false, maxRetriesPerRequest: 0, enableAutoPipelining: autoPipelining, lazyConnect: true })
  await same.connect()
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(
      CachedMetadataRepository.layer().pipe(
        Layer.provideMerge(Layer.merge(
          SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.memory)),
          RedisCache.layer({ url, prefix, autoPipelining })
        ))
      )
    )
  )
  const cache = await runtime.runPromise(Cache.Cache)
  const repository = await runtime.runPromise(MetadataRepository.MetadataRepository)

  // Warm both paths and fill the keys.
  for (const k of keys) await raw.set(prefix + k, Buffer.from(value), "PX", 600_000)
  await runtime.runPromise(Effect.forEach(keys, (k) => cache.set(k, value, "10 minutes"), { discard: true }))

  const effectOps = {
    get: (i: number) => cache.get(keys[i % keyCount] ?? "k0"),
    set: (i: number) => cache.set(keys[i % keyCount] ?? "k0", value, "10 minutes")
  }
  const rawOpsOf = (client: Redis) => ({
    get: (i: number) => client.getBuffer(prefix + (keys[i % keyCount] ?? "k0")),
    set: (i: number) => client.set(prefix + (keys[i % keyCount] ?? "k0"), Buffer.from(value.buffer, value.byteOffset, value.byteLength), "PX", 600_000)
  })
  const rawOps = rawOpsOf(raw)
  const sameOps = rawOpsOf(same)

  /** The same shape as the raw runs: `concurrency` fibers, each waiting for its previous call. */
  const effectRun = (op: (i: number) => Effect.Effect<unknown, unknown>, ops: number, concurrency: number, tracing = true) => () => {
    let next = 0
    const worker = Effect.gen(function*() {
      while (next < ops) yield* op(next++)
    })
    const all = concurrency === 1 ? worker : Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    return runtime.runPromise(tracing ? all : Effect.withTracerEnabled(all, false))
  }
  const rawRun = (op: (i: number) => Promise<unknown>, ops: number, concurrency: number) => () => workers(ops, concurrency, op)

  const rows: Array<{ name: string; raw: Stat; same: Stat; effect: Stat }> = []
  const compare = async (name: string, ops: number, rawFn: () => Promise<void>, sameFn: () => Promise<void>, effectFn: () => Promise<void>) => {
    // One unmeasured round each to warm the JIT.
    await rawFn()
    await sameFn()
    await effectFn()
    const r: Array<number> = []
    const m: Array<number> = []
    const e: Array<number> = []
    const runs: Array<[Array<number>, () => Promise<void>]> = [[r, rawFn], [m, sameFn], [e, effectFn]]
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order so a slow moment of the machine does not always hit the same contender.
      for (let j = 0; j < runs.length; j++) {
        const run = runs[(rep + j) % runs.length]
        if (run !== undefined) run[0].push(await measure(ops, run[1]))
      }
    }
    const row = { name, raw: stat(r), same: stat(m), effect: stat(e) }
    rows.push(row)
    console.error(`${name}: raw ${row.raw.median.toFixed(0)}, raw same options ${row.same.median.toFixed(0)}, RedisCache ${row.effect.median.toFixed(0)} ops/s`)
  }

  for (const concurrency of [1, 100]) {
    const ops = concurrency === 1 ? Math.max(1000, Math.floor(opsPerRep / 4)) : opsPerRep
    await compare(`GET, concurrency ${concurrency}`, ops, rawRun(rawOps.get, ops, concurrency), rawRun(sameOps.get, ops, concurrency), effectRun(effectOps.get, ops, concurrency))
    await compare(`SET PX, concurrency ${concurrency}`, ops, rawRun(rawOps.set, ops, concurrency), rawRun(sameOps.set, ops, concurrency), effectRun(effectOps.set, ops, concurrency))
    // The same with Effect's tracer off (`Layer.setTracerEnabled(false)`): what the per-call spans cost.
    await compare(`GET, concurrency ${concurrency}, tracer off`, ops, rawRun(rawOps.get, ops, concurrency), rawRun(sameOps.get, ops, concurrency), effectRun(effectOps.get, ops, concurrency, false))
  }

  // The tenant hit path: a cached getTenantByToken (hash the token, GET, decode the Tenant) versus a raw GET of the same key.
  const tenant = Tenant.make({ name: "Acme Corp", apiToken: `tok-${randomUUID()}`, plan: "enterprise", config: { region: "eu", limits: { rpm: 600 } } })
  await runtime.runPromise(repository.createTenant(tenant))
  const warm = await runtime.runPromise(repository.getTenantByToken(tenant.apiToken))
  if (Option.isNone(warm)) throw new Error("the tenant was not found")
  const tenantKey = prefix + CachedMetadataRepository.tokenKey(tenant.apiToken)
  for (const concurrency of [1, 100]) {
    const ops = concurrency === 1 ? Math.max(1000, Math.floor(opsPerRep / 4)) : opsPerRep
    await compare(
      `getTenantByToken hit vs raw GET, concurrency ${concurrency}`,
      ops,
      rawRun(() => raw.getBuffer(tenantKey), ops, concurrency),
      rawRun(() => same.getBuffer(tenantKey), ops, concurrency),
      effectRun(() => repository.getTenantByToken(tenant.apiToken), ops, concurrency)
    )
    await compare(
      `getTenantByToken hit vs raw GET, concurrency ${concurrency}, tracer off`,
      ops,
      rawRun(() => raw.getBuffer(tenantKey), ops, concurrency),
      rawRun(() => same.getBuffer(tenantKey), ops, concurrency),
      effectRun(() => repository.getTenantByToken(tenant.apiToken), ops, concurrency, false)
    )
  }

  // Clean up the bench keys.
  let cursor = "0"
  do {
    const [next, found] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    cursor = next
    if (found.length > 0) await raw.unlink(...found)
  } while (cursor !== "0")
  await runtime.dispose()
  await raw.quit()
  await same.quit()

  const fmt = (s: Stat) => `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`
  const cpu = cpus()[0]?.model ?? "unknown cpu"
  console.log(`Node ${process.version}, ${availableParallelism()} cores (${cpu}), Redis at ${new URL(url).host}, ${reps} repetitions, 256-byte values over ${keyCount} keys, auto-pipelining ${autoPipelining}\n`)
  console.log("| operation | raw ioredis (defaults) | raw ioredis (RedisCache's options) | RedisCache | ratio to raw defaults | ratio to raw same options |")
  console.log("|---|---|---|---|---|---|")
  for (const row of rows) {
    console.log(`| ${row.name} | ${fmt(row.raw)} | ${fmt(row.same)} | ${fmt(row.effect)} | ${(row.effect.median / row.raw.median).toFixed(2)}x | ${(row.effect.median / row.same.median).toFixed(2)}x |`)
  }
  console.log("\nops/s, median (min–max).")
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
