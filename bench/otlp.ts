/**
 * OTLP ingest through `llmtrace-storage serve` (OTLP/JSON and protobuf) vs the CLI's JSONL ingest of the same spans,
 * each in its own process on a fresh lite data directory: rows/s, the process's peak RSS (VmHWM), its CPU time per span
 * (all threads, start-up included: steadier than rows/s under load), the exporters' own CPU per span, and how many
 * requests were answered 429/503 and sent again.
 *   npm run bench:otlp                        200,000 spans in requests of 500, 3 rounds
 *   npm run bench:otlp -- --quick             20,000 spans, 2 rounds (proves every step runs; figures indicative only)
 *   npm run bench:otlp -- --rounds 5          more rounds (the three paths alternate within each round)
 * The spans come from the OpenTelemetry SDK (GenAI attributes, ~1 KB prompts), serialized by its own OTLP serializers;
 * the JSONL file holds the very TraceSpans the receiver maps them to. Both are timed from when the storage is open to
 * when every span is stored: `ingest` reports its own time (start-up excluded, its final flush included); `serve` is
 * timed from "listening" to its "stopped: every accepted span is stored" after SIGTERM (the flush included, closing
 * the engine and exiting not, as for `ingest`). Each round runs the three paths one after the other; the ratios to
 * JSONL are taken within a round, and the medians over the rounds are printed last, with the load average beside
 * every round (the paths share the machine with whatever else runs: compare ratios, not rows/s, across machines).
 *   OTLP_BENCH_CLI=dist/cli/main.js           run another build of the CLI (a .js runs on node alone)
 *   OTLP_BENCH_CPU_PROF=DIR                   a V8 CPU profile of each measured process, in DIR
 */
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { execFileSync, spawn } from "node:child_process"
import { Agent, request } from "node:http"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { newTenantId } from "../src/domain/Ids.js"
import * as OtlpJson from "../src/internal/otlp/OtlpJson.js"
import { toTraceSpans } from "../src/internal/otlp/OtlpSpans.js"
import { peakRss } from "./Harness.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsx = path.join(root, "node_modules/.bin/tsx")
// The measured processes run node itself (tsx as a loader): the tsx launcher would be a parent whose RSS is not theirs.
const loader = import.meta.resolve("tsx")
// NODE_OPTIONS may not carry --cpu-prof: it is given to the measured processes themselves.
const profile = process.env.OTLP_BENCH_CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(process.env.OTLP_BENCH_CPU_PROF)}`]
const main = path.resolve(root, process.env.OTLP_BENCH_CLI ?? "src/cli/main.ts")
const node = (args: ReadonlyArray<string>) => [process.execPath, [...profile, ...(main.endsWith(".ts") ? ["--import", loader] : []), main, ...args]] as const
const quick = process.argv.includes("--quick")
const total = quick ? 20_000 : 200_000
const roundsArg = process.argv.indexOf("--rounds")
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 2 : 3
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error("--rounds takes a whole number >= 1")
const perRequest = 500

const makeSpans = (): Array<ReadableSpan> => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "bench" }), spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer("bench")
  const prompt = "Summarise the quarterly report for the board. ".repeat(20)
  for (let i = 0; i < total; i++) {
    tracer.startSpan("chat gpt-4o", {
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [{ type: "text", content: `${prompt}#${i}` }] }]),
        "gen_ai.output.messages": JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: "ok" }] }]),
        "gen_ai.usage.input_tokens": 200,
        "gen_ai.usage.output_tokens": 2
      }
    }).end()
  }
  return exporter.getFinishedSpans().slice()
}


const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100

/** CPU seconds (user + system, all threads) the process has used so far; undefined once it is gone. */
const cpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return undefined
  }
}

/** Samples a process's peak RSS and CPU time every 100 ms (and on demand) until stopped. */
const sampler = (pid: number) => {
  let peak = 0
  let cpu = 0
  const sample = () => {
    peak = Math.max(peak, peakRss(pid))
    cpu = cpuSeconds(pid) ?? cpu
  }
  const timer = setInterval(sample, 100)
  return {
    /** Samples now: the CPU time at this moment. */
    cpuNow: () => {
      sample()
      return cpu
    },
    stop: () => {
      clearInterval(timer)
      return { peakRssMiB: peak / 2 ** 20 }
    }
  }
}

