/**
 * Our trace schema against the OpenTelemetry Collector ClickHouse exporter's `otel_traces`, on one chDB data
 * directory: the same generated spans stored in both, then bytes on disk per span and the latency of three
 * queries side by side (ours through the TraceRepository, theirs as hand-written SQL over their table).
 *
 * The spans (seeded, so every run makes the same ones): 1,000 tenants with skewed volume, 1–9 spans a trace,
 * 30 days of traces in time order, prompts and responses of real prompt text (../shared/data/prompts) of
 * skewed length (~1 KB a span), 20 tag keys each present with its own probability and skewed values.
 * Ours: our migrations' `spans` and `traces` (a trace record a trace, as storeTrace and the CLI write it),
 * filled with prebuilt JSONCompactEachRow bodies in the writer's format. Theirs: `otel_traces` and its
 * trace-id lookup table and view, as the exporter creates them, filled with what the exporter would write
 * for the same spans sent as OTel spans with GenAI attributes (tenant as the resource attribute `tenant.id`).
 *
 *   npm run bench:schema -- [--spans N] [--load DIR] [--query DIR] [--reps R] [--prompts DIR]
 *
 * No DIR: a temporary directory, loaded, measured, removed. `--load DIR` generates and inserts into DIR (kept,
 * with `bench-meta.json`: what the queries look for) and reports bytes; `--query DIR` only times the queries
 * (and reports bytes) on a loaded DIR, so they can be re-run on a quiet machine.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type SpanId, type TenantId, type TraceId, TraceQuery, TraceRepository, type TraceSpan } from "../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../src/clickhouse/index.js"
import * as JsonLines from "../src/internal/clickhouse/JsonLines.js"
import { insertFormat, toDateTime64 } from "../src/internal/clickhouse/SpanRows.js"
import { storeTraceRecords } from "../src/internal/clickhouse/TraceQueries.js"
import * as SpanVersion from "../src/domain/SpanVersion.js"
import type { TraceEvent } from "../src/domain/Trace.js"
import { fmt, isMain, machine, sample } from "./Harness.js"

// ---- arguments --------------------------------------------------------------------------------

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}
const SPANS = Number(arg("spans") ?? 10_000_000)
const REPS = Number(arg("reps") ?? 9)
const BATCH = 20_000
const OURS_DB = "llmtrace"
const OTEL_DB = "otel"

// ---- data -------------------------------------------------------------------------------------

/** The project's sibling `shared/data/prompts`, or `--prompts DIR` (from a worktree elsewhere). */
const promptsDir = arg("prompts") ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shared/data/prompts")
/** Read when spans are generated (the query phase needs none). */
const readPrompts = (): ReadonlyArray<string> => {
  const files = ["benign_samples.json", "injection_samples.json", "encoding_evasion.json"].map((f) => path.join(promptsDir, f))
  const texts = files.filter(existsSync).flatMap((f) => (JSON.parse(readFileSync(f, "utf8")) as Array<{ text: string }>).map((p) => p.text))
  if (texts.length === 0) throw new Error(`no prompts in ${promptsDir} (give --prompts DIR)`)
  return texts
}

const TENANTS = 1_000
const DAYS = 30
const origin = Date.UTC(2026, 0, 1)
const end = origin + DAYS * 86_400_000

