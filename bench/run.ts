/**
 * One command for every benchmark, each next to its baseline in the same process run:
 *   npm run bench         full run, writes BENCHMARKS.md and docs/bench/*.svg
 *   npm run bench:quick   small sizes (a few minutes), writes BENCHMARKS.quick.md and bench/results/quick/*.svg (not committed)
 *   npm run bench:smoke   tiny sizes, one repetition: proves every step runs end to end (figures meaningless);
 *                         writes BENCHMARKS.smoke.md and bench/results/smoke/ (not committed)
 * The report opens with the aims of issue 14, each a paired ratio against the raw driver doing the same work.
 * BENCHMARKS.md is regenerated: the measured tables and charts first, then bench/analysis.md (hand-written reading).
 * Run with `node --expose-gc` (the npm scripts do) so every case starts after a garbage collection.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { clickHouseReport, type ClickHouseOptions, type ClickHouseResults, quickClickHouse, runClickHouse, type ScalingPoint } from "./clickhouse.js"
import { type CaseResult, fmt, loadText, machine, mib, table } from "./Harness.js"
import { postgresExtraTable, postgresHeading, type PostgresOptions, runPostgres } from "./postgres.js"
import { redisExtraTable, redisHeading, type RedisOptions, runRedis } from "./redis.js"
import { runTokens, stalenessLine, tokensHeading, type TokensOptions } from "./tokens.js"
import { lineChart, type Series } from "./Svg.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const smoke = process.argv.includes("--smoke")
const quick = smoke || process.argv.includes("--quick")
const mode = smoke ? "smoke" : quick ? "quick" : "full"

interface Options {
  readonly postgres: PostgresOptions
  readonly redis: RedisOptions
  readonly tokens: TokensOptions
  readonly clickhouse: ClickHouseOptions
}

// Runs long enough that a repetition is not a handful of event-loop turns: with 400 PostgreSQL
// operations (8 per connection at concurrency 50) or 1,000 Redis GETs (0.1 s) a run's ratio swung 0.35–1.0.
const full: Options = {
  postgres: { ops: 2000, reps: 5, concurrencies: [1, 50] },
  redis: { ops: 20_000, reps: 9 },
  tokens: { ops: 20_000, reps: 5, rotations: 50 },
  clickhouse: {
    ingestSizes: [10_000, 100_000], ingestBatch: 10_000, reps: 5,
    memorySpans: 1_000_000, memoryBaseline: false, tableSizes: [10_000, 100_000, 1_000_000], queryCalls: 3, queryReps: 5,
    batchSizes: [100, 1_000, 10_000, 100_000], batchSpans: 10_000, scalingReps: 1
  }
}
const small: Options = {
  postgres: { ops: 200, reps: 3, concurrencies: [1, 50] },
  redis: { ops: 1000, reps: 3 },
  tokens: { ops: 2000, reps: 3, rotations: 10 },
  clickhouse: quickClickHouse
}
const tiny: Options = {
  postgres: { ops: 60, reps: 1, concurrencies: [1, 50] },
  redis: { ops: 200, reps: 1 },
  tokens: { ops: 200, reps: 1, rotations: 2 },
  clickhouse: {
    ingestSizes: [2_000], ingestBatch: 1_000, reps: 1, memorySpans: 10_000, memoryBaseline: false, tableSizes: [10_000],
    queryCalls: 1, queryReps: 1, batchSizes: [1_000], batchSpans: 2_000, scalingReps: 1
  }
}
const options = smoke ? tiny : quick ? small : full
const reportFile = path.join(root, { full: "BENCHMARKS.md", quick: "BENCHMARKS.quick.md", smoke: "BENCHMARKS.smoke.md" }[mode])
const chartDir = { full: "docs/bench", quick: "bench/results/quick", smoke: "bench/results/smoke" }[mode]

/** The aims of issue 14: each a paired ratio (ours / the raw driver doing the same work, same process, alternating). */
const aims: ReadonlyArray<{ readonly path: string; readonly id: string; readonly today: string; readonly aim: string; readonly at: (r: CaseResult) => boolean }> = [
  ...[1, 100].map((c) => ({ path: `Redis \`cache.get\`, concurrency ${c}`, id: `redis.get.${c}`, today: c === 1 ? "0.65x" : "0.19x", aim: c === 1 ? ">= 0.85x" : ">= 0.7x" })),
  ...[1, 50].map((c) => ({ path: `PostgreSQL \`getTenantByToken\`, concurrency ${c}`, id: `postgres.getTenantByToken.${c}`, today: c === 1 ? "0.55x" : "0.41x", aim: c === 1 ? ">= 0.7x" : ">= 0.55x" })),
  ...[1, 50].map((c) => ({ path: `PostgreSQL \`createTenant\`, concurrency ${c}`, id: `postgres.createTenant.${c}`, today: c === 1 ? "0.65x" : "0.59x", aim: c === 1 ? ">= 0.75x" : ">= 0.65x" })),
  ...[10_000, 100_000].map((n) => ({ path: `TraceWriter with validation vs the engine's limit (prebuilt bodies back to back), ${fmt(n)} spans`, id: `clickhouse.ingest.${n}`, today: n === 10_000 ? "0.65x" : "0.78x", aim: ">= 0.9x" }))
].map((a) => ({ ...a, at: (r: CaseResult) => r.id === a.id })).concat(
  // the token issue's aim for the cached lookup (bench/tokens.ts), found by its case
  [1, 100].map((c) => ({
    path: `cached \`getTenantByToken\` vs raw GET of its key, concurrency ${c}`,
    id: `tokens.hit.${c}`,
    today: "0.05x",
    aim: ">= 2x",
    at: (r: CaseResult) => r.group === "Token lookup" && r.case === `cached getTenantByToken vs raw GET, concurrency ${c}`
  }))
)

