/**
 * One command for every benchmark, each next to its baseline in the same process run:
 *   npm run bench         full run, writes BENCHMARKS.md and docs/bench/*.svg
 *   npm run bench:quick   small sizes (under 2 minutes), writes BENCHMARKS.quick.md and bench/results/quick/*.svg (not committed)
 * BENCHMARKS.md is regenerated: the measured tables and charts first, then bench/analysis.md (hand-written reading).
 * Run with `node --expose-gc` (the npm scripts do) so every case starts after a garbage collection.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { clickHouseReport, type ClickHouseOptions, type ClickHouseResults, quickClickHouse, runClickHouse, type ScalingPoint } from "./clickhouse.js"
import { type CaseResult, fmt, machine, mib, table } from "./Harness.js"
import { postgresHeading, type PostgresOptions, runPostgres } from "./postgres.js"
import { redisExtraTable, redisHeading, type RedisOptions, runRedis } from "./redis.js"
import { runTokens, stalenessLine, tokensHeading, type TokensOptions } from "./tokens.js"
import { lineChart, type Series } from "./Svg.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const quick = process.argv.includes("--quick")

const full: {
  readonly postgres: PostgresOptions
  readonly redis: RedisOptions
  readonly tokens: TokensOptions
  readonly clickhouse: ClickHouseOptions
} = {
  postgres: { ops: 400, reps: 5, concurrencies: [1, 50] },
  redis: { ops: 2000, reps: 5 },
  tokens: { ops: 20_000, reps: 5, rotations: 50 },
  clickhouse: {
    ingestSpans: 10_000, ingestBatch: 10_000, reps: 5,
    memorySpans: 1_000_000, memoryBaseline: false, tableSizes: [10_000, 100_000, 1_000_000], queryCalls: 3, queryReps: 5,
    batchSizes: [100, 1_000, 10_000, 100_000], batchSpans: 10_000, scalingReps: 1
  }
}
const small: typeof full = {
  postgres: { ops: 200, reps: 3, concurrencies: [1, 50] },
  redis: { ops: 1000, reps: 3 },
  tokens: { ops: 2000, reps: 3, rotations: 10 },
  clickhouse: quickClickHouse
}
const options = quick ? small : full
const reportFile = path.join(root, quick ? "BENCHMARKS.quick.md" : "BENCHMARKS.md")
const chartDir = quick ? "bench/results/quick" : "docs/bench"

const describeClickHouse = (o: ClickHouseOptions) =>
  `Ingest: ${fmt(o.ingestSpans)} pre-generated spans a run, batches of ${fmt(o.ingestBatch)}, ${o.reps} paired repetitions (every run starts from empty tables and checks all rows arrived). ` +
  `Memory and queries: ${fmt(o.memorySpans)} spans generated lazily (10k at a time) through one TraceWriter; at ${o.tableSizes.map((s) => fmt(s)).join(", ")} spans the writer is flushed and ` +
  `each query runs ${o.queryCalls} calls per repetition, ${o.queryReps} paired repetitions after a warm-up (latency = each call). ` +
  `Batch-size scaling: ${o.batchSizes.map((b) => fmt(b)).join(", ")} with max(${fmt(o.batchSpans)}, batch) spans a run, ${o.scalingReps} paired repetitions` +
  (o.memoryBaseline ? "; the memory case's raw insert baseline also ran." : "; the memory case's raw-insert baseline was not run (time).")

const charts = (ch: ClickHouseResults): Array<{ readonly file: string; readonly title: string; readonly svg: string }> => {
  const series = (points: ReadonlyArray<ScalingPoint>, pick: (r: CaseResult["ours"]) => { median: number; min: number; max: number }, names: [string, string]): Array<Series> => [
    { name: names[0], color: "#d62728", points: points.map((p) => ({ x: p.x, y: pick(p.result.ours).median, min: pick(p.result.ours).min, max: pick(p.result.ours).max })) },
    { name: names[1], color: "#1f77b4", points: points.map((p) => ({ x: p.x, y: pick(p.result.baseline).median, min: pick(p.result.baseline).min, max: pick(p.result.baseline).max })) }
  ]
  const out = [{
    file: "ingest-batch-size.svg",
    title: "Ingest throughput against batch size",
    svg: lineChart({ title: "Ingest throughput against batch size (chDB)", xLabel: "batch size (spans)", yLabel: "rows/s (median, min–max)",
      series: series(ch.batchScaling, (f) => f.throughput, ["TraceWriter (batchSize)", "raw JSONEachRow insert"]) })
  }]
  for (const [kind, label] of [["queryTraces", "queryTraces (filters, limit 50)"], ["getTrace", "getTrace"], ["getStats", "getStats (one tenant)"]] as const) {
    out.push({
      file: `query-${kind}.svg`,
      title: `${label} latency against table size`,
      svg: lineChart({ title: `${label} latency against table size`, xLabel: "table size (spans)", yLabel: "ms per call (median, min–max)", logY: true,
        series: series(ch.tableScaling[kind], (f) => f.latencyMs, [`${kind} (ours)`, "hand-written SQL"]) })
    })
  }
  out.push({
    file: "query-rss.svg",
    title: "Peak RSS during queries against table size",
    svg: lineChart({ title: "Peak RSS while querying, against table size", xLabel: "table size (spans)", yLabel: "peak RSS (MiB)",
      series: [
        ...(["queryTraces", "getTrace", "getStats"] as const).map((k, i) => ({
          name: `${k} (ours)`, color: ["#d62728", "#2ca02c", "#9467bd"][i]!,
          points: ch.tableScaling[k].map((p) => ({ x: p.x, y: p.result.ours.peakRss / 2 ** 20 }))
        })),
        { name: "queryTraces hand-written SQL", color: "#1f77b4", points: ch.tableScaling.queryTraces.map((p) => ({ x: p.x, y: p.result.baseline.peakRss / 2 ** 20 })) }
      ] })
  })
  return out
}

interface Measured {
  readonly pgRows: ReadonlyArray<CaseResult>
  readonly redisRows: ReadonlyArray<CaseResult>
  readonly tokens?: Awaited<ReturnType<typeof runTokens>>
  readonly ch: ClickHouseResults
  readonly minutes: number
  readonly started: string
  readonly machine: string
}

const main = async () => {
  const started = new Date()
  const t0 = performance.now()
  console.error(`bench${quick ? " (quick)" : ""}: ${machine()}`)
  // --from-json <file>: redraw the report from a saved run (the measurements are saved before the report is written)
  const fromJson = process.argv.indexOf("--from-json")
  const saved = fromJson > 0 ? JSON.parse(readFileSync(process.argv[fromJson + 1]!, "utf8")) as Measured : undefined
  const measured: Measured = saved ?? await (async () => {
    const pgRows = await runPostgres(options.postgres)
    const redisRows = await runRedis(options.redis)
    const tokens = await runTokens(options.tokens)
    const ch = await runClickHouse(options.clickhouse)
    const m: Measured = { pgRows, redisRows, tokens, ch, minutes: (performance.now() - t0) / 60_000, started: started.toISOString(), machine: machine() }
    mkdirSync(path.join(root, "bench", "results"), { recursive: true })
    writeFileSync(path.join(root, "bench", "results", quick ? "quick.json" : "last-run.json"), JSON.stringify(m, null, 1))
    return m
  })()
  const { ch, minutes, pgRows, redisRows, tokens } = measured

  mkdirSync(path.join(root, chartDir), { recursive: true })
  const drawn = charts(ch)
  for (const c of drawn) writeFileSync(path.join(root, chartDir, c.file), c.svg)

  const analysisFile = path.join(root, "bench", "analysis.md")
  const analysis = !quick && existsSync(analysisFile) ? `\n${readFileSync(analysisFile, "utf8")}` : ""
  const sizeTable = [
    "| table size | query | ours ms | hand-written SQL ms | ratio (latency, paired) | ours peak RSS | SQL peak RSS |",
    "|---:|---|---:|---:|---:|---:|---:|",
    ...(["queryTraces", "getTrace", "getStats"] as const).flatMap((k) => ch.tableScaling[k].map((p) =>
      `| ${fmt(p.x)} | ${k} | ${fmt(p.result.ours.latencyMs.median, 1)} | ${fmt(p.result.baseline.latencyMs.median, 1)} | ${p.result.pairedRatio.median.toFixed(2)}x | ${mib(p.result.ours.peakRss)} | ${mib(p.result.baseline.peakRss)} |`))
  ]
  const report = `# Benchmarks

Generated by \`npm run bench${quick ? ":quick" : ""}\` (\`bench/run.ts\`) on ${measured.started.slice(0, 16).replace("T", " ")} UTC, ${minutes.toFixed(1)} minutes.
Machine: ${measured.machine}.

Every case runs ours and its baseline in the same process, alternating (rotating the order) within each repetition after an
unmeasured warm-up; figures are median (min–max) over the repetitions. Throughput is operations (rows, calls) per second;
latency is measured per call for queries, and is concurrency / throughput for the bulk cases. Peak RSS is
\`process.memoryUsage().rss\` sampled every 20 ms while that contender ran (after a forced GC); it is the whole process,
the embedded ClickHouse engine included, so it is a high-water mark that earlier cases can raise. Ratios are paired per
repetition: throughput ours / baseline (higher is better) for bulk cases, latency ours / baseline (lower is better) for queries.
**The machine was shared with other engineers' test suites while this ran (load average ~10 on 2 cores)**: absolute
figures swing between repetitions (see min–max); the paired ratios are the steadier measure.

## ClickHouse (embedded chDB ${ch.engine})

${describeClickHouse(options.clickhouse)}

${clickHouseReport(ch)}

### Query latency and memory against table size

${sizeTable.join("\n")}

${drawn.map((c) => `![${c.title}](${chartDir}/${c.file})`).join("\n\n")}

## PostgreSQL metadata

${postgresHeading(options.postgres)}

${table(pgRows)}

## Redis cache

${redisHeading(options.redis)}

${table(redisRows)}

Second baseline, raw ioredis with RedisCache's client options:

${redisExtraTable(redisRows)}
${tokens === undefined ? "" : `
## Token lookup

${tokensHeading(options.tokens)}

${table(tokens.rows)}

${stalenessLine(tokens.stalenessMs)}
`}${analysis}`
  writeFileSync(reportFile, report)
  console.error(`wrote ${path.relative(root, reportFile)} and ${drawn.length} charts in ${chartDir}/ (${minutes.toFixed(1)} minutes)`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
