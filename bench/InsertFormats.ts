/**
 * Which text format the embedded engine takes fastest, and what encoding each costs in JS: the
 * same spans as prebuilt bodies in JSONEachRow (objects, as `ClickHouseClient.insert` writes them),
 * JSONCompactEachRow (arrays, as the writer's `insertRows` writes them) and TabSeparated, inserted
 * back to back into one `spans` table per format, formats alternating within each repetition.
 * chDB's raw insert takes text formats only (no RowBinary). Prints rows/s per format for encoding
 * and for the engine's insert, with the load average.
 *
 *   node --expose-gc --import tsx bench/InsertFormats.ts [spans]   (default 100,000; BENCH_REPS, default 3; batch 10,000)
 */
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import type { TraceSpan } from "../src/index.js"
import { ClickHouseClient } from "../src/clickhouse/index.js"
import * as ClickHouseMigrations from "../src/internal/clickhouse/ClickHouseMigrations.js"
import * as JsonLines from "../src/internal/clickhouse/JsonLines.js"
import { insertFormat, toDateTime64, toRow } from "../src/internal/clickhouse/SpanRows.js"
import { SpanSource } from "./clickhouse.js"

const spans = Number(process.argv[2] ?? 100_000)
const reps = Number(process.env.BENCH_REPS ?? 3)
const batch = 10_000
const load = () => loadavg()[0]!.toFixed(1)

/** TabSeparated text of a value: backslash escapes for what would end a field or a row. */
const tsv = (s: string) => s.replace(/[\\\t\n\r\0]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\0"))
const quoted = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`
const nul = <A>(a: A | undefined, f: (a: A) => string) => (a === undefined ? "\\N" : f(a))
const num = (n: number | undefined) => (n === undefined ? "\\N" : String(n))
const tsvRow = (s: TraceSpan, version: number) =>
  [
    tsv(s.tenantId), tsv(s.traceId), tsv(s.spanId), nul(s.parentSpanId, tsv), tsv(s.operationName), toDateTime64(s.startTime),
    nul(s.endTime, toDateTime64), tsv(s.provider), tsv(s.modelName), tsv(s.prompt), nul(s.response, tsv), num(s.promptTokens),
    num(s.completionTokens), num(s.totalTokens), num(s.timeToFirstTokenMs), num(s.durationMs), num(s.statusCode), nul(s.errorMessage, tsv),
    num(s.estimatedCostUsd), num(s.securityScore), tsv(JSON.stringify(s.securityFindings)),
    tsv(`{${Object.entries(s.tags).map(([k, v]) => `${quoted(k)}:${quoted(v)}`).join(",")}}`),
    tsv(JSON.stringify(s.events)), tsv(JSON.stringify(s.agentActions)), String(version)
  ].join("\t") + "\n"

type Format = "JSONEachRow" | "JSONCompactEachRow" | "TabSeparated"
const formats: ReadonlyArray<Format> = ["JSONEachRow", "JSONCompactEachRow", "TabSeparated"]
const columns = insertFormat([]).columns

const encoders: Record<Format, (list: ReadonlyArray<TraceSpan>, versions: ReadonlyArray<number>) => Buffer> = {
  JSONEachRow: (list, versions) => JsonLines.make().encode(list, (s, i) => toRow(s, versions[i]!)),
  JSONCompactEachRow: (list, versions) => JsonLines.make().encodeRows(list, insertFormat(versions)),
  TabSeparated: (list, versions) => Buffer.from(list.map((s, i) => tsvRow(s, versions[i]!)).join(""), "utf8")
}

const dir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-formats-"))
const runtime = ManagedRuntime.make(ClickHouseClient.layer({ url: Redacted.make(`chdb:${dir}`), database: "formats", requestTimeout: "600 seconds" }))

const main = async () => {
  const ch = await runtime.runPromise(ClickHouseClient.ClickHouseClient)
  for (const f of formats) await runtime.runPromise(ClickHouseMigrations.run(ch, { database: `fmt_${f}` }))
  const list = new SpanSource().next(spans)
  const versions = list.map((_, i) => i + 1)
  const slices = Array.from({ length: Math.ceil(spans / batch) }, (_, k) => k * batch)
  const encodeMs: Record<Format, Array<number>> = { JSONEachRow: [], JSONCompactEachRow: [], TabSeparated: [] }
  const insertMs: Record<Format, Array<number>> = { JSONEachRow: [], JSONCompactEachRow: [], TabSeparated: [] }
  const bytes: Record<Format, number> = { JSONEachRow: 0, JSONCompactEachRow: 0, TabSeparated: 0 }
  console.log(`${spans} spans, batch ${batch}, ${reps} repetitions, load ${load()} at start`)
  for (let r = 0; r < reps; r++) {
    for (const f of r % 2 === 0 ? formats : [...formats].reverse()) {
      globalThis.gc?.()
      let t = performance.now()
      const bodies = slices.map((from) => encoders[f](list.slice(from, from + batch), versions.slice(from, from + batch)))
      encodeMs[f].push(performance.now() - t)
      bytes[f] = bodies.reduce((n, b) => n + b.length, 0)
      await runtime.runPromise(ch.command("bench.truncate", `TRUNCATE TABLE fmt_${f}.spans`))
      t = performance.now()
      for (const body of bodies) {
        await runtime.runPromise(ch.insertBody("bench.insert", `fmt_${f}.spans`, { bytes: body, format: f, ...(f === "JSONEachRow" ? {} : { columns }) }))
      }
      insertMs[f].push(performance.now() - t)
      const n = Number((await runtime.runPromise(ch.query<{ n: string }>("bench.count", `SELECT count() AS n FROM fmt_${f}.spans`)))[0]!.n)
      if (n !== spans) throw new Error(`${f}: ${n} rows stored, expected ${spans}`)
    }
    console.log(`  repetition ${r + 1} done, load ${load()}`)
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const rate = (ms: number) => Math.round(spans / (ms / 1000)).toLocaleString("en")
  console.log("| format | bytes a row | encode rows/s (JS) | engine insert rows/s (prebuilt) | insert / JSONCompactEachRow |")
  console.log("|---|---:|---:|---:|---:|")
  for (const f of formats) {
    console.log(`| ${f} | ${Math.round(bytes[f] / spans)} | ${rate(median(encodeMs[f]))} | ${rate(median(insertMs[f]))} | ${(median(insertMs.JSONCompactEachRow) / median(insertMs[f])).toFixed(2)}x |`)
  }
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
}

main().finally(async () => {
  await runtime.dispose()
  rmSync(dir, { recursive: true, force: true })
})
