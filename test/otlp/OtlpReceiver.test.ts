import { context, trace } from "@opentelemetry/api"
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { randomBytes, randomUUID } from "node:crypto"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MetadataRepository, newTenantId, NewTenant, type SpanId, StorageProfile, type TenantId, type TraceId, TraceRepository, TraceWriter } from "../../src/index.js"
import * as OtlpReceiver from "../../src/otlp/OtlpReceiver.js"
import { hostileCorpusThroughReceiver } from "../support/otlpHostile.js"
import { freePort } from "../support/ports.js"

/**
 * The receiver in process on the memory profile, fed by the OpenTelemetry JS SDK's own exporters (JSON and protobuf),
 * by hand-made bodies for the refusals, and by the hostile corpus (test/support/otlpHostile.ts; on lite in
 * OtlpReceiverLite.test.ts).
 */
const token = `otlp-${randomUUID()}`
const tenantId = newTenantId()
let port = 0
let runtime: ManagedRuntime.ManagedRuntime<TraceRepository.TraceRepository | MetadataRepository.MetadataRepository | TraceWriter.TraceWriter, unknown>

beforeAll(async () => {
  port = await freePort()
  const storage = StorageProfile.layer({ profile: "memory" })
  runtime = ManagedRuntime.make(Layer.provideMerge(OtlpReceiver.layer({ port, maxBodyBytes: 4 * 1024 * 1024 }), storage))
  await runtime.runPromise(Effect.flatMap(MetadataRepository.MetadataRepository, (m) => m.createTenant(NewTenant.make({ id: tenantId, name: "otlp", apiToken: token, plan: "free" }))))
})
afterAll(() => runtime.dispose())

const url = () => `http://127.0.0.1:${port}/v1/traces`
/** Reads the store once the writer has stored what the receiver accepted. */
const repo = <A>(f: (r: TraceRepository.TraceRepositoryShape) => Effect.Effect<A, unknown>) =>
  runtime.runPromise(Effect.zipRight(Effect.flatMap(TraceWriter.TraceWriter, (w) => w.flush), Effect.flatMap(TraceRepository.TraceRepository, f)))
const spansOf = (traceId: string) => repo((r) => r.getTrace(tenantId, traceId as TraceId)).then((t) => Option.getOrThrow(t).spans)

/** A parent and a GenAI child through the SDK and `exporter`; returns their ids as the application knows them. */
const exportWith = async (exporter: SpanExporter) => {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "sdk-test" }), spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer("sdk-test-scope")
  const parent = tracer.startSpan("agent run")
  const child = tracer.startSpan("chat gpt-4o", {
    attributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.input.messages": "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi 🚀\"}]}]",
      "gen_ai.usage.input_tokens": 11,
      "gen_ai.usage.output_tokens": 5
    }
  }, trace.setSpan(context.active(), parent))
  child.end()
  parent.end()
  await provider.forceFlush()
  await provider.shutdown()
  return { traceId: parent.spanContext().traceId, parentId: parent.spanContext().spanId, childId: child.spanContext().spanId }
}

const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(url(), { method: "POST", body, headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers } })

const otlpBody = (spans: ReadonlyArray<Record<string, unknown>>) => JSON.stringify({
  resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: "t" }, spans }] }]
})

const rawSpan = (overrides: Record<string, unknown> = {}) => ({
  traceId: randomBytes(16).toString("hex"),
  spanId: randomBytes(8).toString("hex"),
  name: "s",
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000100000000",
  ...overrides
})

describe("OTLP receiver: the OpenTelemetry SDK's exporters", () => {
  for (const [name, make] of [["JSON (exporter-trace-otlp-http)", JsonExporter], ["protobuf (exporter-trace-otlp-proto)", ProtoExporter]] as const) {
    it(`stores what ${name} sends: ids as the application knows them, parent/child, model, tokens, prompt`, async () => {
      const ids = await exportWith(new make({ url: url(), headers: { Authorization: `Bearer ${token}` } }))
      const spans = await spansOf(ids.traceId)
      expect(spans.map((s) => s.spanId).sort()).toEqual([ids.parentId, ids.childId].sort())
      const child = spans.find((s) => s.spanId === ids.childId)!
      expect(child).toMatchObject({
        traceId: ids.traceId,
        parentSpanId: ids.parentId,
        tenantId,
        provider: "OpenAI",
        modelName: "gpt-4o",
        operationName: "chat",
        promptTokens: 11,
        completionTokens: 5,
        prompt: "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi 🚀\"}]}]"
      })
      expect(child.tags["service.name"]).toBe("sdk-test")
      expect(Option.getOrThrow(await repo((r) => r.getSpan(tenantId, ids.childId as SpanId))).spanId).toBe(ids.childId)
      expect(spans.find((s) => s.spanId === ids.parentId)!.parentSpanId).toBeUndefined()
    })
  }
})