const freePort = async (): Promise<number> => {
  const net = await import("node:net")
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
}

const cli = (dir: string, args: ReadonlyArray<string>) => execFileSync(tsx, [main, ...args], { cwd: dir, env: { ...process.env, LLMTRACE_DATA_DIR: path.join(dir, "data") }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

interface Result {
  readonly path: string
  readonly rowsPerSecond: number
  readonly peakRssMiB: number
  /** CPU time of the process from its start (start-up included) to every span stored, per span: robust to load. */
  readonly cpuMicrosPerSpan: number
  /** Requests answered 429 or 503 and sent again. */
  readonly retried: number
  /** CPU time of this process sending the requests (the exporters' side, on the same machine), per span. */
  readonly exporterCpuMicrosPerSpan: number
}

const viaServe = async (name: string, bodies: ReadonlyArray<Uint8Array>, contentType: string): Promise<Result> => {
  const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-bench-otlp-"))
  try {
    const token = `tok-bench-${name}`
    cli(dir, ["tenants", "create", "--name", "bench", "--token", token])
    const port = await freePort()
    const child = spawn(...node(["serve", "--port", String(port)]), { cwd: dir, env: { ...process.env, LLMTRACE_DATA_DIR: path.join(dir, "data") }, stdio: ["ignore", "ignore", "pipe"] })
    const samples = sampler(child.pid!)
    let stderr = ""
    let stopped: { readonly at: number; readonly cpu: number } | undefined
    const listening = new Promise<void>((resolve) =>
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString()
        if (stderr.includes("listening")) resolve()
        if (stopped === undefined && stderr.includes("stopped: every accepted span is stored")) stopped = { at: performance.now(), cpu: samples.cpuNow() }
      })
    )
    await listening
    const started = performance.now()
    const exporterCpu = process.cpuUsage()
    // Four exporters at once, as a few application instances would send; a 429 or 503 is retried after 100 ms. They
    // post with node:http on keep-alive connections, as the SDK's OTLP/HTTP exporters do: `fetch` (undici) took
    // 2-5x the CPU per 1 MB request, on the cores `serve` needs.
    const agent = new Agent({ keepAlive: true, maxSockets: 4 })
    const post = (body: Uint8Array) =>
      new Promise<number>((resolve, reject) => {
        const req = request({
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/traces",
          agent,
          headers: { "content-type": contentType, "content-length": body.byteLength, authorization: `Bearer ${token}` }
        }, (res) => {
          res.resume()
          res.on("end", () => resolve(res.statusCode ?? 0))
        })
        req.on("error", reject)
        req.end(body)
      })
    let next = 0
    let retried = 0
    const exporter = async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!
        for (;;) {
          const status = await post(body)
          if (status === 200) break
          if (status !== 429 && status !== 503) throw new Error(`serve answered ${status}`)
          retried++
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }
    await Promise.all([exporter(), exporter(), exporter(), exporter()])
    const sending = process.cpuUsage(exporterCpu)
    agent.destroy()
    child.kill("SIGTERM")
    await new Promise((resolve) => child.on("close", resolve))
    const { peakRssMiB } = samples.stop()
    if (stopped === undefined) throw new Error(`serve did not store every span: ${stderr}`)
    const seconds = (stopped.at - started) / 1000
    return { path: `serve, OTLP ${name}`, rowsPerSecond: total / seconds, peakRssMiB, cpuMicrosPerSpan: (stopped.cpu * 1e6) / total, retried, exporterCpuMicrosPerSpan: (sending.user + sending.system) / total }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const viaIngest = async (jsonl: string): Promise<Result> => {
  const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-bench-otlp-"))
  try {
    const file = path.join(dir, "spans.jsonl")
    writeFileSync(file, jsonl)
    const child = spawn(...node(["ingest", file]), { cwd: dir, env: { ...process.env, LLMTRACE_DATA_DIR: path.join(dir, "data") }, stdio: ["ignore", "pipe", "ignore"] })
    const samples = sampler(child.pid!)
    let out = ""
    let cpu: number | undefined
    // The summary is printed once every span is stored; the process then closes the engine and exits.
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      if (cpu === undefined && out.includes("ingested ")) cpu = samples.cpuNow()
    })
    await new Promise((resolve) => child.on("close", resolve))
    const { peakRssMiB } = samples.stop()
    const seconds = Number(/ in (\d+\.\d) s;/.exec(out)?.[1] ?? Number.NaN)
    return { path: "ingest, JSONL (same spans)", rowsPerSecond: total / seconds, peakRssMiB, cpuMicrosPerSpan: ((cpu ?? Number.NaN) * 1e6) / total, retried: 0, exporterCpuMicrosPerSpan: 0 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const spans = makeSpans()
const batches = Array.from({ length: Math.ceil(spans.length / perRequest) }, (_, i) => spans.slice(i * perRequest, (i + 1) * perRequest))
const json = batches.map((b) => JsonTraceSerializer.serializeRequest(b)!)
const protobuf = batches.map((b) => ProtobufTraceSerializer.serializeRequest(b)!)
// The JSONL file: the TraceSpans the receiver maps the same requests to (any tenant: ingest takes it from the line).
const tenantId = newTenantId()
const jsonl = json.map((body) => toTraceSpans(tenantId, OtlpJson.decodeUnsafe(new TextDecoder().decode(body))).spans.map((s) => JSON.stringify(s)).join("\n")).join("\n") + "\n"

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ")
console.log(`OTLP ingest, ${total.toLocaleString("en-US")} spans (${quick ? "quick" : "full"}), ${rounds} rounds`)
console.log("round  path                          rows/s   vs JSONL  peak RSS MiB  CPU µs/span  exporters' CPU µs/span  retried   load average after")
const row = (label: string, r: { readonly path: string; readonly rows: number; readonly ratio: number; readonly rss: number; readonly cpu: number; readonly exporters: number; readonly retried: number }, tail: string) =>
  console.log(`${label.padStart(5)}  ${r.path.padEnd(28)} ${Math.round(r.rows).toString().padStart(8)}   ${r.ratio.toFixed(2)}x     ${r.rss.toFixed(0).padStart(6)}    ${r.cpu.toFixed(0).padStart(8)}  ${r.exporters.toFixed(0).padStart(22)}  ${String(r.retried).padStart(7)}   ${tail}`)
const all: Array<ReadonlyArray<Result>> = []
for (let round = 1; round <= rounds; round++) {
  const results = [await viaIngest(jsonl), await viaServe("JSON", json, "application/json"), await viaServe("protobuf", protobuf, "application/x-protobuf")]
  const base = results[0]!.rowsPerSecond
  for (const r of results) row(String(round), { path: r.path, rows: r.rowsPerSecond, ratio: r.rowsPerSecond / base, rss: r.peakRssMiB, cpu: r.cpuMicrosPerSpan, exporters: r.exporterCpuMicrosPerSpan, retried: r.retried }, load())
  all.push(results)
}
console.log(`median over ${rounds} rounds (ratios taken within each round; peak RSS: the largest):`)
for (let i = 0; i < all[0]!.length; i++) {
  row("", {
    path: all[0]![i]!.path,
    rows: median(all.map((rs) => rs[i]!.rowsPerSecond)),
    ratio: median(all.map((rs) => rs[i]!.rowsPerSecond / rs[0]!.rowsPerSecond)),
    rss: Math.max(...all.map((rs) => rs[i]!.peakRssMiB)),
    cpu: median(all.map((rs) => rs[i]!.cpuMicrosPerSpan)),
    exporters: median(all.map((rs) => rs[i]!.exporterCpuMicrosPerSpan)),
    retried: median(all.map((rs) => rs[i]!.retried))
  }, "")
}
