/**
 * Redis cache benchmark: `RedisCache` (Effect, through `Cache.make`: validation, timeouts where needed,
 * a span per call only when a tracer is installed) against raw ioredis doing the same commands, in the
 * same run, on the same server. Rows run with no tracer installed unless they say "tracer installed".
 *
 *   npm run bench:redis            # LLMTRACE_REDIS_URL, else redis://127.0.0.1:6379
 *   BENCH_REPS=9 BENCH_OPS=20000 npm run bench:redis
 *
 * Every figure is the median of the repetitions (min and max beside it); raw ioredis with its defaults
 * (the baseline), raw ioredis with RedisCache's client options (a second baseline) and RedisCache run in
 * a rotating order within each repetition. Keys live under a random prefix, removed at the end.
 * `runRedis` is called by bench/run.ts (`npm run bench`).
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Tracer from "effect/Tracer"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { Cache } from "../src/index.js"
import { RedisCache } from "../src/redis/index.js"
import * as Namespaces from "../src/testing/Namespaces.js"
import { type CaseResult, compare as compareCase, countingTracer, isMain, machine, table } from "./Harness.js"
import * as Redacted from "effect/Redacted"

const url = process.env.LLMTRACE_REDIS_URL ?? "redis://127.0.0.1:6379"
const GROUP = "Redis cache"
const prefix = `llmtrace-bench:${randomUUID()}:`
const keyCount = 1000
const value = new Uint8Array(Buffer.from("x".repeat(256)))
const autoPipelining = process.env.LLMTRACE_REDIS_AUTO_PIPELINING !== "false"
const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`)

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

/**
 * What RedisClient does around a command, without Effect: a command issued while others are in
 * flight corks the socket until the end of the tick, so one tick's commands leave in one write.
 */
const corking = (client: Redis) => {
  let inFlight = 0
  let corked = false
  const uncork = () => {
    corked = false
    client.stream.uncork()
  }
  const done = () => void inFlight--
  return <A>(f: () => Promise<A>): Promise<A> => {
    if (autoPipelining && inFlight > 0 && !corked) {
      corked = true
      client.stream.cork()
      process.nextTick(uncork)
    }
    inFlight++
    const sent = f()
    sent.then(done, done)
    return sent
  }
}

export interface RedisOptions {
  readonly ops: number
  readonly reps: number
}

export const redisHeading = (o: RedisOptions): string =>
  `Redis at ${new URL(url).host}, 256-byte values over ${keyCount} keys, ${o.ops} operations per run at concurrency 100 ` +
  `(${Math.max(Math.min(1000, o.ops), Math.floor(o.ops / 4))} at concurrency 1), median of ${o.reps} repetitions, auto-pipelining ${autoPipelining}. ` +
  "Baseline: raw ioredis with its defaults (`new Redis(url)`: no auto-pipelining, offline queue on, no command timeout, " +
  "each command written on its own). The second baseline is raw ioredis with the options RedisCache gives its client " +
  "(2 s command timeout, no offline queue, no retries) writing the commands of one tick together as RedisClient does " +
  "(the socket corked until the end of the tick while others are in flight), so its ratio is the cost of the Effect layer alone. " +
  "Rows run with no tracer installed; \"tracer installed\" rows run under a tracer that makes and counts a span per call " +
  "(Effect's built-in spans through a `Tracer.make`, standing in for OpenTelemetry, which is not a dependency)."

