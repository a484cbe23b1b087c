import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, expect, it } from "vitest"
import * as Cli from "../support/cli.js"
import { freePort } from "../support/ports.js"

// `llmtrace-storage serve` as an operator runs it, on the lite profile: an exporter's spans, held in the writer (a
// one-hour flush interval), are stored by the flush that SIGTERM runs, and found again by their OpenTelemetry ids.
const scratch = mkdtempSync(path.join(tmpdir(), "llmtrace-serve-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

it("serve receives OTLP/JSON with the tenant's token; SIGTERM flushes and exits 143; query --trace-id finds the spans", async () => {
  const env = { LLMTRACE_DATA_DIR: path.join(scratch, "lite"), LLMTRACE_TRACE_WRITER_FLUSH_INTERVAL: "1 hour" }
  const created = await Cli.cli(scratch, ["tenants", "create", "--name", "app", "--token", "tok-serve-test"], env)
  expect(created.code).toBe(0)
  const tenantId = uuid.exec(created.stdout)![0]
  const port = await freePort()
  // No standard input: the embedded engine would read it as insert data.
  const running = Cli.start(scratch, ["serve", "--port", String(port)], env, "ignore")
  await running.stderrMatches(/listening on http:\/\/127\.0\.0\.1:/)
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
  const traceId = randomBytes(16).toString("hex")
  const ids = [randomBytes(8).toString("hex"), randomBytes(8).toString("hex")]
  const body = JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
      scopeSpans: [{
        spans: ids.map((spanId, i) => ({
          traceId,
          spanId,
          ...(i === 1 ? { parentSpanId: ids[0] } : {}),
          name: "chat",
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000250000000",
          attributes: [{ key: "gen_ai.request.model", value: { stringValue: "gpt-4o" } }, { key: "big", value: { intValue: "9223372036854775807" } }]
        }))
      }]
    }]
  })
  const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/json", authorization: "Bearer tok-serve-test" } })
  expect(res.status).toBe(200)
  running.child.kill("SIGTERM")
  const result = await running.done
  expect(result.stderr).toContain("every accepted span is stored")
  expect(result.code).toBe(143)
  const query = await Cli.cli(scratch, ["query", "--tenant", tenantId, "--trace-id", traceId, "--json"], env)
  expect(query.code).toBe(0)
  const spans = query.stdout.trim().split("\n").map((l) => JSON.parse(l) as { spanId: string; parentSpanId?: string; modelName: string; tags: Record<string, string> })
  expect(spans.map((s) => s.spanId).sort()).toEqual([...ids].sort())
  expect(spans.find((s) => s.spanId === ids[1])!.parentSpanId).toBe(ids[0])
  expect(spans.every((s) => s.modelName === "gpt-4o" && s.tags.big === "9223372036854775807" && s.tags["service.name"] === "svc")).toBe(true)
}, 240_000)

it("ingest --format otlp --tenant stores the Collector file exporter's lines (one ExportTraceServiceRequest each); bad lines are reported", async () => {
  const env = { LLMTRACE_STORAGE_PROFILE: "memory" }
  const tenantId = "66666666-6666-4666-8666-666666666666"
  const traceId = randomBytes(16).toString("hex")
  const line = (spanIds: ReadonlyArray<string>) => JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: spanIds.map((spanId) => ({ traceId, spanId, name: "chat", startTimeUnixNano: 1700000000000000000 })) }] }]
  })
  const file = path.join(scratch, "collector.json")
  const { writeFileSync } = await import("node:fs")
  writeFileSync(file, [line([randomBytes(8).toString("hex"), randomBytes(8).toString("hex")]), "not json", line(["0000000000000000"]), line([randomBytes(8).toString("hex")])].join("\n") + "\n")
  const result = await Cli.cli(scratch, ["ingest", "--format", "otlp", "--tenant", tenantId, "--allow-bad-lines", file], env)
  expect(result.stdout).toContain("ingested 3 spans from 4 lines")
  expect(result.stdout).toContain("2 bad lines skipped")
  expect(result.stderr).toContain("line 2: json")
  expect(result.stderr).toContain("line 3: span \"0000000000000000\": spanId")
  expect(result.code).toBe(0)
  const missing = await Cli.cli(scratch, ["ingest", "--format", "otlp", file], env)
  expect([missing.code, missing.stderr.trim()]).toEqual([1, "error: --format otlp needs --tenant <id>: OTLP spans carry no tenant"])
}, 240_000)
