import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer"
import { BasicTracerProvider, type IdGenerator, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { randomBytes, randomUUID } from "node:crypto"
import { MetadataRepository, newTenantId, NewTenant, type TraceId, TraceRepository, type TraceSpan, TraceWriter, truncateUtf8 } from "../../src/index.js"
import * as OtlpReceiver from "../../src/otlp/OtlpReceiver.js"
import { hostileInputs, loneSurrogates } from "./hostile.js"
import { freePort } from "./ports.js"

/** What went wrong, one line each: empty when every hostile string was stored byte-exact or refused with 400. */
export interface HostileOutcome {
  readonly problems: ReadonlyArray<string>
  /** Strings sent that the store was expected to keep. */
  readonly sent: number
  /** Spans found in the store afterwards. */
  readonly stored: number
}

/** A short tag value: the first 1000 bytes, whole characters only. */
const cut = (s: string) => truncateUtf8(s, 1000)

const attributesOf = (s: string): Record<string, string> => ({
  "gen_ai.input.messages": s,
  "gen_ai.output.messages": s,
  "gen_ai.request.model": `m${s}`,
  h: cut(s)
})

/** Span ids 1, 2, … (as 16 hex digits) in `traceId`: the n-th string is the span whose id is n. */
const spanIdOf = (n: number) => n.toString(16).padStart(16, "0")

/** OTLP/JSON written by hand, as an exporter would. */
const jsonBody = (traceId: string, strings: ReadonlyArray<string>): string =>
  JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [] },
      scopeSpans: [{
        scope: { name: "t" },
        spans: strings.map((s, j) => ({
          traceId,
          spanId: spanIdOf(j + 1),
          name: "s",
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000100000000",
          attributes: Object.entries(attributesOf(s)).map(([key, value]) => ({ key, value: { stringValue: value } }))
        }))
      }]
    }]
  })

/** OTLP/protobuf as the OpenTelemetry JS SDK serializes it (its own ids replaced by ours through its IdGenerator). */
const protobufBody = (traceId: string, strings: ReadonlyArray<string>): Uint8Array => {
  let next = 0
  const idGenerator: IdGenerator = { generateTraceId: () => traceId, generateSpanId: () => spanIdOf(++next) }
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ idGenerator, spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer("t")
  for (const s of strings) tracer.startSpan("s", { root: true, attributes: attributesOf(s) }).end()
  return ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!
}

/**
 * Bytes that are not UTF-8 (a lone continuation byte, an overlong NUL, an encoded surrogate, 0xFF), each written over
 * a marker inside a protobuf string: the body stays well-formed protobuf, only the string is not UTF-8.
 */
const notUtf8: ReadonlyArray<ReadonlyArray<number>> = [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff]]

const protobufWithBadString = (traceId: string, bad: ReadonlyArray<number>): Uint8Array => {
  const marker = "@@not-utf8@@"
  const body = Buffer.from(protobufBody(traceId, [`${marker}!`]))
  for (let at = body.indexOf(marker); at >= 0; at = body.indexOf(marker, at + 1)) body.set(bad, at)
  return body
}

export type Format = "json" | "protobuf"

/**
 * The hostile corpus (test/support/hostile.ts, with one 1 MB string) through the OTLP receiver on `storage`, in
 * `format`: each string as prompt, response, model (prefixed) and a tag (cut to 1000 bytes), 50 spans a request; every
 * request must be answered 200 and every span read back byte-exact. Then what cannot be stored faithfully, one request
 * each, must be refused with 400 and leave nothing behind: in JSON the lone surrogates (no UTF-8 exists for them), in
 * protobuf strings that are not UTF-8. The receiver runs on a free port of its own and stops before this returns.
 */