/** mulberry32: a small seeded generator, so every run makes the same spans. */
const rng = (seed: number) => {
  let a = seed | 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hex = (random: () => number, digits: number) => {
  let s = ""
  while (s.length < digits) s += Math.floor(random() * 2 ** 32).toString(16).padStart(8, "0")
  return s.slice(0, digits)
}
const uuidOf = (random: () => number) => {
  const h = hex(random, 32)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`
}

/** An index in 0..n-1, rank 0 the most frequent: weight 1 / (rank + 1)^s (a Zipf law), by binary search. */
const zipf = (n: number, s: number) => {
  const cdf: Array<number> = []
  let total = 0
  for (let r = 0; r < n; r++) cdf.push(total += 1 / (r + 1) ** s)
  return (u: number) => {
    const x = u * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid]! < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** The 20 tag keys: how often each is present and how many values it takes (Zipf-skewed). */
const tagKeys: ReadonlyArray<{ readonly key: string; readonly p: number; readonly values: number }> = [
  { key: "env", p: 1, values: 3 }, { key: "region", p: 1, values: 6 }, { key: "team", p: 0.9, values: 30 },
  { key: "user", p: 0.8, values: 50_000 }, { key: "feature", p: 0.6, values: 40 }, { key: "app_version", p: 0.7, values: 25 },
  { key: "customer_tier", p: 0.5, values: 4 }, { key: "experiment", p: 0.2, values: 12 }, { key: "locale", p: 0.4, values: 30 },
  { key: "device", p: 0.3, values: 5 }, { key: "sdk", p: 0.6, values: 8 }, { key: "route", p: 0.5, values: 200 },
  { key: "session", p: 0.5, values: 1_000_000 }, { key: "workflow", p: 0.3, values: 60 }, { key: "prompt_template", p: 0.4, values: 300 },
  { key: "cache", p: 0.5, values: 2 }, { key: "stream", p: 0.5, values: 2 }, { key: "retry", p: 0.1, values: 4 },
  { key: "org_unit", p: 0.3, values: 100 }, { key: "channel", p: 0.4, values: 6 }
]
const tagPickers = tagKeys.map((k) => zipf(Math.min(k.values, 100_000), 1.1))

const providers = ["OpenAI", "Anthropic", "Bedrock", "AzureOpenAI", "Ollama"] as const
const otelProvider: Record<(typeof providers)[number], string> = { OpenAI: "openai", Anthropic: "anthropic", Bedrock: "aws.bedrock", AzureOpenAI: "azure.ai.openai", Ollama: "ollama" }
const models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku", "llama-3-70b", "mistral-large", "o3-mini"] as const
const operations = ["chat", "chat", "chat", "chat", "embeddings", "invoke_agent", "execute_tool"] as const

/**
 * The spans, made on demand in time order (one trace at a time). Tenants are drawn per trace with
 * Zipf(0.9) volume (the busiest ~10% of the spans), so tenants' traces interleave in time as they arrive.
 */
export class Generator {
  private readonly random = rng(0x5eed)
  private readonly tenantOf = zipf(TENANTS, 0.9)
  private readonly pickProvider = zipf(providers.length, 1)
  private readonly pickModel = zipf(models.length, 1)
  private readonly promptTexts = readPrompts()
  private readonly pickPrompt = zipf(this.promptTexts.length, 0.5)
  readonly tenants: ReadonlyArray<TenantId>
  private made = 0
  private traces = 0

  constructor(readonly total: number) {
    this.tenants = Array.from({ length: TENANTS }, () => uuidOf(this.random) as TenantId)
  }

  get produced(): number {
    return this.made
  }

  private text(min: number, mean: number): string {
    const length = Math.min(16_000, min + Math.floor(-Math.log(1 - this.random()) * mean))
    let s = this.promptTexts[this.pickPrompt(this.random())]!
    while (s.length < length) s += `\n\n${this.promptTexts[this.pickPrompt(this.random())]!}`
    // never half of a surrogate pair (the engine refuses a lone one, as does the span schema)
    return s.slice(0, /[\uD800-\uDBFF]/.test(s[length - 1] ?? "") ? length - 1 : length)
  }

  /** The next trace: its record (createdAt = its first span's start) and spans; undefined when `total` spans were made. */
  nextTrace(): { readonly record: TraceEvent; readonly spans: Array<TraceSpan> } | undefined {
    if (this.made >= this.total) return undefined
    const r = this.random
    const n = Math.min(this.total - this.made, 1 + Math.floor(r() * 9))
    // Traces evenly over the days, in order: the expected number of traces is total / 5.
    const t0 = origin + Math.floor((this.traces++ * 5 / this.total) * (end - origin - 60_000))
    const tenantId = this.tenants[this.tenantOf(r())]!
    const traceId = hex(r, 32) as TraceId
    const root = hex(r, 16) as SpanId
    const spans: Array<TraceSpan> = []
    let t = t0
    for (let k = 0; k < n; k++) {
      const duration = 80 + Math.floor(-Math.log(1 - r()) * 1_500)
      const start = new Date(t)
      const operation = k === 0 ? "chat" : operations[Math.floor(r() * operations.length)]!
      const promptTokens = 20 + Math.floor(r() * 2_000)
      const completionTokens = Math.floor(r() * 800)
      const failed = r() < 0.03
      const scored = r() < 0.7
      const tags: Record<string, string> = {}
      for (let i = 0; i < tagKeys.length; i++) {
        const key = tagKeys[i]!
        if (r() < key.p) tags[key.key] = `${key.key}-${tagPickers[i]!(r())}`
      }
      const provider = providers[this.pickProvider(r())]!
      spans.push({
        traceId,
        spanId: k === 0 ? root : hex(r, 16) as SpanId,
        ...(k === 0 ? {} : { parentSpanId: root }),
        tenantId,
        operationName: operation,
        startTime: start,
        endTime: new Date(t + duration),
        provider,
        modelName: models[this.pickModel(r())]!,
        prompt: this.text(40, 700),
        response: this.text(20, 250),
        promptTokens,
        completionTokens,
        totalTokens: promptTokens + completionTokens,
        timeToFirstTokenMs: Math.floor(duration * r() * 0.5),
        durationMs: duration,
        statusCode: failed ? 500 : 200,
        ...(failed ? { errorMessage: "upstream provider error: 500 Internal Server Error" } : {}),
        estimatedCostUsd: Math.round((promptTokens * 2.5 + completionTokens * 10) / 1e3) / 1e3,
        ...(scored ? { securityScore: Math.floor(r() ** 3 * 101) } : {}),
        securityFindings: r() < 0.05
          ? [{ id: uuidOf(r), severity: "High", findingType: "prompt_injection", description: "instruction override", detectedAt: start, confidenceScore: 0.9, requiresAlert: false, metadata: { rule: "PI-001" } }]
          : [],
        tags,
        events: [],
        agentActions: []
      })
      t += duration + Math.floor(r() * 50)
      this.made++
    }
    return { record: { tenantId, traceId, createdAt: spans[0]!.startTime, spans: [] }, spans }
  }
}

// ---- otel_traces ------------------------------------------------------------------------------

/**
 * The exporter's DDL, as published in open-telemetry/opentelemetry-collector-contrib,
 * exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql (the bloom-filter branch, no full-text
 * indexes; Engine MergeTree, no TTL), traces_id_ts_lookup_table.sql and traces_id_ts_lookup_mv.sql.
 */
const otelDdl = (db: string) => [
  `CREATE DATABASE IF NOT EXISTS ${db}`,
  `CREATE TABLE IF NOT EXISTS ${db}.otel_traces (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
  `CREATE TABLE IF NOT EXISTS ${db}.otel_traces_trace_id_ts (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = AggregatingMergeTree
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.otel_traces_trace_id_ts_mv
TO ${db}.otel_traces_trace_id_ts
AS SELECT TraceId, min(Timestamp) as Start, max(Timestamp) as End
FROM ${db}.otel_traces
WHERE TraceId != ''
GROUP BY TraceId`
]

const otelColumns = [
  "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName", "ResourceAttributes",
  "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name",
  "Events.Attributes", "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes"
]

/**
 * A span as the exporter would store it, sent as an OTel span with the GenAI attributes our OTLP receiver
 * reads back into the same TraceSpan (docs/DESIGN.md, "OpenTelemetry ids and attributes"): the tenant as the
 * resource attribute `tenant.id`, tags as span attributes of their own keys, findings as span events.
 */
const otelRow = (s: TraceSpan): ReadonlyArray<unknown> => {
  const attributes: Record<string, string> = {
    "gen_ai.provider.name": otelProvider[s.provider as (typeof providers)[number]],
    "gen_ai.operation.name": s.operationName,
    "gen_ai.request.model": s.modelName,
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": s.prompt,
    ...(s.response === undefined ? {} : { "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": s.response }),
    ...(s.promptTokens === undefined ? {} : { "gen_ai.usage.input_tokens": String(s.promptTokens) }),
    ...(s.completionTokens === undefined ? {} : { "gen_ai.usage.output_tokens": String(s.completionTokens) }),
    ...(s.totalTokens === undefined ? {} : { "gen_ai.usage.total_tokens": String(s.totalTokens) }),
    ...(s.statusCode === undefined ? {} : { "http.response.status_code": String(s.statusCode) }),
    ...(s.estimatedCostUsd === undefined ? {} : { "gen_ai.usage.cost": String(s.estimatedCostUsd) }),
    ...(s.timeToFirstTokenMs === undefined ? {} : { "gen_ai.server.time_to_first_token": String(s.timeToFirstTokenMs / 1000) }),
    ...(s.securityScore === undefined ? {} : { "llmtrace.security_score": String(s.securityScore) }),
    ...s.tags
  }
  const events = s.securityFindings
  return [
    toDateTime64(s.startTime), s.traceId, s.spanId, s.parentSpanId ?? "", "", s.operationName, "Client", "llm-proxy",
    { "service.name": "llm-proxy", "tenant.id": s.tenantId }, "llmtrace", "1.0.0", attributes,
    Math.round((s.durationMs ?? 0) * 1e6), s.errorMessage === undefined ? "Ok" : "Error", s.errorMessage ?? "",
    events.map((f) => toDateTime64(f.detectedAt)), events.map(() => "security_finding"),
    events.map((f) => ({ severity: f.severity, type: f.findingType, description: f.description, confidence: String(f.confidenceScore), ...f.metadata })),
    [], [], [], []
  ]
}

// ---- the benchmark ----------------------------------------------------------------------------

interface Meta {
  readonly spans: number
  /** the busiest tenant and one of median volume (rank 100) */
  readonly tenants: ReadonlyArray<{ readonly rank: number; readonly tenantId: TenantId }>
  readonly samples: ReadonlyArray<{ readonly tenantId: TenantId; readonly traceId: TraceId; readonly spans: number }>
  readonly lastDay: { readonly from: string; readonly to: string }
  readonly tag: { readonly key: string; readonly value: string }
  readonly loadSeconds?: number
  readonly insertSeconds?: { readonly ours: number; readonly otel: number }
  readonly optimizeSeconds?: { readonly ours: number; readonly otel: number }
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(" / ")
const uptime = () => `load average: ${load()}`
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)} load ${load()}] ${s}`)

const open = (dir: string) => {
  const client = ClickHouseClient.layer({ url: Redacted.make(`chdb:${dir}`), database: OURS_DB, requestTimeout: "3600 seconds" })
  return ManagedRuntime.make(ClickHouseTraceRepository.layer({ timeout: "600 seconds" }).pipe(Layer.provideMerge(client)))
}
type Runtime = ReturnType<typeof open>

const loadPhase = async (rt: Runtime, dir: string): Promise<Meta> => {
  const ch = await rt.runPromise(ClickHouseClient.ClickHouseClient)
  const run = <A, E>(e: Effect.Effect<A, E>) => rt.runPromise(e)
  for (const statement of otelDdl(OTEL_DB)) await run(ch.command("bench.otel.ddl", statement))
  const gen = new Generator(SPANS)
  const bodies = JsonLines.make({ keep: 0 })
  const samples: Array<Meta["samples"][number]> = []
  const spanColumns = insertFormat([]).columns
  let oursMs = 0
  let otelMs = 0
  let batches = 0
  const started = performance.now()
  while (gen.produced < SPANS) {
    const spans: Array<TraceSpan> = []
    const records: Array<TraceEvent> = []
    while (spans.length < BATCH) {
      const trace = gen.nextTrace()
      if (trace === undefined) break
      records.push(trace.record)
      spans.push(...trace.spans)
      if (records.length === 1 && batches % 25 === 0) samples.push({ tenantId: trace.record.tenantId, traceId: trace.record.traceId, spans: trace.spans.length })
    }
    if (spans.length === 0) break
    const ours = { bytes: bodies.encodeRows(spans, insertFormat(SpanVersion.nextRange(spans.length))), format: "JSONCompactEachRow" as const, columns: spanColumns }
    const otel = { bytes: Buffer.from(spans.map((s) => JSON.stringify(otelRow(s))).join("\n")), format: "JSONCompactEachRow" as const, columns: otelColumns }
    // Alternating which side goes first, so a slow moment of the machine hits both.
    const sides = [
      async () => {
        const t = performance.now()
        await run(storeTraceRecords(ch, "bench.traces", records))
        await run(ch.insertBody("bench.ours", `${OURS_DB}.spans`, ours))
        oursMs += performance.now() - t
      },
      async () => {
        const t = performance.now()
        await run(ch.insertBody("bench.otel", `${OTEL_DB}.otel_traces`, otel))
        otelMs += performance.now() - t
      }
    ]
    for (const side of batches % 2 === 0 ? sides : sides.reverse()) await side()
    batches++
    if (batches % 50 === 0) log(`${fmt(gen.produced)} spans (ours ${fmt(oursMs / 1000)} s, otel ${fmt(otelMs / 1000)} s of inserts)`)
  }
  const loadSeconds = (performance.now() - started) / 1000
  log(`loaded ${fmt(gen.produced)} spans in ${fmt(loadSeconds)} s; merging each table into final parts (OPTIMIZE … FINAL)`)
  const optimize = async (tables: ReadonlyArray<string>) => {
    const t = performance.now()
    for (const table of tables) await run(ch.command("bench.optimize", `OPTIMIZE TABLE ${table} FINAL`))
    return (performance.now() - t) / 1000
  }
  const optimizeSeconds = {
    ours: await optimize([`${OURS_DB}.spans`, `${OURS_DB}.traces`]),
    otel: await optimize([`${OTEL_DB}.otel_traces`, `${OTEL_DB}.otel_traces_trace_id_ts`])
  }
  // The tag of the filter: `team` (present on 90% of spans), its second most frequent value.
  const meta: Meta = {
    spans: gen.produced,
    tenants: [{ rank: 1, tenantId: gen.tenants[0]! }, { rank: 100, tenantId: gen.tenants[99]! }],
    samples: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 200)) === 0),
    lastDay: { from: new Date(end - 86_400_000).toISOString(), to: new Date(end).toISOString() },
    tag: { key: "team", value: "team-1" },
    loadSeconds,
    insertSeconds: { ours: oursMs / 1000, otel: otelMs / 1000 },
    optimizeSeconds
  }
  writeFileSync(path.join(dir, "bench-meta.json"), JSON.stringify(meta, null, 1))
  return meta
}

const bytesReport = async (rt: Runtime, spans: number): Promise<string> => {
  const ch = await rt.runPromise(ClickHouseClient.ClickHouseClient)
  // Opening the repository ran pending migrations: their mutations (a column type change rewrites parts) finish first.
  for (let waited = 0; ; waited++) {
    const pending = await rt.runPromise(ch.query<{ n: string }>("bench.mutations", "SELECT count() AS n FROM system.mutations WHERE NOT is_done"))
    if (Number(pending[0]?.n) === 0) break
    if (waited % 30 === 0) log(`waiting for ${pending[0]?.n} mutations to finish`)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
  }
  const tables = await rt.runPromise(ch.query<{ database: string; table: string; rows: string; parts: string; disk: string; compressed: string; uncompressed: string; indexes: string }>(
    "bench.bytes",
    `SELECT database, table, sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS disk, sum(data_compressed_bytes) AS compressed,
       sum(data_uncompressed_bytes) AS uncompressed, sum(secondary_indices_compressed_bytes) AS indexes
     FROM system.parts WHERE active AND database IN ({a:String}, {b:String}) GROUP BY database, table ORDER BY database, table`,
    { a: OURS_DB, b: OTEL_DB }
  ))
  const columns = await rt.runPromise(ch.query<{ database: string; table: string; name: string; compressed: string; uncompressed: string }>(
    "bench.columns",
    `SELECT database, table, name, data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed FROM system.columns
     WHERE database IN ({a:String}, {b:String}) AND table IN ('spans', 'otel_traces') AND data_compressed_bytes > 0 ORDER BY database, compressed DESC`,
    { a: OURS_DB, b: OTEL_DB }
  ))
  const side = (db: string) => tables.filter((t) => t.database === db).reduce((n, t) => n + Number(t.disk), 0)
  const ours = side(OURS_DB)
  const otel = side(OTEL_DB)
  return [
    `Bytes on disk (${fmt(spans)} spans; active parts): **ours ${fmt(ours / spans)} B/span, otel_traces ${fmt(otel / spans)} B/span, ratio ours/otel ${(ours / otel).toFixed(2)}x**`,
    "",
    "| table | rows | parts | on disk | data compressed | data uncompressed | skip indexes | on disk B/span |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...tables.filter((t) => t.table !== "llmtrace_migrations").map((t) =>
      `| ${t.database}.${t.table} | ${fmt(Number(t.rows))} | ${t.parts} | ${fmt(Number(t.disk) / 2 ** 20)} MiB | ${fmt(Number(t.compressed) / 2 ** 20)} MiB | ${fmt(Number(t.uncompressed) / 2 ** 20)} MiB | ${fmt(Number(t.indexes) / 2 ** 20)} MiB | ${fmt(Number(t.disk) / spans)} |`
    ),
    "",
    "Per column (compressed B/span, ratio):",
    "",
    "| table | column | B/span | compression |",
    "|---|---|---:|---:|",
    ...columns.map((c) => `| ${c.table} | ${c.name} | ${fmt(Number(c.compressed) / spans)} | ${(Number(c.uncompressed) / Math.max(1, Number(c.compressed))).toFixed(1)}x |`)
  ].join("\n")
}

const queryPhase = async (rt: Runtime, meta: Meta): Promise<string> => {
  const ch = await rt.runPromise(ClickHouseClient.ClickHouseClient)
  const repo = await rt.runPromise(TraceRepository.TraceRepository)
  const run = <A, E>(e: Effect.Effect<A, E>) => rt.runPromise(e)
  const otel = `${OTEL_DB}.otel_traces`
  const from = new Date(meta.lastDay.from)
  const to = new Date(meta.lastDay.to)
  const hand = {
    // The trace's time range from the exporter's lookup table first, as Grafana's ClickHouse plugin reads a trace.
    getTrace: `WITH (SELECT (min(Start), max(End)) FROM ${OTEL_DB}.otel_traces_trace_id_ts WHERE TraceId = {id:String}) AS range
      SELECT * FROM ${otel} WHERE TraceId = {id:String} AND ResourceAttributes['tenant.id'] = {t:String}
        AND Timestamp >= range.1 AND Timestamp < range.2 + 1 ORDER BY Timestamp`,
    tagFilter: `SELECT * FROM ${otel} WHERE ResourceAttributes['tenant.id'] = {t:String} AND Timestamp >= {from:DateTime64(3, 'UTC')}
        AND Timestamp <= {to:DateTime64(3, 'UTC')} AND SpanAttributes[{k:String}] = {v:String} ORDER BY Timestamp DESC LIMIT 100`,
    getStats: `SELECT uniqExact(TraceId) AS traces, count() AS spans, min(Timestamp) AS oldest, max(Timestamp) AS newest,
        sum(arraySum(arrayMap(v -> length(v), mapValues(SpanAttributes)))) AS bytes FROM ${otel} WHERE ResourceAttributes['tenant.id'] = {t:String}`
  }
  const cases: Array<{ readonly name: string; readonly ours: (k: number) => Promise<number>; readonly otel: (k: number) => Promise<number> }> = []
  const sampleAt = (k: number) => meta.samples[(k * 37) % meta.samples.length]!
  cases.push({
    name: "getTrace by id",
    ours: async (k) => {
      const found = await run(repo.getTrace(sampleAt(k).tenantId, sampleAt(k).traceId))
      return found._tag === "Some" ? found.value.spans.length : -1
    },
    otel: async (k) => (await run(ch.query(`bench.otel`, hand.getTrace, { id: sampleAt(k).traceId, t: sampleAt(k).tenantId }))).length
  })
  for (const { rank, tenantId } of meta.tenants) {
    cases.push({
      name: `tag ${meta.tag.key} = ${meta.tag.value}, last day, newest 100 spans (tenant rank ${rank})`,
      ours: async () =>
        (await run(repo.querySpans(TraceQuery.make({ tenantId, tags: { [meta.tag.key]: meta.tag.value }, startTime: from, endTime: to, limit: 100 })))).length,
      otel: async () => (await run(ch.query(`bench.otel`, hand.tagFilter, { t: tenantId, from: toDateTime64(from), to: toDateTime64(to), k: meta.tag.key, v: meta.tag.value }))).length
    })
    cases.push({
      name: `getStats (tenant rank ${rank})`,
      ours: async () => (await run(repo.getStats(tenantId))).totalSpans,
      otel: async () => Number((await run(ch.query<{ spans: string }>(`bench.otel`, hand.getStats, { t: tenantId })))[0]?.spans)
    })
  }
  const rows: Array<string> = []
  for (const c of cases) {
    const loadBefore = loadavg()[0]!
    // a warm-up call each, whose answers must agree (same spans found on both sides)
    const [a, b] = [await c.ours(0), await c.otel(0)]
    if (a !== b) throw new Error(`${c.name}: ours found ${a}, otel_traces ${b}`)
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (let k = 1; k <= REPS; k++) {
      const timed = async (f: (k: number) => Promise<number>, into: Array<number>) => {
        const t = performance.now()
        await f(k)
        into.push(performance.now() - t)
      }
      if (k % 2 === 0) {
        await timed(c.ours, ours)
        await timed(c.otel, theirs)
      } else {
        await timed(c.otel, theirs)
        await timed(c.ours, ours)
      }
    }
    const o = sample(ours)
    const t = sample(theirs)
    const ratio = sample(ours.map((x, i) => x / theirs[i]!))
    log(`${c.name}: ours ${fmt(o.median)} ms, otel ${fmt(t.median)} ms`)
    rows.push(`| ${c.name} (${fmt(a)} found) | ${fmt(o.median)} (${fmt(o.min)}–${fmt(o.max)}) | ${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)}) | **${ratio.median.toFixed(2)}x** (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}) | ${loadBefore.toFixed(1)}–${loadavg()[0]!.toFixed(1)} |`)
  }
  return [
    `Latency, ms (median (min–max) of ${REPS} runs, the sides alternating; ours through the TraceRepository, otel_traces hand-written SQL):`,
    "",
    "| query | ours | otel_traces | ratio ours/otel (paired) | load avg (1 min) |",
    "|---|---:|---:|---:|---:|",
    ...rows
  ].join("\n")
}

const main = async () => {
  const loadDir = arg("load")
  const queryDir = arg("query")
  const temporary = loadDir === undefined && queryDir === undefined
  const dir = loadDir ?? queryDir ?? mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-schema-"))
  if (loadDir !== undefined) {
    if (existsSync(path.join(loadDir, "bench-meta.json"))) throw new Error(`${loadDir} is loaded already; remove it or use --query`)
    mkdirSync(loadDir, { recursive: true })
  }
  console.log(`### Schema: ours vs otel_traces\n\nMachine: ${machine()}\n\n\`uptime\` at the start: ${uptime()}\n`)
  const rt = open(dir)
  try {
    let meta: Meta
    if (queryDir === undefined || loadDir !== undefined) {
      log(`generating and inserting ${fmt(SPANS)} spans into ${dir}`)
      meta = await loadPhase(rt, dir)
      console.log(
        `Load: ${fmt(meta.spans)} spans in ${fmt(meta.loadSeconds ?? 0)} s (generation and encoding included); inserts ours ${fmt(meta.insertSeconds?.ours ?? 0)} s, ` +
          `otel ${fmt(meta.insertSeconds?.otel ?? 0)} s; OPTIMIZE FINAL ours ${fmt(meta.optimizeSeconds?.ours ?? 0)} s, otel ${fmt(meta.optimizeSeconds?.otel ?? 0)} s; \`uptime\`: ${uptime()}\n`
      )
    } else {
      meta = JSON.parse(readFileSync(path.join(dir, "bench-meta.json"), "utf8")) as Meta
    }
    console.log(`${await bytesReport(rt, meta.spans)}\n`)
    if (loadDir === undefined) {
      console.log(`${await queryPhase(rt, meta)}\n\n\`uptime\` at the end: ${uptime()}\n`)
    }
  } finally {
    await rt.dispose()
    if (temporary) rmSync(dir, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
