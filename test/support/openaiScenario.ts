import { context, metrics, trace } from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { OpenAIInstrumentation as OtelOpenAIInstrumentation } from "@opentelemetry/instrumentation-openai"
import { OpenAIInstrumentation } from "@traceloop/instrumentation-openai"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { createServer, type Server } from "node:http"
import { randomUUID } from "node:crypto"
import OpenAI from "openai"
import { MetadataRepository, newTenantId, NewTenant, type TraceId, TraceRepository, type TraceSpan, TraceWriter } from "../../src/index.js"
import * as OtlpReceiver from "../../src/otlp/OtlpReceiver.js"
import { freePort } from "./ports.js"

/** A stub of OpenAI's chat completions on loopback: model "boom" answers 500, every other model a fixed reply. */
const stubOpenAi = async (): Promise<{ readonly port: number; readonly server: Server }> => {
  const port = await freePort()
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (d: Buffer) => (body += d.toString()))
    req.on("end", () => {
      const request = JSON.parse(body) as { model: string }
      res.setHeader("content-type", "application/json")
      if (request.model === "boom") {
        res.statusCode = 500
        res.end(JSON.stringify({ error: { message: "the stub model exploded", type: "server_error" } }))
        return
      }
      res.end(JSON.stringify({
        id: "chatcmpl-stub",
        object: "chat.completion",
        created: 1_700_000_000,
        model: `${request.model}-2024-07-18`,
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "2 + 2 = 4" } }],
        usage: { prompt_tokens: 13, completion_tokens: 7, total_tokens: 20 }
      }))
    })
  })
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return { port, server }
}

export interface Recorded {
  readonly parent: { readonly traceId: string; readonly spanId: string }
  readonly spans: ReadonlyArray<TraceSpan>
}

/**
 * An application instrumented by Traceloop's OpenAI instrumentation (with the OTel JS SDK and its protobuf exporter)
 * calls the stub through the `openai` client under a parent span: one call that succeeds and one that fails. The spans
 * go to `serve`'s receiver on `storage`; what the store then holds for the trace is returned.
 */
export const runOpenAiScenario = async <E>(storage: Layer.Layer<TraceWriter.TraceWriter | TraceRepository.TraceRepository | MetadataRepository.MetadataRepository, E>): Promise<Recorded> => {
  const stub = await stubOpenAi()
  const port = await freePort()
  const runtime = ManagedRuntime.make(Layer.provideMerge(OtlpReceiver.layer({ port }), storage))
  const token = `openai-${randomUUID()}`
  const tenantId = newTenantId()
  try {
    await runtime.runPromise(Effect.flatMap(MetadataRepository.MetadataRepository, (m) => m.createTenant(NewTenant.make({ id: tenantId, name: "app", apiToken: token, plan: "free" }))))
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "openai-app" }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, headers: { Authorization: `Bearer ${token}` } }))]
    })
    // Two instrumentations, one at a time (each patches the client's prototype in place): Traceloop's records the
    // messages on the span; OpenTelemetry's own records a failed call (Traceloop leaves a failed call's span open).
    const traceloop = new OpenAIInstrumentation({ traceContent: true, enrichTokens: false })
    traceloop.setTracerProvider(provider)
    const official = new OtelOpenAIInstrumentation()
    official.setTracerProvider(provider)
    official.setMeterProvider(metrics.getMeterProvider())
    const client = new OpenAI({ apiKey: "sk-test", baseURL: `http://127.0.0.1:${stub.port}/v1`, maxRetries: 0 })
    const tracer = provider.getTracer("app")
    const parent = tracer.startSpan("answer question")
    await context.with(trace.setSpan(context.active(), parent), async () => {
      traceloop.manuallyInstrument(OpenAI)
      await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "What is 2 + 2?" }] })
      ;(traceloop as unknown as { unpatch: (module: unknown) => void }).unpatch({ OpenAI })
      const definition = official.getModuleDefinitions()[0]!
      definition.patch!({ OpenAI }, "6")
      await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "What is 2 + 2?" }] })
      await client.chat.completions.create({ model: "boom", messages: [{ role: "user", content: "Explode" }] }).catch(() => undefined)
      definition.unpatch!({ OpenAI }, "6")
    })
    parent.end()
    await provider.forceFlush()
    await provider.shutdown()
    traceloop.disable()
    official.disable()
    const { spanId, traceId } = parent.spanContext()
    const stored = await runtime.runPromise(
      Effect.gen(function*() {
        yield* Effect.flatMap(TraceWriter.TraceWriter, (w) => w.flush)
        const repo = yield* TraceRepository.TraceRepository
        return yield* repo.getTrace(tenantId, traceId as TraceId)
      })
    )
    return { parent: { traceId, spanId }, spans: Option.getOrThrow(stored).spans }
  } finally {
    await runtime.dispose()
    await new Promise((resolve) => stub.server.close(resolve))
  }
}

/** What every profile must hold after {@link runOpenAiScenario}, as the instrumentation recorded it. */
export const expectRecorded = (recorded: Recorded, expect: (v: unknown) => { toBe: (x: unknown) => void; toEqual: (x: unknown) => void; toContain: (x: unknown) => void; toBeDefined: () => void }) => {
  const { parent, spans } = recorded
  expect(spans.length).toBe(4)
  const root = spans.find((s) => s.spanId === parent.spanId)!
  expect(root.parentSpanId).toBe(undefined)
  const children = spans.filter((s) => s.parentSpanId === parent.spanId)
  expect(children.length).toBe(3)
  for (const child of children) expect([child.traceId, child.provider, child.operationName, child.tags["service.name"]]).toEqual([parent.traceId, "OpenAI", "chat", "openai-app"])
  // Traceloop's span: messages (GenAI v1.37 attributes), model, tokens.
  const withMessages = children.find((s) => s.tags["otel.scope.name"] === "@traceloop/instrumentation-openai")!
  expect([withMessages.modelName, withMessages.promptTokens, withMessages.completionTokens]).toEqual(["gpt-4o-mini-2024-07-18", 13, 7])
  expect(withMessages.prompt).toContain("What is 2 + 2?")
  expect(withMessages.response).toContain("2 + 2 = 4")
  // OpenTelemetry's own instrumentation: model and tokens of the call that worked, the error of the one that did not.
  const official = children.filter((s) => s.tags["otel.scope.name"] === "@opentelemetry/instrumentation-openai")
  const ok = official.find((s) => s.errorMessage === undefined)!
  const failed = official.find((s) => s.errorMessage !== undefined)!
  expect([ok.modelName, ok.promptTokens, ok.completionTokens]).toEqual(["gpt-4o-mini-2024-07-18", 13, 7])
  expect([failed.modelName, failed.tags["otel.status_code"]]).toEqual(["boom", "ERROR"])
  expect(failed.errorMessage).toContain("the stub model exploded")
}
