import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import * as MetadataRepository from "../MetadataRepository.js"
import * as Storage from "../Storage.js"
import * as TraceRepository from "../TraceRepository.js"
import { storage } from "./Storage.js"
import { SecurityFinding, TraceEvent, TraceSpan } from "../domain/Trace.js"
import { Tenant } from "../domain/Tenant.js"
import { newTraceId } from "../domain/Ids.js"
import { TraceQuery } from "../domain/Query.js"

/** A few real prompts when `../shared/data/prompts/` is there, generated ones otherwise. */
const samplePrompts = (): ReadonlyArray<string> => {
  try {
    const url = new URL("../../../shared/data/prompts/injection_samples.json", import.meta.url)
    return (JSON.parse(readFileSync(url, "utf8")) as Array<{ text: string }>).slice(0, 12).map((p) => p.text)
  } catch {
    return Array.from({ length: 12 }, (_, i) => `Sample prompt #${i}: summarise the quarterly report.`)
  }
}

/** The demo: two tenants, a handful of traces, read back as tables. */
const demo = Effect.gen(function*() {
  const traces = yield* TraceRepository.TraceRepository
  const metadata = yield* MetadataRepository.MetadataRepository
  const tenants = [Tenant.make({ name: "acme", apiToken: "acme-token", plan: "pro" }), Tenant.make({ name: "globex", apiToken: "globex-token", plan: "free" })]
  yield* Effect.forEach(tenants, metadata.createTenant)
  const prompts = samplePrompts()
  for (const [t, tenant] of tenants.entries()) {
    for (let i = 0; i < 6; i++) {
      const traceId = newTraceId()
      const prompt = prompts[(t * 6 + i) % prompts.length] ?? ""
      const score = (t * 6 + i) * 9 % 101
      const span = TraceSpan.make({
        traceId,
        tenantId: tenant.id,
        operationName: "chat_completion",
        provider: i % 2 === 0 ? "OpenAI" : "Anthropic",
        modelName: i % 2 === 0 ? "gpt-4o" : "claude-sonnet",
        prompt,
        durationMs: 200 + score * 10,
        securityScore: score,
        securityFindings: score > 60 ? [SecurityFinding.make({ severity: "High", findingType: "prompt_injection", description: "instruction override", confidenceScore: score / 100 })] : [],
        tags: { env: "demo" }
      })
      yield* traces.storeTrace(TraceEvent.make({ traceId, tenantId: tenant.id, spans: [span] }))
    }
  }
  yield* Console.log("Per-tenant stats")
  yield* Console.table(yield* Effect.forEach(tenants, (t) => Effect.map(traces.getStats(t.id), (s) => ({ tenant: t.name, traces: s.totalTraces, spans: s.totalSpans, bytes: s.storageSizeBytes }))))
  yield* Console.log("Most suspicious spans")
  const suspicious = yield* Effect.forEach(tenants, (t) => traces.querySpans(TraceQuery.make({ tenantId: t.id, minSecurityScore: 60 })))
  yield* Console.table(
    suspicious.flat().sort((a, b) => (b.securityScore ?? 0) - (a.securityScore ?? 0)).slice(0, 5).map((s) => ({
      tenant: tenants.find((t) => t.id === s.tenantId)?.name,
      score: s.securityScore,
      model: s.modelName,
      prompt: s.prompt.slice(0, 60)
    }))
  )
  const health = yield* Storage.healthCheck
  yield* Console.log(`Health: ${health.map((h) => `${h.service} ${h.healthy ? "ok" : "FAILED"}`).join(", ")}`)
})

export const command = Command.make("demo", {}, () => demo).pipe(
  Command.withDescription("ingest a realistic sample for two tenants and print what the storage holds"),
  Command.provide(storage)
)