export const hostileCorpusThroughReceiver = async <E>(
  storage: Layer.Layer<TraceWriter.TraceWriter | TraceRepository.TraceRepository | MetadataRepository.MetadataRepository, E>,
  format: Format
): Promise<HostileOutcome> => {
  const port = await freePort()
  const runtime = ManagedRuntime.make(Layer.provideMerge(OtlpReceiver.layer({ port, maxBodyBytes: 4 * 1024 * 1024 }), storage))
  try {
    const token = `otlp-hostile-${randomUUID()}`
    const tenantId = newTenantId()
    await runtime.runPromise(Effect.flatMap(MetadataRepository.MetadataRepository, (m) => m.createTenant(NewTenant.make({ id: tenantId, name: "otlp-hostile", apiToken: token, plan: "free" }))))
    const contentType = format === "json" ? "application/json" : "application/x-protobuf"
    const post = (body: string | Uint8Array) =>
      fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", body, headers: { "content-type": contentType, authorization: `Bearer ${token}` } })
    /** The trace's spans once the writer has stored what the receiver accepted. */
    const spansOf = (traceId: string) =>
      runtime.runPromise(Effect.zipRight(
        Effect.flatMap(TraceWriter.TraceWriter, (w) => w.flush),
        Effect.flatMap(TraceRepository.TraceRepository, (r) => r.getTrace(tenantId, traceId as TraceId))
      )).then((t): ReadonlyArray<TraceSpan> => Option.match(t, { onNone: () => [], onSome: (trace) => trace.spans }))
    /** A success without partial success: `{}` in JSON, an empty message in protobuf. */
    const whole = async (res: Response) => {
      const body = new Uint8Array(await res.arrayBuffer())
      return res.status === 200 && (format === "json" ? new TextDecoder().decode(body) === "{}" : body.length === 0)
    }

    const problems: Array<string> = []
    const inputs = hostileInputs({ big: 1 })
    const batch = 50
    let stored = 0
    for (let i = 0; i < inputs.length; i += batch) {
      const strings = inputs.slice(i, i + batch)
      const traceId = randomBytes(16).toString("hex")
      const res = await post(format === "json" ? jsonBody(traceId, strings) : protobufBody(traceId, strings))
      if (!(await whole(res))) problems.push(`strings ${i}..${i + strings.length - 1}: answered ${res.status}, not 200 with every span accepted`)
      const back = await spansOf(traceId)
      stored += back.length
      if (back.length !== strings.length) problems.push(`strings ${i}..${i + strings.length - 1}: ${back.length} of ${strings.length} spans stored`)
      for (const span of back) {
        const index = Number.parseInt(span.spanId, 16) - 1
        const s = strings[index]
        if (s === undefined) {
          problems.push(`strings ${i}..: a span ${span.spanId} that was not sent`)
          continue
        }
        const wrong = [
          span.prompt === s ? "" : "prompt",
          span.response === s ? "" : "response",
          span.modelName === `m${s}` ? "" : "model",
          span.tags.h === cut(s) ? "" : "tag"
        ].filter((w) => w !== "")
        if (wrong.length > 0) problems.push(`string ${i + index} ${JSON.stringify(s.slice(0, 80))}: ${wrong.join(", ")} not stored byte-exact`)
      }
    }
    const unstorable = format === "json"
      ? loneSurrogates.map((s) => ({ name: `lone surrogate ${JSON.stringify(s)}`, body: (traceId: string) => jsonBody(traceId, [s]) }))
      : notUtf8.map((bytes) => ({ name: `not UTF-8 ${Buffer.from(bytes).toString("hex")}`, body: (traceId: string) => protobufWithBadString(traceId, bytes) }))
    for (const { body, name } of unstorable) {
      const traceId = randomBytes(16).toString("hex")
      const res = await post(body(traceId))
      await res.arrayBuffer()
      if (res.status !== 400) problems.push(`${name}: answered ${res.status}, not 400`)
      const back = await spansOf(traceId)
      if (back.length > 0) problems.push(`${name}: ${back.length} spans stored`)
    }
    return { problems, sent: inputs.length, stored }
  } finally {
    await runtime.dispose()
  }
}
