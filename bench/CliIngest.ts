/**
 * The CLI's JSONL ingest against the embedded engine's own limit, on the same spans, each in a
 * process of its own on a fresh lite data directory, alternating within each repetition:
 * - `llmtrace-storage ingest FILE`: N spans as JSON lines (the generator of bench/clickhouse.ts);
 *   rows/s from the time it reports (after start-up), and its peak RSS (VmHWM);
 * - the engine's limit: the same spans as prebuilt JSONCompactEachRow bodies of 10,000 rows (the
 *   writer's format and batch), encoded before the timed part, inserted back to back.
 *
 *   node --import tsx bench/CliIngest.ts [spans]      (default 200,000; BENCH_REPS, default 3)
 *
 * Issue 27's aims: the CLI >= 0.6x the engine's limit, peak RSS under 1 GB (1M spans).
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { createWriteStream, mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ClickHouseClient } from "../src/clickhouse/index.js"
import * as ClickHouseMigrations from "../src/internal/clickhouse/ClickHouseMigrations.js"
import * as JsonLines from "../src/internal/clickhouse/JsonLines.js"
import { insertFormat } from "../src/internal/clickhouse/SpanRows.js"
import { SpanSource } from "./clickhouse.js"
import { peakRss } from "./Harness.js"

const self = fileURLToPath(import.meta.url)
const root = path.resolve(path.dirname(self), "..")
const loader = import.meta.resolve("tsx")
const batch = 10_000
const load = () => loadavg()[0]!.toFixed(1)

/** Runs node with tsx on `args`; resolves with its stdout and peak RSS. */
const child = (args: ReadonlyArray<string>, env: Record<string, string>, cwd: string) =>
  new Promise<{ readonly out: string; readonly peak: number }>((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", loader, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    let peak = 0
    p.stdout.on("data", (d: Buffer) => (out += d.toString()))
    const poll = setInterval(() => (peak = Math.max(peak, peakRss(p.pid!))), 50)
    p.on("close", (code) => {
      clearInterval(poll)
      if (code === 0) resolve({ out, peak })
      else reject(new Error(`${args.join(" ")} exited ${code}: ${out}`))
    })
  })

/** The child side of the engine's limit: prebuilt bodies of `n` spans into a fresh chDB directory, back to back; prints rows/s. */
const engineLimit = async (n: number, dir: string) => {
  const runtime = ManagedRuntime.make(ClickHouseClient.layer({ url: Redacted.make(`chdb:${dir}`), database: "limit", requestTimeout: "600 seconds" }))
  const ch = await runtime.runPromise(ClickHouseClient.ClickHouseClient)
  await runtime.runPromise(ClickHouseMigrations.run(ch, { database: "limit" }))
  const source = new SpanSource()
  const bodies = JsonLines.make({ keep: 0 })
  const prebuilt: Array<ClickHouseClient.InsertBody> = []
  for (let done = 0; done < n; done += batch) {
    const spans = source.next(Math.min(batch, n - done))
    const format = insertFormat(spans.map((_, i) => done + i + 1))
    prebuilt.push({ bytes: bodies.encodeRows(spans, format), format: "JSONCompactEachRow", columns: format.columns })
  }
  const started = performance.now()
  await runtime.runPromise(Effect.forEach(prebuilt, (body) => ch.insertBody("bench.limit", "limit.spans", body), { discard: true }))
  const seconds = (performance.now() - started) / 1000
  await runtime.dispose()
  console.log(JSON.stringify({ rowsPerSecond: n / seconds }))
}

const main = async (n: number, reps: number) => {
  const work = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-bench-cli-"))
  try {
    const file = path.join(work, "spans.jsonl")
    const out = createWriteStream(file)
    const source = new SpanSource()
    for (let done = 0; done < n; done += batch) {
      for (const span of source.next(Math.min(batch, n - done))) out.write(`${JSON.stringify(span)}\n`)
    }
    await new Promise((resolve) => out.end(resolve))
    console.log(`CLI ingest vs the engine's limit, ${n.toLocaleString("en")} spans, ${reps} repetitions, load ${load()} at start`)
    const rows: Array<{ cli: number; limit: number; ratio: number; peak: number; load: string }> = []
    for (let r = 0; r < reps; r++) {
      const run = async (who: "cli" | "limit") => {
        const dir = path.join(work, `${who}-${r}`)
        if (who === "limit") return JSON.parse((await child([self, "--engine-limit", String(n), dir], {}, root)).out) as { rowsPerSecond: number }
        const { out: text, peak } = await child([path.join(root, "src/cli/main.ts"), "ingest", file], { LLMTRACE_DATA_DIR: dir }, work)
        const seconds = Number(/ in (\d+(?:\.\d+)?) s/.exec(text)?.[1] ?? Number.NaN)
        return { rowsPerSecond: n / seconds, peak }
      }
      const order: ReadonlyArray<"cli" | "limit"> = r % 2 === 0 ? ["cli", "limit"] : ["limit", "cli"]
      const results: Record<string, { rowsPerSecond: number; peak?: number }> = {}
      for (const who of order) results[who] = await run(who)
      const cli = results.cli!
      const limit = results.limit!
      rows.push({ cli: cli.rowsPerSecond, limit: limit.rowsPerSecond, ratio: cli.rowsPerSecond / limit.rowsPerSecond, peak: cli.peak ?? 0, load: load() })
      console.log(`  repetition ${r + 1}: CLI ${Math.round(cli.rowsPerSecond)} rows/s (peak RSS ${Math.round((cli.peak ?? 0) / 2 ** 20)} MiB), engine limit ${Math.round(limit.rowsPerSecond)} rows/s, load ${load()}`)
    }
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log("| spans | CLI ingest rows/s | engine limit rows/s | CLI / limit (paired, median) | CLI peak RSS (max) | load avg (1 min, each rep) |")
    console.log("|---:|---:|---:|---:|---:|---|")
    console.log(`| ${n.toLocaleString("en")} | ${Math.round(median(rows.map((x) => x.cli))).toLocaleString("en")} | ${Math.round(median(rows.map((x) => x.limit))).toLocaleString("en")} | **${median(rows.map((x) => x.ratio)).toFixed(2)}x** (${Math.min(...rows.map((x) => x.ratio)).toFixed(2)}–${Math.max(...rows.map((x) => x.ratio)).toFixed(2)}) | ${Math.round(Math.max(...rows.map((x) => x.peak)) / 2 ** 20)} MiB | ${rows.map((x) => x.load).join(", ")} |`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

const at = process.argv.indexOf("--engine-limit")
if (at >= 0) await engineLimit(Number(process.argv[at + 1]), process.argv[at + 2]!)
else await main(Number(process.argv[2] ?? 200_000), Number(process.env.BENCH_REPS ?? 3))
