/**
 * Side-by-side measurement shared by every benchmark: each case runs ours and its baseline
 * alternately within every repetition (so a slow moment of a shared machine hits both), keeps the
 * median, min and max, and samples the process RSS while each contender runs.
 */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { readFileSync } from "node:fs"
import { cpus, loadavg, totalmem } from "node:os"

export interface Sample {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const sample = (values: ReadonlyArray<number>): Sample => {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  const median = s.length === 0 ? 0 : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
  return { median, min: s[0] ?? 0, max: s[s.length - 1] ?? 0 }
}

/** Collects garbage when the process runs with `--expose-gc` (npm run bench does), so RSS starts low. */
export const gc = (): void => {
  const f = (globalThis as { gc?: () => void }).gc
  if (f !== undefined) f()
}

/** Samples `process.memoryUsage().rss` every `everyMs` while `f` runs; returns its result and the peak (bytes). */
export const withPeakRss = async <A>(
  f: () => Promise<A>,
  everyMs = 20
): Promise<{ readonly value: A; readonly peakRss: number; readonly peakJs: number }> => {
  let peak = 0
  // JavaScript's share: V8 heap in use plus external memory (Buffers), apart from the engine's own allocations
  let peakJs = 0
  const probe = () => {
    const m = process.memoryUsage()
    peak = Math.max(peak, m.rss)
    peakJs = Math.max(peakJs, m.heapUsed + m.external)
  }
  probe()
  const timer = setInterval(probe, everyMs)
  try {
    const value = await f()
    probe()
    return { value, peakRss: peak, peakJs }
  } finally {
    clearInterval(timer)
  }
}

/** One contender's figures in a case. */
export interface Figures {
  /** operations (rows, calls) per second, one value per repetition */
  readonly throughput: Sample
  /** milliseconds per operation (measured per call for queries; concurrency / throughput for bulk runs) */
  readonly latencyMs: Sample
  /** the largest RSS sampled while this contender ran, bytes */
  readonly peakRss: number
}

export interface CaseResult {
  /** a stable name for the aims table (e.g. "redis.get.1"), when the case has an aim there */
  readonly id?: string
  readonly group: string
  readonly case: string
  /** what one operation is: "rows", "calls", "ops" */
  readonly unit: string
  readonly ours: Figures
  readonly baseline: Figures
  /**
   * Paired per repetition: ours / baseline throughput for bulk cases (higher is better); for query cases
   * (`ratioOf: "latency"`) ours / baseline time, i.e. latency (lower is better).
   */
  readonly pairedRatio: Sample
  readonly ratioOf: "throughput" | "latency"
  readonly reps: number
  /** the aim as text, e.g. ">= 0.8x" */
  readonly aim?: string
  readonly note?: string
  /** a second baseline, measured in the same rotation */
  readonly extra?: {
    readonly label: string
    readonly figures: Figures
    /** ours / it, paired */
    readonly pairedRatio: Sample
    /** it / the baseline, paired */
    readonly vsBaseline?: Sample
  }
  /** the 1-minute load average when the case started and when it ended */
  readonly load: readonly [start: number, end: number]
}

/** The 1-minute load average, for the figures measured now. */
export const load1 = (): number => loadavg()[0] ?? 0

/** "load 1.2–3.4": the 1-minute load average at the start and the end of a case. */
export const loadText = (load: readonly [number, number]): string => `${load[0].toFixed(1)}–${load[1].toFixed(1)}`

/**
 * A real tracer for the "tracer installed" rows: Effect's built-in tracer makes every span (start, end,
 * attributes, parent) and a `Tracer.make` around it counts them, as an exporter would see them. It stands
 * in for an OpenTelemetry tracer (@effect/opentelemetry is not a dependency); it exports nothing, so an
 * application's exporter costs more than this.
 */
export const countingTracer = (): { readonly tracer: Tracer.Tracer; readonly count: () => number } => {
  const builtIn = Effect.runSync(Effect.tracer)
  let spans = 0
  const tracer = Tracer.make({
    span: (...args) => {
      spans++
      return builtIn.span(...args)
    },
    context: builtIn.context
  })
  return { tracer, count: () => spans }
}

/**
 * Runs both contenders once to warm up, then `reps` repetitions, alternating which goes first.
 * `ops` is the number of operations one run performs; `concurrency` how many are in flight.
 */
export const compare = async (options: {
  readonly id?: string
  readonly group: string
  readonly case: string
  readonly unit: string
  readonly ops: number
  readonly concurrency?: number
  readonly reps: number
  readonly warmup?: boolean
  readonly aim?: string
  readonly note?: string
  readonly ratioOf?: "throughput" | "latency"
  readonly ours: () => Promise<ReadonlyArray<number> | void>
  readonly baseline: () => Promise<ReadonlyArray<number> | void>
  /** a second baseline, run in the same rotation */
  readonly extra?: { readonly label: string; readonly run: () => Promise<ReadonlyArray<number> | void> }
  /** run before each contender's run (e.g. truncating a table), not timed */
  readonly before?: (who: "ours" | "baseline" | "extra") => Promise<void>
}): Promise<CaseResult> => {
  const concurrency = options.concurrency ?? 1
  const loadStart = load1()
  type Who = "ours" | "baseline" | "extra"
  const contenders: Record<Who, () => Promise<ReadonlyArray<number> | void>> = {
    ours: options.ours,
    baseline: options.baseline,
    extra: options.extra?.run ?? (() => Promise.resolve())
  }
  const rates: Record<Who, Array<number>> = { ours: [], baseline: [], extra: [] }
  const latencies: Record<Who, Array<number>> = { ours: [], baseline: [], extra: [] }
  const peaks: Record<Who, number> = { ours: 0, baseline: 0, extra: 0 }
  const who: ReadonlyArray<Who> = options.extra !== undefined ? ["baseline", "ours", "extra"] : ["baseline", "ours"]
  const once = async (who: Who, record: boolean) => {
    if (options.before !== undefined) await options.before(who)
    gc()
    const start = performance.now()
    const { peakRss, value } = await withPeakRss(contenders[who])
    const seconds = (performance.now() - start) / 1000
    if (!record) return
    rates[who].push(options.ops / seconds)
    if (Array.isArray(value)) latencies[who].push(...(value as ReadonlyArray<number>))
    else latencies[who].push((seconds * 1000 * concurrency) / options.ops)
    peaks[who] = Math.max(peaks[who], peakRss)
  }
  if (options.warmup ?? true) for (const w of who) await once(w, false)
  for (let rep = 0; rep < options.reps; rep++) {
    // rotate the order, so a slow moment of the machine does not always hit the same contender
    for (let j = 0; j < who.length; j++) await once(who[(rep + j) % who.length]!, true)
  }
  const figures = (who: Who): Figures => ({ throughput: sample(rates[who]), latencyMs: sample(latencies[who]), peakRss: peaks[who] })
  const ratioOf = options.ratioOf ?? "throughput"
  const ratio = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
    sample(a.map((r, i) => (ratioOf === "throughput" ? r / b[i]! : b[i]! / r)))
  const result: CaseResult = {
    ...(options.id !== undefined ? { id: options.id } : {}),
    group: options.group,
    case: options.case,
    unit: options.unit,
    ours: figures("ours"),
    baseline: figures("baseline"),
    pairedRatio: ratio(rates.ours, rates.baseline),
    ratioOf,
    reps: options.reps,
    load: [loadStart, load1()],
    ...(options.aim !== undefined ? { aim: options.aim } : {}),
    ...(options.note !== undefined ? { note: options.note } : {}),
    ...(options.extra !== undefined
      ? { extra: { label: options.extra.label, figures: figures("extra"), pairedRatio: ratio(rates.ours, rates.extra), vsBaseline: ratio(rates.extra, rates.baseline) } }
      : {})
  }
  console.error(`  ${result.group} / ${result.case}: ours ${fmt(result.ours.throughput.median)} ${result.unit}/s, ` +
    `baseline ${fmt(result.baseline.throughput.median)} ${result.unit}/s, ${ratioOf} ratio ${result.pairedRatio.median.toFixed(2)}x, load ${loadText(result.load)}`)
  return result
}

/** Runs `count` tasks with at most `concurrency` in flight. */
export const pool = async (count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

/** Times each of `count` sequential calls; returns their latencies in ms. */
export const timeCalls = async (count: number, call: (i: number) => Promise<unknown>): Promise<Array<number>> => {
  const out: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await call(i)
    out.push(performance.now() - start)
  }
  return out
}

export const fmt = (n: number, digits?: number): string =>
  digits !== undefined
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : n >= 100 ? Math.round(n).toLocaleString("en-US") : n >= 1 ? n.toFixed(1) : n.toFixed(3)

export const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20).toLocaleString("en-US")} MiB`

const range = (s: Sample, digits?: number) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`