export const runRedis = async (o: RedisOptions): Promise<ReadonlyArray<CaseResult>> => {
  const { reps } = o
  const opsPerRep = o.ops
  const raw = new Redis(url)
  // Raw ioredis with the options RedisCache gives its client (command timeout, no offline queue) and
  // its batching of one tick's commands: the difference to RedisCache is then Effect's alone.
  const same = new Redis(url, { commandTimeout: 2000, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true })
  await same.connect()
  const sameSend = corking(same)
  const runtime = ManagedRuntime.make(RedisCache.layer({ url: Redacted.make(url), prefix, autoPipelining }))
  const cache = await runtime.runPromise(Cache.Cache)

  // Warm both paths and fill the keys.
  for (const k of keys) await raw.set(prefix + k, Buffer.from(value), "PX", 600_000)
  await runtime.runPromise(Effect.forEach(keys, (k) => cache.set(k, value, "10 minutes"), { discard: true }))

  const effectOps = {
    get: (i: number) => cache.get(keys[i % keyCount] ?? "k0"),
    set: (i: number) => cache.set(keys[i % keyCount] ?? "k0", value, "10 minutes")
  }
  const rawOpsOf = (client: Redis, send: <A>(f: () => Promise<A>) => Promise<A> = (f) => f()) => ({
    get: (i: number) => send(() => client.getBuffer(prefix + (keys[i % keyCount] ?? "k0"))),
    set: (i: number) => send(() => client.set(prefix + (keys[i % keyCount] ?? "k0"), Buffer.from(value.buffer, value.byteOffset, value.byteLength), "PX", 600_000))
  })
  const rawOps = rawOpsOf(raw)
  const sameOps = rawOpsOf(same, sameSend)

  /** The same shape as the raw runs: `concurrency` fibers, each waiting for its previous call. */
  const effectRun = (op: (i: number) => Effect.Effect<unknown, unknown>, ops: number, concurrency: number, tracer?: Tracer.Tracer) => () => {
    let next = 0
    const worker = Effect.gen(function*() {
      while (next < ops) yield* op(next++)
    })
    const all = concurrency === 1 ? worker : Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
    return runtime.runPromise(tracer === undefined ? all : Effect.withTracer(all, tracer))
  }
  const rawRun = (op: (i: number) => Promise<unknown>, ops: number, concurrency: number) => () => workers(ops, concurrency, op)

  const rows: Array<CaseResult> = []
  const compare = async (name: string, ops: number, concurrency: number, rawFn: () => Promise<void>, sameFn: () => Promise<void>, effectFn: () => Promise<unknown>, aim?: { readonly id: string; readonly aim: string }) => {
    rows.push(await compareCase({
      group: GROUP, case: name, unit: "ops", ops, concurrency, reps, ...aim,
      ours: async () => void (await effectFn()),
      baseline: rawFn,
      extra: { label: "raw ioredis with RedisCache's options", run: sameFn }
    }))
  }

  for (const concurrency of [1, 100]) {
    const ops = concurrency === 1 ? Math.max(Math.min(1000, opsPerRep), Math.floor(opsPerRep / 4)) : opsPerRep
    await compare(`GET, concurrency ${concurrency}`, ops, concurrency, rawRun(rawOps.get, ops, concurrency), rawRun(sameOps.get, ops, concurrency), effectRun(effectOps.get, ops, concurrency),
      { id: `redis.get.${concurrency}`, aim: concurrency === 1 ? ">= 0.85x" : ">= 0.7x" })
    await compare(`SET PX, concurrency ${concurrency}`, ops, concurrency, rawRun(rawOps.set, ops, concurrency), rawRun(sameOps.set, ops, concurrency), effectRun(effectOps.set, ops, concurrency))
    // The same with a tracer installed: every call is a span `Cache.get`, created and ended.
    const counting = countingTracer()
    await compare(`GET, concurrency ${concurrency}, tracer installed`, ops, concurrency, rawRun(rawOps.get, ops, concurrency), rawRun(sameOps.get, ops, concurrency), effectRun(effectOps.get, ops, concurrency, counting.tracer))
    if (counting.count() < ops) throw new Error(`the tracer saw ${counting.count()} spans for ${ops} calls`)
  }
  // The cached token lookup against a raw GET is bench/tokens.ts's (issue 13/14 item 2).

  // Clean up the bench keys (the test kit's own prefix removal).
  await Effect.runPromise(Namespaces.dropRedisPrefix(Redacted.make(url), prefix))
  await runtime.dispose()
  await raw.quit()
  await same.quit()

  return rows
}

/** The second baseline's figures beside the table. */
export const redisExtraTable = (rows: ReadonlyArray<CaseResult>): string =>
  [
    "| case | raw ioredis, RedisCache's options ops/s | RedisCache / it (paired) |",
    "|---|---:|---:|",
    ...rows.flatMap((r) => r.extra === undefined ? [] : [
      `| ${r.case} | ${Math.round(r.extra.figures.throughput.median)} (${Math.round(r.extra.figures.throughput.min)}–${Math.round(r.extra.figures.throughput.max)}) | ${r.extra.pairedRatio.median.toFixed(2)}x |`
    ])
  ].join("\n")

if (isMain(import.meta.url)) {
  const o: RedisOptions = { ops: Number(process.env.BENCH_OPS ?? 20_000), reps: Number(process.env.BENCH_REPS ?? 7) }
  runRedis(o).then((rows) => console.log(`### ${GROUP}\n\n${redisHeading(o)}\n\nMachine: ${machine()}\n\n${table(rows)}\n\n${redisExtraTable(rows)}\n`))
    .catch((error: unknown) => {
      console.error(error)
      process.exitCode = 1
    })
}
