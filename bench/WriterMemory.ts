/**
 * Peak memory of ingest: N spans (default 1,000,000) generated lazily, 10k at a time, written
 * through the TraceWriter of the lite profile (embedded ClickHouse in a temporary directory) with
 * default settings and no heap flags, then flushed. Prints the peak RSS the kernel recorded
 * (`process.resourceUsage().maxRSS`, so no sample is missed while JavaScript is busy), the V8
 * heap and external memory sampled along the way, and the writer's stats.
 *
 *   node --import tsx bench/WriterMemory.ts [spans]        (BENCH_SPANS also works)
 *
 * BENCH_CAPACITY / BENCH_BATCH / BENCH_BUFFER_BYTES override the writer's capacity, batch size and byte budget (to see what decides the figure).
 * BENCH_PROMPT_BYTES gives every span a prompt of its own of that many bytes: the case is
 *
 *   BENCH_PROMPT_BYTES=1000000 node --import tsx bench/WriterMemory.ts 15000   (peak RSS of 15,000 spans with 1 MB prompts)
 *
 * which the writer's byte budget (`maxBufferBytes`, default 16 MiB) is meant to keep under 1.2 GB (BENCHMARKS.md, "Writer memory with 1 MB prompts").
 *
 * Memory does not depend on the machine's load; the elapsed time printed does, so it is not a
 * throughput figure (the ClickHouse benchmark measures that, against a raw insert).
 */
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { StorageProfile, TraceWriter } from "../src/index.js"
import { SpanSource } from "./clickhouse.js"

const spans = Number(process.argv[2] ?? process.env.BENCH_SPANS ?? 1_000_000)
const promptBytes = Number(process.env.BENCH_PROMPT_BYTES ?? 0)
// With large prompts, a few spans at a time: the generator must not hold what the writer would not.
const chunk = promptBytes > 0 ? 16 : 10_000
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

const writer = {
  ...(process.env.BENCH_CAPACITY ? { capacity: Number(process.env.BENCH_CAPACITY) } : {}),
  ...(process.env.BENCH_BUFFER_BYTES ? { maxBufferBytes: Number(process.env.BENCH_BUFFER_BYTES) } : {}),
  ...(process.env.BENCH_BATCH ? { batchSize: Number(process.env.BENCH_BATCH) } : {})
}
const dataDir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-writer-memory-"))
let peakHeap = 0
let peakExternal = 0
const probe = setInterval(() => {
  const m = process.memoryUsage()
  peakHeap = Math.max(peakHeap, m.heapUsed)
  peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers)
}, 50)

const started = Date.now()
const program = Effect.gen(function*() {
  const writer = yield* TraceWriter.TraceWriter
  const source = new SpanSource()
  while (source.produced < spans) {
    const next = source.next(Math.min(chunk, spans - source.produced))
    // Each prompt a flat string of its own (not a slice or rope over a shared one), as if read from input.
    if (promptBytes > 0 && source.produced % 1024 === 0) console.error(`${source.produced} spans written, rss ${mib(process.memoryUsage().rss)}, peak ${mib(process.resourceUsage().maxRSS * 1024)}`)
    yield* writer.writeAll(promptBytes > 0 ? next.map((s, i) => ({ ...s, prompt: Buffer.alloc(promptBytes, 97 + ((source.produced + i) % 26)).toString("latin1") })) : next)
  }
  yield* writer.flush
  return yield* writer.stats
}).pipe(Effect.provide(StorageProfile.lite({ dataDir, writer })))

Effect.runPromise(program).then(
  (stats) => {
    clearInterval(probe)
    const rssKiB = process.resourceUsage().maxRSS
    console.log(JSON.stringify({
      spans,
      promptBytes,
      writer,
      peakRss: mib(rssKiB * 1024),
      peakRssBytes: rssKiB * 1024,
      peakHeapSampled: mib(peakHeap),
      peakExternalSampled: mib(peakExternal),
      stats,
      elapsedSeconds: (Date.now() - started) / 1000,
      loadAverage: loadavg().map((l) => l.toFixed(2)).join(" ")
    }, null, 2))
    rmSync(dataDir, { recursive: true, force: true })
  },
  (error) => {
    clearInterval(probe)
    console.error(error)
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(1)
  }
)

