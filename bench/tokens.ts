/**
 * Token lookup benchmark: the cached `getTenantByToken` (in-process level in front of Redis, kept
 * honest by pub/sub) against a raw ioredis GET of the same key, in the same run, on the same server;
 * and the staleness bound: process A rotates a token, process B (a child process sharing Redis and
 * the SQLite file: test/support/token-watcher.ts) refuses it N ms after A's update returned.
 *
 *   node --import tsx bench/tokens.ts          # LLMTRACE_REDIS_URL, else redis://127.0.0.1:6379
 *
 * `runTokens` is called by bench/run.ts (`npm run bench`).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { CachedMetadataRepository, MetadataRepository, NewTenant } from "../src/index.js"
import { SqliteClient, SqlMetadataRepository } from "../src/sqlite/index.js"
import { RedisCache, RedisClient, RedisTokenChanges } from "../src/redis/index.js"
import { type CaseResult, compare, isMain, machine, type Sample, sample, table } from "./Harness.js"
import * as Namespaces from "../src/testing/Namespaces.js"

const url = process.env.LLMTRACE_REDIS_URL ?? "redis://127.0.0.1:6379"
const GROUP = "Token lookup"

export interface TokensOptions {
  readonly ops: number
  readonly reps: number
  /** Rotations measured for the staleness bound. */
  readonly rotations: number
}

export const tokensHeading = (o: TokensOptions): string =>
  `Redis at ${new URL(url).host}; a cached \`getTenantByToken\` hit (in-process level, default options) against a raw ioredis GET ` +
  `of the tenant's key in Redis, ${o.ops} lookups per run at concurrency 100 (${Math.max(1000, Math.floor(o.ops / 4))} at 1), ` +
  `median of ${o.reps} repetitions. Staleness: ${o.rotations} rotations by this process, each refused by a second process ` +
  "(sharing Redis and the SQLite file) polling the old token; N = its first refusal after the rotation returned."

/** One process's stack: SQLite file for metadata, Redis for the shared cache and the change channel. */
const stack = (sqliteFile: string, prefix: string) =>
  CachedMetadataRepository.layer().pipe(
    Layer.provide(SqlMetadataRepository.layer().pipe(Layer.provide(SqliteClient.layer({ filename: sqliteFile })))),
    Layer.provide(Layer.merge(RedisCache.layerFromClient, RedisTokenChanges.layerFromClient)),
    Layer.provide(RedisClient.layer({ url: Redacted.make(url), prefix }))
  )

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
const now = () => performance.timeOrigin + performance.now()

export const runTokens = async (o: TokensOptions): Promise<{ readonly rows: ReadonlyArray<CaseResult>; readonly stalenessMs: Sample }> => {
  const prefix = `llmtrace-bench:${randomUUID()}:`
  const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-tokens-"))
  const sqliteFile = path.join(dir, "metadata.db")
  const runtime = ManagedRuntime.make(stack(sqliteFile, prefix))
  const repository = await runtime.runPromise(MetadataRepository.MetadataRepository)
  const raw = new Redis(url)
  try {
    const tenant = NewTenant.make({ name: "Acme Corp", apiToken: `tok-${randomUUID()}`, plan: "enterprise", config: { region: "eu", limits: { rpm: 600 } } })
    await runtime.runPromise(repository.createTenant(tenant))
    for (let i = 0; i < 3; i++) await runtime.runPromise(repository.getTenantByToken(tenant.apiToken))
    const key = prefix + CachedMetadataRepository.tokenKey(tenant.apiToken)
    if ((await raw.getBuffer(key)) === null) throw new Error("the tenant's entry is not in Redis")

    const effectRun = (ops: number, concurrency: number) => () => {
      let next = 0
      const worker = Effect.gen(function*() {
        while (next++ < ops) yield* repository.getTenantByToken(tenant.apiToken)
      })
      return runtime.runPromise(concurrency === 1 ? worker : Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true }))
    }
    const rawRun = (ops: number, concurrency: number) => async () => {
      let next = 0
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next++ < ops) await raw.getBuffer(key)
      }))
    }
    const rows: Array<CaseResult> = []
    for (const concurrency of [1, 100]) {
      const ops = concurrency === 1 ? Math.max(1000, Math.floor(o.ops / 4)) : o.ops
      rows.push(await compare({
        group: GROUP, case: `cached getTenantByToken vs raw GET, concurrency ${concurrency}`, unit: "lookups", ops, concurrency, reps: o.reps, aim: ">= 2x",
        ours: effectRun(ops, concurrency),
        baseline: rawRun(ops, concurrency)
      }))
    }

    // Staleness: B watches, A rotates, B reports when it first refused.
    const watcher = fileURLToPath(new URL("../test/support/token-watcher.ts", import.meta.url))
    const proc = spawn(process.execPath, ["--import", "tsx", watcher, `sqlite:${sqliteFile}`, url, prefix], { stdio: ["pipe", "pipe", "inherit"] })
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
    const expect = async (start: string) => {
      const next = await lines.next()
      if (next.done === true || !next.value.startsWith(start)) throw new Error(`the watching process said ${JSON.stringify(next.value)} instead of ${start}`)
      return next.value
    }
    const stalenessMs: Array<number> = []
    try {
      await expect("ready")
      for (let i = 0; i < o.rotations; i++) {
        const t = NewTenant.make({ name: `rotated ${i}`, apiToken: `tok-${randomUUID()}`, plan: "pro" })
        await runtime.runPromise(repository.createTenant(t))
        proc.stdin.write(`watch ${t.apiToken}\n`)
        await expect("watching")
        await runtime.runPromise(repository.updateTenant({ ...t, apiToken: `tok-${randomUUID()}` }))
        const returned = now()
        const refusedAt = Number((await expect("refused ")).slice("refused ".length))
        stalenessMs.push(Math.max(0, refusedAt - returned))
      }
    } finally {
      proc.stdin.end()
      proc.kill()
    }
    const staleness = sample(stalenessMs)
    console.error(`  ${GROUP} / staleness: a rotated token refused by another process after ${staleness.median.toFixed(2)} ms (median; max ${staleness.max.toFixed(2)} ms)`)
    return { rows, stalenessMs: staleness }
  } finally {
    await Effect.runPromise(Namespaces.dropRedisPrefix(Redacted.make(url), prefix))
    await raw.quit()
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The staleness line of the report. */
export const stalenessLine = (s: Sample): string =>
  `A rotated token was refused by the other process ${s.median.toFixed(2)} ms (median; min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)} ms) after the rotation returned.`

if (isMain(import.meta.url)) {
  const o = { ops: Number(process.env.BENCH_OPS ?? 2000), reps: Number(process.env.BENCH_REPS ?? 3), rotations: Number(process.env.BENCH_ROTATIONS ?? 10) }
  console.error(`tokens bench: ${machine()}`)
  const { rows, stalenessMs } = await runTokens(o)
  console.log(`${tokensHeading(o)}\n\n${table(rows)}\n\n${stalenessLine(stalenessMs)}`)
}