const aimsTable = (rows: ReadonlyArray<CaseResult>, ch: ClickHouseResults): string => {
  const met = (aim: string, value: number) => {
    const bound = Number(aim.replace(/[^0-9.]/g, ""))
    return aim.startsWith(">=") ? value >= bound : value < bound
  }
  const m = ch.memory
  const rssAim = 1.2 * 2 ** 30
  return [
    "| path | issue 14 \"today\" | aim | measured | met | load avg (1 min, start–end) |",
    "|---|---:|---:|---:|---|---:|",
    ...aims.map((a) => {
      const r = rows.find(a.at)
      if (r === undefined) return `| ${a.path} | ${a.today} | ${a.aim} | not run | | |`
      const p = r.pairedRatio
      return `| ${a.path} | ${a.today} | ${a.aim} | **${p.median.toFixed(2)}x** (${p.min.toFixed(2)}–${p.max.toFixed(2)}) | ${met(a.aim, p.median) ? "yes" : "no"} | ${r.load === undefined ? "?" : loadText(r.load)} |`
    }),
    `| 1M spans through one TraceWriter, lite (embedded engine on disk), defaults: peak RSS | 3.1 GB | < 1.2 GB | ` +
    (m.spans >= 1_000_000 && m.capacity === undefined
      ? `**${mib(m.writerPeakRss)}** | ${m.writerPeakRss < rssAim ? "yes" : "no"} | ${m.load === undefined ? "?" : loadText(m.load)} |`
      : `not run (${fmt(m.spans)} spans${m.capacity === undefined ? "" : `, capacity ${fmt(m.capacity)}`}: ${mib(m.writerPeakRss)}) | | ${m.load === undefined ? "?" : loadText(m.load)} |`)
  ].join("\n")
}

const describeClickHouse = (o: ClickHouseOptions) =>
  `Ingest: ${o.ingestSizes.map((n) => fmt(n)).join(" and ")} pre-generated spans a run, batches of ${fmt(o.ingestBatch)}, ${o.reps} paired repetitions ` +
  "(every run starts from empty tables and checks all rows arrived); the raw insert converts each batch of spans to rows inside its timed part, as the writer must. " +
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
  console.error(`bench${mode === "full" ? "" : ` (${mode})`}: ${machine()}`)
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
    writeFileSync(path.join(root, "bench", "results", { full: "last-run.json", quick: "quick.json", smoke: "smoke.json" }[mode]), JSON.stringify(m, null, 1))
    return m
  })()
  const { ch, minutes, pgRows, redisRows, tokens } = measured
  const allRows = [...pgRows, ...redisRows, ...ch.ingest, ...(tokens?.rows ?? [])]

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

Generated by \`npm run bench${mode === "full" ? "" : `:${mode}`}\` (\`bench/run.ts\`) on ${measured.started.slice(0, 16).replace("T", " ")} UTC, ${minutes.toFixed(1)} minutes.
Machine: ${measured.machine}.

Every case runs ours and its baseline in the same process, alternating (rotating the order) within each repetition after an
unmeasured warm-up; figures are median (min–max) over the repetitions. Throughput is operations (rows, calls) per second;
latency is measured per call for queries, and is concurrency / throughput for the bulk cases. Peak RSS is
\`process.memoryUsage().rss\` sampled every 20 ms while that contender ran (after a forced GC); it is the whole process,
the embedded ClickHouse engine included, so it is a high-water mark that earlier cases can raise. Ratios are paired per
repetition: throughput ours / baseline (higher is better) for bulk cases, latency ours / baseline (lower is better) for queries.
Every figure states the 1-minute load average when its case started and ended: absolute figures swing with the load
(see min–max); the paired ratios are the steadier measure. Rows run with **no tracer installed** unless they say
"tracer installed": those run under a tracer that makes and counts a span per operation (Effect's built-in spans through
a \`Tracer.make\`, standing in for an OpenTelemetry tracer, which is not a dependency).

## Aims (issue 14)

Paired ratio ours / the raw driver doing the same work (throughput; higher is better), median (min–max) over the
repetitions, in this run. "today" is the figure issue 14 measured before the work.

${aimsTable(allRows, ch)}

## ClickHouse (embedded chDB ${ch.engine})

${describeClickHouse(options.clickhouse)}

${clickHouseReport(ch)}

### Query latency and memory against table size

${sizeTable.join("\n")}

${drawn.map((c) => `![${c.title}](${chartDir}/${c.file})`).join("\n\n")}

## PostgreSQL metadata

${postgresHeading(options.postgres)}

${table(pgRows)}

@effect/sql-pg running the same statement alone, in the same rotation (what its own statement path costs over raw \`pg\`, apart from the repository):

${postgresExtraTable(pgRows)}

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