/** The report table: throughput, latency, peak RSS, ours and baseline, and the paired ratio. */
export const table = (rows: ReadonlyArray<CaseResult>): string =>
  [
    "| case | ours /s | baseline /s | ours latency ms | baseline latency ms | ours peak RSS | baseline peak RSS | ratio ours/baseline (paired) | aim | load avg (1 min, start–end) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ...rows.map((r) =>
      `| ${r.case} (${r.unit}) | ${range(r.ours.throughput)} | ${range(r.baseline.throughput)} | ${range(r.ours.latencyMs)} | ${range(r.baseline.latencyMs)} | ` +
      `${mib(r.ours.peakRss)} | ${mib(r.baseline.peakRss)} | **${r.pairedRatio.median.toFixed(2)}x** ${r.ratioOf} (${r.pairedRatio.min.toFixed(2)}–${r.pairedRatio.max.toFixed(2)}) | ${r.aim ?? ""} | ${r.load === undefined ? "?" : loadText(r.load)} |`
    )
  ].join("\n")

export const machine = (): string =>
  `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${Math.round(totalmem() / 2 ** 30)} GiB memory, Node ${process.version}, ` +
  `${process.platform}/${process.arch}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(" / ")} (1/5/15 min)`

/** True when `metaUrl` is the module node was started with (a script run directly, not imported). */
export const isMain = (metaUrl: string): boolean => {
  const arg = process.argv[1]
  if (arg === undefined) return false
  const file = new URL(metaUrl).pathname
  return file === arg || file.replace(/\.ts$/, "") === arg.replace(/\.ts$/, "")
}

/** Another process's peak resident set (VmHWM), in bytes; 0 once it is gone. */
export const peakRss = (pid: number): number => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}