describe("OTLP receiver: answers", () => {
  it("accepts gzip, and answers /health", async () => {
    const span = rawSpan()
    const res = await post(gzipSync(otlpBody([span])), { "content-encoding": "gzip" })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    expect((await spansOf(span.traceId)).length).toBe(1)
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
  })

  it("refuses malformed bodies with 400 and a message, and keeps serving", async () => {
    for (const [body, type] of [["{", "application/json"], ["[1]", "application/json"], [otlpBody([{ traceId: "xyz" }]), "application/json"], [new Uint8Array([0x0a, 0xff, 0xff, 0xff]), "application/x-protobuf"], [new Uint8Array([0x0b]), "application/x-protobuf"]] as const) {
      const res = await post(body, { "content-type": type })
      expect(res.status).toBe(400)
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0)
    }
    const bad = await post(gzipSync("{").subarray(0, 5), { "content-encoding": "gzip" })
    expect(bad.status).toBe(400)
    expect((await post(otlpBody([rawSpan()]))).status).toBe(200)
  })

  it("takes the tenant only from the bearer token: none or unknown is 401; a span's attributes cannot name another tenant", async () => {
    expect((await post(otlpBody([rawSpan()]), { authorization: "" })).status).toBe(401)
    expect((await post(otlpBody([rawSpan()]), { authorization: "Bearer nope" })).status).toBe(401)
    const other = newTenantId()
    const span = rawSpan({ attributes: [{ key: "tenant_id", value: { stringValue: other } }, { key: "tenantId", value: { stringValue: other } }] })
    expect((await post(otlpBody([span]))).status).toBe(200)
    expect((await spansOf(span.traceId))[0]!.tenantId).toBe(tenantId)
    expect(await repo((r) => r.getTrace(other as TenantId, span.traceId as TraceId))).toEqual(Option.none())
  })

  it("reports refused spans as OTLP partial success, and a request of only refused spans as 400", async () => {
    const good = rawSpan()
    const res = await post(otlpBody([good, rawSpan({ spanId: "0000000000000000" })]))
    expect(res.status).toBe(200)
    const body = await res.json() as { partialSuccess: { rejectedSpans: string; errorMessage: string } }
    expect(body.partialSuccess.rejectedSpans).toBe("1")
    expect(body.partialSuccess.errorMessage).toContain("spanId")
    expect((await spansOf(good.traceId)).length).toBe(1)
    expect((await post(otlpBody([rawSpan({ traceId: "0".repeat(32) })]))).status).toBe(400)
  })

  it("refuses a body over the limit (413) and an unknown content type (415)", async () => {
    expect((await post("x".repeat(5 * 1024 * 1024))).status).toBe(413)
    // Sent in chunks without a Content-Length: never accepted; reading stops once the chunks pass the limit and the
    // connection is closed (before the 413 can be answered, as @effect/platform's own body reading did too).
    const chunk = new Uint8Array(256 * 1024).fill(32)
    let sent = 0
    const chunked = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (sent++ < 20) controller.enqueue(chunk)
        else controller.close()
      }
    })
    const unsized = await fetch(url(), { method: "POST", body: chunked, duplex: "half", headers: { "content-type": "application/json", authorization: `Bearer ${token}` } } as RequestInit)
      .then((res) => res.status, (error: TypeError) => String((error.cause as Error | undefined)?.message ?? error))
    expect([413, "read ECONNRESET"]).toContain(unsized)
    expect((await post(otlpBody([rawSpan()]))).status).toBe(200)
    expect((await post(gzipSync(Buffer.alloc(5 * 1024 * 1024, 32)), { "content-encoding": "gzip" })).status).toBe(413)
    expect((await post("{}", { "content-type": "text/plain" })).status).toBe(415)
  })
})

describe("OTLP receiver: the hostile corpus", () => {
  for (const format of ["json", "protobuf"] as const) {
    it(`memory, ${format}: stores every hostile string byte-exact (prompt, response, model, a tag) or refuses the request with 400`, async () => {
      const outcome = await hostileCorpusThroughReceiver(StorageProfile.layer({ profile: "memory" }), format)
      expect(outcome.problems).toEqual([])
      expect(outcome.stored).toBe(outcome.sent)
    })
  }
})
