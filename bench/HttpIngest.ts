/**
 * The TraceWriter over the HTTP transport against a raw HTTP insert of the same spans, prebuilt:
 * the ClickHouse HTTP fixture (test/support/ClickHouseHttp.ts, ClickHouse's HTTP interface over the
 * embedded engine) runs in a process of its own, as a server would; this process alternates, within
 * each repetition,
 * - the writer (lite defaults: batches of 10,000, validation on) through `@clickhouse/client` over
 *   HTTP, `writeAll` of N generated spans then `flush`;
 * - the raw insert: the same N spans as prebuilt JSONCompactEachRow bodies of 10,000 rows (the
 *   writer's format and batch), encoded before the timed part, POSTed back to back with node:http
 *   keep-alive.
 *
 *   node --import tsx bench/HttpIngest.ts [spans]      (default 50,000; BENCH_REPS, default 3)
 *
 * The writer's client sends uncompressed bodies, as the raw insert does; BENCH_COMPRESSION=1 turns on the client's
 * default request compression (gzip), to see its cost on loopback.
 *
 * Issue 27's aim: the writer over HTTP >= 0.9x the raw HTTP insert of prebuilt bodies.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { TraceWriter } from "../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../src/clickhouse/index.js"
import * as ClickHouseMigrations from "../src/internal/clickhouse/ClickHouseMigrations.js"
import * as JsonLines from "../src/internal/clickhouse/JsonLines.js"
import { insertFormat } from "../src/internal/clickhouse/SpanRows.js"
import * as ClickHouseHttp from "../test/support/ClickHouseHttp.js"
import { SpanSource } from "./clickhouse.js"

const self = fileURLToPath(import.meta.url)
const batch = 10_000
const load = () => loadavg()[0]!.toFixed(1)

/** The server side: the fixture on a data directory; prints its URL, runs until killed. */
const serve = (dir: string) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fixture = yield* ClickHouseHttp.serve({ path: dir })
    console.log(fixture.url)
    yield* Effect.never
  })))

const startServer = (dir: string) =>
  new Promise<{ readonly url: string; readonly stop: () => void }>((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), self, "--serve", dir], { stdio: ["ignore", "pipe", "inherit"] })
    p.stdout.once("data", (d: Buffer) => resolve({ url: d.toString().trim(), stop: () => p.kill("SIGKILL") }))
    p.once("exit", (code) => reject(new Error(`the fixture exited ${code}`)))
  })

const post = (agent: http.Agent, url: string, query: string, body: Uint8Array) =>
  new Promise<void>((resolve, reject) => {
    const request = http.request(`${url}/?${new URLSearchParams({ query })}`, { method: "POST", agent }, (response) => {
      let text = ""
      response.on("data", (d: Buffer) => (text += d.toString()))
      response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`${response.statusCode}: ${text}`))))
    })
    request.on("error", reject)
    request.end(body)
  })

const main = async (n: number, reps: number) => {
  const work = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-bench-http-"))
  const server = await startServer(path.join(work, "engine"))
  // Like for like: the raw insert sends its bodies as they are, so the writer's client does too unless asked
  // (BENCH_COMPRESSION=1 shows what the client's default gzip of each request costs on loopback).
  const compression = process.env.BENCH_COMPRESSION === "1"
  const client = ClickHouseClient.layer({ url: Redacted.make(server.url), database: "writer", requestTimeout: "600 seconds", compression })
  const runtime = ManagedRuntime.make(ClickHouseTraceRepository.layer({ timeout: "600 seconds" }).pipe(Layer.provideMerge(client), Layer.provideMerge(NodeFileSystem.layer)))
  const agent = new http.Agent({ keepAlive: true })
  try {
    const ch = await runtime.runPromise(ClickHouseClient.ClickHouseClient)
    const sink = await runtime.runPromise(TraceWriter.TraceSink)
    for (const database of ["writer", "raw"]) await runtime.runPromise(ClickHouseMigrations.run(ch, { database }))
    const truncate = (db: string) => runtime.runPromise(ch.command("bench.truncate", `TRUNCATE TABLE ${db}.spans`))
    const count = async (db: string) => Number((await runtime.runPromise(ch.query<{ n: string }>("bench.count", `SELECT count() AS n FROM ${db}.spans`)))[0]?.n)

    const spans = new SpanSource().next(n)
    const bodies = JsonLines.make({ keep: 0 })
    const prebuilt: Array<{ readonly query: string; readonly bytes: Uint8Array }> = []
    for (let done = 0; done < n; done += batch) {
      const slice = spans.slice(done, done + batch)
      const format = insertFormat(slice.map((_, i) => done + i + 1))
      prebuilt.push({ query: `INSERT INTO raw.spans (${format.columns.join(", ")}) FORMAT JSONCompactEachRow`, bytes: Buffer.from(bodies.encodeRows(slice, format)) })
    }

    const writer = async () => {
      await truncate("writer")
      const started = performance.now()
      await runtime.runPromise(Effect.scoped(Effect.flatMap(
        TraceWriter.make({ deadLetterPath: path.join(work, "dead"), replayOnStart: false }),
        (w) => Effect.zipRight(w.writeAll(spans), w.flush)
      )).pipe(Effect.provideService(TraceWriter.TraceSink, sink)))
      const seconds = (performance.now() - started) / 1000
      if ((await count("writer")) !== n) throw new Error("the writer stored a different number of spans")
      return n / seconds
    }
    const raw = async () => {
      await truncate("raw")
      const started = performance.now()
      for (const body of prebuilt) await post(agent, server.url, body.query, body.bytes)
      const seconds = (performance.now() - started) / 1000
      if ((await count("raw")) !== n) throw new Error("the raw insert stored a different number of spans")
      return n / seconds
    }

    console.log(`TraceWriter over HTTP (compression ${compression ? "on: gzip, the client's default" : "off"}) vs a raw HTTP insert of prebuilt bodies (uncompressed), ${n.toLocaleString("en")} spans, ${reps} repetitions, load ${load()} at start`)
    const rows: Array<{ writer: number; raw: number; ratio: number; load: string }> = []
    for (let r = 0; r < reps; r++) {
      const result: Record<string, number> = {}
      for (const who of r % 2 === 0 ? ["writer", "raw"] : ["raw", "writer"]) result[who] = who === "writer" ? await writer() : await raw()
      rows.push({ writer: result.writer!, raw: result.raw!, ratio: result.writer! / result.raw!, load: load() })
      console.log(`  repetition ${r + 1}: writer ${Math.round(result.writer!)} rows/s, raw ${Math.round(result.raw!)} rows/s, load ${load()}`)
    }
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log("| spans | writer over HTTP rows/s | raw HTTP insert rows/s | writer / raw (paired, median) | load avg (1 min, each rep) |")
    console.log("|---:|---:|---:|---:|---|")
    console.log(`| ${n.toLocaleString("en")} | ${Math.round(median(rows.map((x) => x.writer))).toLocaleString("en")} | ${Math.round(median(rows.map((x) => x.raw))).toLocaleString("en")} | **${median(rows.map((x) => x.ratio)).toFixed(2)}x** (${Math.min(...rows.map((x) => x.ratio)).toFixed(2)}–${Math.max(...rows.map((x) => x.ratio)).toFixed(2)}) | ${rows.map((x) => x.load).join(", ")} |`)
  } finally {
    agent.destroy()
    await runtime.dispose()
    server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

const at = process.argv.indexOf("--serve")
if (at >= 0) await serve(process.argv[at + 1]!)
else await main(Number(process.argv[2] ?? 50_000), Number(process.env.BENCH_REPS ?? 3))
