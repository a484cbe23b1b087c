import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { MetadataRepository, newTenantId, NewTenant, StorageProfile, type TraceId, TraceRepository, TraceWriter } from "../../src/index.js"
import { OtlpReceiver } from "../../src/otlp/index.js"
import { freePort } from "../support/ports.js"
import { readmeOtelExample } from "../support/readme.js"

// The README's "Sending OpenTelemetry traces" snippet, run as written (only the port differs) in its own process
// against the receiver, with a tenant's token in API_TOKEN: the span it prints the trace id of is stored.
const root = fileURLToPath(new URL("../..", import.meta.url))

it("the README's OpenTelemetry SDK snippet exports to the receiver and the span is found by its trace id", async () => {
  const port = await freePort()
  const runtime = ManagedRuntime.make(Layer.provideMerge(OtlpReceiver.layer({ port }), StorageProfile.layer({ profile: "memory" })))
  const tenantId = newTenantId()
  const token = "tok-readme-otel"
  const dir = mkdtempSync(path.join(root, ".readme-otel-"))
  try {
    await runtime.runPromise(Effect.flatMap(MetadataRepository.MetadataRepository, (m) => m.createTenant(NewTenant.make({ id: tenantId, name: "readme", apiToken: token, plan: "free" }))))
    const snippet = readmeOtelExample()
    expect(snippet).toContain("http://127.0.0.1:4318/v1/traces")
    const file = path.join(dir, "example.mts")
    writeFileSync(file, snippet.replace("127.0.0.1:4318", `127.0.0.1:${port}`))
    const traceId = await new Promise<string>((resolve, reject) =>
      execFile(path.join(root, "node_modules/.bin/tsx"), [file], { cwd: root, env: { ...process.env, API_TOKEN: token }, timeout: 120_000 }, (error, stdout, stderr) =>
        error === null ? resolve(stdout.trim()) : reject(new Error(`${error.message}\n${stderr}`))))
    expect(traceId).toMatch(/^[0-9a-f]{32}$/)
    const stored = await runtime.runPromise(Effect.gen(function*() {
      yield* Effect.flatMap(TraceWriter.TraceWriter, (w) => w.flush)
      return yield* Effect.flatMap(TraceRepository.TraceRepository, (r) => r.getTrace(tenantId, traceId as TraceId))
    }))
    const span = Option.getOrThrow(stored).spans[0]!
    expect([span.provider, span.modelName, span.operationName, span.promptTokens, span.completionTokens, span.tags["service.name"]]).toEqual(["OpenAI", "gpt-4o", "chat", 3, 5, "my-agent"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await runtime.dispose()
  }
}, 180_000)
