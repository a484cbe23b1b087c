/**
 * OTLP ingest through `llmtrace-storage serve` (OTLP/JSON and protobuf) vs the CLI's JSONL ingest of the same spans,
 * each in its own process on a fresh lite data directory: rows/s and the process's peak RSS (VmHWM).
 *   npm run bench:otlp             200,000 spans in requests of 500
 *   npm run bench:otlp -- --quick  20,000 spans (proves every step runs; figures indicative only)
 * The spans come from the OpenTelemetry SDK (GenAI attributes, ~1 KB prompts), serialized by its own OTLP serializers;
 * the JSONL file holds the very TraceSpans the receiver maps them to. Timing of `serve` starts when it listens and ends
 * when it exits after SIGTERM (its flush stores everything); `ingest` reports its own time after start-up.
 */
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { newTenantId } from "../src/domain/Ids.js"
import * as OtlpJson from "../src/otlp/OtlpJson.js"
import { toTraceSpans } from "../src/otlp/OtlpSpans.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsx = path.join(root, "node_modules/.bin/tsx")
// The measured processes run node itself (tsx as a loader): the tsx launcher would be a parent whose RSS is not theirs.
const loader = import.meta.resolve("tsx")
const node = (args: ReadonlyArray<string>) => [process.execPath, ["--import", loader, main, ...args]] as const
const main = path.join(root, "src/cli/main.ts")
const quick = process.argv.includes("--quick")
const total = quick ? 20_000 : 200_000
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

const peakRss = (pid: number): number => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
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

interface Result { readonly path: string; readonly rowsPerSecond: number; readonly peakRssMiB: number }

const viaServe = async (name: string, bodies: ReadonlyArray<Uint8Array>, contentType: string): Promise<Result> => {
  const dir = mkdtempSync(path.join(tmpdir(), "llmtrace-bench-otlp-"))
  try {
    const token = `tok-bench-${name}`
    cli(dir, ["tenants", "create", "--name", "bench", "--token", token])
    const port = await freePort()
    const child = spawn(...node(["serve", "--port", String(port)]), { cwd: dir, env: { ...process.env, LLMTRACE_DATA_DIR: path.join(dir, "data") }, stdio: ["ignore", "ignore", "pipe"] })
    await new Promise<void>((resolve) => child.stderr.on("data", (d: Buffer) => d.toString().includes("listening") && resolve()))
    let peak = 0
    const poll = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!))), 100)
    const started = performance.now()
    // Four exporters at once, as a few application instances would send; a 429 is retried after its Retry-After.
    let next = 0
    const exporter = async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!
        for (;;) {
          const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", body, headers: { "content-type": contentType, authorization: `Bearer ${token}` } })
          await res.arrayBuffer()
          if (res.status === 200) break
          if (res.status !== 429 && res.status !== 503) throw new Error(`serve answered ${res.status}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }
    await Promise.all([exporter(), exporter(), exporter(), exporter()])
    child.kill("SIGTERM")
    await new Promise((resolve) => child.on("close", resolve))
    clearInterval(poll)
    const seconds = (performance.now() - started) / 1000
    return { path: `serve, OTLP ${name}`, rowsPerSecond: total / seconds, peakRssMiB: peak / 2 ** 20 }
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
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    let peak = 0
    const poll = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!))), 100)
    await new Promise((resolve) => child.on("close", resolve))
    clearInterval(poll)
    const seconds = Number(/ in (\d+\.\d) s;/.exec(out)?.[1] ?? Number.NaN)
    return { path: "ingest, JSONL (same spans)", rowsPerSecond: total / seconds, peakRssMiB: peak / 2 ** 20 }
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

const results = [await viaIngest(jsonl), await viaServe("JSON", json, "application/json"), await viaServe("protobuf", protobuf, "application/x-protobuf")]
const base = results[0]!.rowsPerSecond
console.log(`OTLP ingest, ${total.toLocaleString("en-US")} spans (${quick ? "quick" : "full"}), load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
console.log("path                          rows/s   vs JSONL  peak RSS MiB")
for (const r of results) console.log(`${r.path.padEnd(28)} ${Math.round(r.rowsPerSecond).toString().padStart(8)}   ${(r.rowsPerSecond / base).toFixed(2)}x     ${r.peakRssMiB.toFixed(0).padStart(6)}`)
