/**
 * Where the writer's time goes against the engine's own limit, in one process on the embedded engine: the
 * same spans through a TraceWriter (concurrency 2, the default, and 1) and as prebuilt JSONCompactEachRow
 * bodies inserted back to back, and the encoding of those bodies alone; 5 rounds, the sides alternating.
 * For each: wall time, CPU of every thread of the process (the engine's included) and of the JavaScript
 * thread alone (/proc/self/task/<pid>/stat: Linux only). Prints medians and the paired writer / limit ratios.
 *
 *   node --expose-gc --import tsx bench/WriterCpu.ts [spans] [novalidate]   (default 100,000; batches of 10,000)
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { NodeFileSystem } from "@effect/platform-node"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { TraceWriter } from "../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../src/clickhouse/index.js"
import * as JsonLines from "../src/internal/clickhouse/JsonLines.js"
import { insertFormat } from "../src/internal/clickhouse/SpanRows.js"
import * as SpanVersion from "../src/domain/SpanVersion.js"
import { SpanSource } from "./clickhouse.js"

const N = Number(process.argv[2] ?? 100_000)
const BATCH = 10_000
const validate = process.argv[3] !== "novalidate"
const dir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-writer-cpu-"))
const client = ClickHouseClient.layer({ url: Redacted.make(`chdb:${dir}`), database: "llmtrace", requestTimeout: "600 seconds" })
const rt = ManagedRuntime.make(ClickHouseTraceRepository.layer({ timeout: "600 seconds" }).pipe(Layer.provideMerge(client), Layer.provideMerge(NodeFileSystem.layer)))
const mainTicks = () => { const f = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) * 10 }
const measure = async (f: () => Promise<unknown>) => {
  const c0 = process.cpuUsage(); const m0 = mainTicks(); const t0 = performance.now()
  await f()
  const wall = performance.now() - t0; const c = process.cpuUsage(c0); const main = mainTicks() - m0
  return { wall, cpu: (c.user + c.system) / 1000, main }
}
const main = async () => {
  const ch = await rt.runPromise(ClickHouseClient.ClickHouseClient)
  const sink = await rt.runPromise(TraceWriter.TraceSink)
  const spans = new SpanSource().next(N)
  const fmt = insertFormat([])
  const bodies = JsonLines.make({ keep: 0 })
  const pre = Array.from({ length: Math.ceil(N / BATCH) }, (_, k) => { const s = spans.slice(k * BATCH, (k + 1) * BATCH); return { bytes: bodies.encodeRows(s, insertFormat(SpanVersion.nextRange(s.length))), format: "JSONCompactEachRow" as const, columns: fmt.columns } })
  const truncate = () => rt.runPromise(ch.command("t", "TRUNCATE TABLE llmtrace.spans"))
  /** The spans through a TraceWriter of its own (closing it flushes), `concurrency` batches in flight. */
  const writerRun = (concurrency: number) =>
    rt.runPromise(
      Effect.scoped(Effect.flatMap(
        TraceWriter.make({ batchSize: BATCH, concurrency, deadLetterPath: path.join(dir, "dead"), flushInterval: "10 minutes", replayOnStart: false, validate }),
        (w) => w.writeAll(spans)
      )).pipe(Effect.provideService(TraceWriter.TraceSink, sink), Effect.provide(NodeFileSystem.layer))
    )
  const sides: Record<string, () => Promise<unknown>> = {
    limit: () => rt.runPromise(Effect.forEach(pre, (b) => ch.insertBody("raw", "llmtrace.spans", b), { discard: true })),
    writer: () => writerRun(2),
    writer1: () => writerRun(1),
    encodeOnly: async () => { for (let k = 0; k < N; k += BATCH) bodies.release(bodies.encodeRows(spans.slice(k, k + BATCH), insertFormat(SpanVersion.nextRange(Math.min(BATCH, N - k))))) }
  }
  const res: Record<string, Array<{ wall: number; cpu: number; main: number }>> = { limit: [], writer: [], writer1: [], encodeOnly: [] }
  for (let r = 0; r < 5; r++) for (const k of r % 2 ? ["limit", "writer", "writer1", "encodeOnly"] : ["writer1", "writer", "limit", "encodeOnly"]) {
    await truncate(); globalThis.gc?.()
    res[k]!.push(await measure(sides[k]!))
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  for (const k in res) {
    const xs = res[k]!
    console.log(`${k.padEnd(10)} ${(N / med(xs.map((x) => x.wall)) * 1000).toFixed(0)} rows/s  wall ${med(xs.map((x) => x.wall)).toFixed(0)} ms  cpu ${med(xs.map((x) => x.cpu)).toFixed(0)} ms (${(med(xs.map((x) => x.cpu)) * 1000 / N).toFixed(1)} µs/row)  main thread ${med(xs.map((x) => x.main)).toFixed(0)} ms (${(med(xs.map((x) => x.main)) * 1000 / N).toFixed(1)} µs/row)  load ${loadavg()[0]!.toFixed(1)}`)
  }
  const ratios = res.writer!.map((w, i) => res.limit![i]!.wall / w.wall).sort((a, b) => a - b)
  console.log("writer/limit paired", ratios.map((x) => x.toFixed(2)).join(" "))
  await rt.dispose()
  rmSync(dir, { recursive: true, force: true })
}
main().catch((e) => { console.error(e); process.exit(1) })
