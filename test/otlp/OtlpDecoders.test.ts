import { context, SpanStatusCode, trace } from "@opentelemetry/api"
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "vitest"
import { OtlpDecodeError } from "../../src/internal/otlp/OtlpDecodeError.js"
import * as OtlpJson from "../../src/internal/otlp/OtlpJson.js"
import * as OtlpProtobuf from "../../src/internal/otlp/OtlpProtobuf.js"

/**
 * The two OTLP decoders on their own: the same export read from JSON and from protobuf (both written by the
 * OpenTelemetry JS SDK's serializers) is the same request; strings arrive as sent; a malformed body is an
 * OtlpDecodeError whose message names the field.
 */

/** Spans of every attribute type, an event, an error status and a parent, as the SDK records them. */
const sdkSpans = () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "svc", n: 3 }), spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer("scope", "1.2.3")
  const parent = tracer.startSpan("parent")
  const child = tracer.startSpan("child", {
    kind: 2,
    attributes: { bom: "\uFEFFled", empty: "", odd: "\uFFFD🚀\u0000", i: 42, neg: -7, d: 0.25, b: true, arr: ["a", "b"], nums: [1, 2.5], bools: [true] }
  }, trace.setSpan(context.active(), parent))
  child.addEvent("ev", { k: "v", n: 1 })
  child.setStatus({ code: SpanStatusCode.ERROR, message: "boom" })
  child.end()
  parent.end()
  return exporter.getFinishedSpans()
}

const decodeError = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (e instanceof OtlpDecodeError) return e.message
    throw e
  }
  throw new Error("decoded")
}

describe("OTLP decoders: JSON and protobuf", () => {
  it("read the same SDK export to the same request, every string as sent (a leading U+FEFF, U+FFFD and NUL included)", () => {
    const spans = sdkSpans()
    const fromJson = OtlpJson.decodeUnsafe(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!))
    const fromProtobuf = OtlpProtobuf.decodeUnsafe(ProtobufTraceSerializer.serializeRequest(spans)!)
    expect(fromProtobuf).toEqual(fromJson)
    const child = fromProtobuf.resourceSpans[0]!.scopeSpans[0]!.spans.find((s) => s.name === "child")!
    expect(child.attributes.slice(0, 3)).toEqual([{ key: "bom", value: "\uFEFFled" }, { key: "empty", value: "" }, { key: "odd", value: "\uFFFD🚀\u0000" }])
    expect(child.status).toEqual({ code: 2, message: "boom" })
  })

  it("protobuf: a string that is not UTF-8 is refused, naming where (never stored with U+FFFD in its place)", () => {
    const marker = "@@marker@@"
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    provider.getTracer("t").startSpan("s", { attributes: { k: marker } }).end()
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!)
    const at = body.indexOf(marker)
    for (const bad of [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff]]) {
      const copy = Buffer.from(body)
      copy.set(bad, at)
      expect(decodeError(() => OtlpProtobuf.decodeUnsafe(copy))).toBe(`protobuf: string is not UTF-8 at byte ${at}`)
    }
  })
})

const span = (fields: Record<string, unknown>) => ({ traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174", ...fields })
const request = (spans: ReadonlyArray<unknown>) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: "s" }, spans }] }] })
const attribute = (value: unknown) => request([span({ attributes: [{ key: "ok", value: { stringValue: "x" } }, { key: "k", value }] })])
const nested = (depth: number, wrap: (v: unknown) => unknown) => {
  let v: unknown = { stringValue: "leaf" }
  for (let i = 0; i < depth; i++) v = wrap(v)
  return attribute(v)
}
const inKvlist = (v: unknown) => ({ kvlistValue: { values: [{ key: "k", value: v }] } })

describe("OTLP/JSON decoder: refusals name the field", () => {
  it.each([
    ["{", "json: $: not JSON"],
    ["[1]", "json: $: must be an object"],
    [JSON.stringify({ resourceSpans: [5] }), "json: resourceSpans[0]: must be an object"],
    [JSON.stringify({ resourceSpans: [{ resource: { attributes: {} } }] }), "json: resourceSpans[0].resource.attributes: must be an array"],
    [JSON.stringify({ resourceSpans: [{ scopeSpans: [{ scope: { name: 1 } }] }] }), "json: resourceSpans[0].scopeSpans[0].scope.name: must be a string"],
    [request([span({}), span({ traceId: "xyz" })]), "json: resourceSpans[0].scopeSpans[0].spans[1].traceId: must be hex"],
    [request([span({ kind: 2 ** 32 })]), "json: resourceSpans[0].scopeSpans[0].spans[0].kind: must be a 32-bit unsigned integer"],
    [request([span({ end_time_unix_nano: true })]), "json: resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano: must be an integer (a number or a decimal string)"],
    [attribute(1), "json: resourceSpans[0].scopeSpans[0].spans[0].attributes[1].value: must be an object"],
    [attribute({ stringValue: 1 }), "json: resourceSpans[0].scopeSpans[0].spans[0].attributes[1].value.stringValue: must be a string"],
    [attribute({ arrayValue: { values: [{ intValue: "x" }] } }), "json: resourceSpans[0].scopeSpans[0].spans[0].attributes[1].value.arrayValue.values[0].intValue: must be an integer (a number or a decimal string)"],
    [attribute({ kvlistValue: { values: [{ key: "a", value: { doubleValue: "x" } }] } }), "json: resourceSpans[0].scopeSpans[0].spans[0].attributes[1].value.kvlistValue.values[0].value.doubleValue: must be a number"],
    [request([span({ events: [{ attributes: [{ key: 1 }] }] })]), "json: resourceSpans[0].scopeSpans[0].spans[0].events[0].attributes[0].key: must be a string"],
    [request([span({ status: { code: "x" } })]), "json: resourceSpans[0].scopeSpans[0].spans[0].status.code: must be an integer (a number or a decimal string)"],
    // The first bad field in the order the span's fields are read.
    [request([span({ traceId: "xyz", events: 1 })]), "json: resourceSpans[0].scopeSpans[0].spans[0].traceId: must be hex"],
    [nested(33, inKvlist), `json: resourceSpans[0].scopeSpans[0].spans[0].attributes[1].value${".kvlistValue.values[0].value".repeat(33)}: values nested deeper than 32`]
  ])("%s", (body, message) => {
    expect(decodeError(() => OtlpJson.decodeUnsafe(body))).toContain(message)
  })

  it("reads values nested up to the bound, a string as deep as any other value", () => {
    const deepest = OtlpJson.decodeUnsafe(nested(32, inKvlist)).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[1]!
    let v = deepest.value
    for (let i = 0; i < 32; i++) v = (v as { kvlist: ReadonlyArray<{ value: unknown }> }).kvlist[0]!.value as typeof v
    expect(v).toBe("leaf")
  })
})

describe("OTLP/JSON decoder: 64-bit integers", () => {
  it("keeps long integer literals exact, with white space before them too, and leaves digits inside strings alone", () => {
    const body = request([span({
      startTimeUnixNano: "@start",
      endTimeUnixNano: "@end",
      attributes: [
        { key: "digits", value: { stringValue: "a:12345678901234567890,[98765432109876543210" } },
        { key: "arr", value: { arrayValue: { values: [{ intValue: "@safe" }, { intValue: "@min" }] } } }
      ]
    })])
      .replace("\"@start\"", " \n\t1544712660000000001")
      .replace("\"@end\"", "1544712661500000001")
      .replace("\"@safe\"", "9007199254740993")
      .replace("\"@min\"", "-9223372036854775808")
    const s = OtlpJson.decodeUnsafe(body).resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    expect([s.startTimeUnixNano, s.endTimeUnixNano]).toEqual([1544712660000000001n, 1544712661500000001n])
    expect(s.attributes[0]!.value).toBe("a:12345678901234567890,[98765432109876543210")
    expect(s.attributes[1]!.value).toEqual({ array: [9007199254740993n, -9223372036854775808n] })
  })

  it("quotes a long literal after a colon, a comma or a bracket, and nothing in a string", () => {
    expect(OtlpJson.quoteLongIntegers("[12345678901234567890, 1,\r-98765432109876543210]")).toBe("[\"12345678901234567890\", 1,\r\"-98765432109876543210\"]")
    expect(OtlpJson.quoteLongIntegers("{\"a\":1234567890123456,\"b\":\"x:1234567890123456789\"}")).toBe("{\"a\":\"1234567890123456\",\"b\":\"x:1234567890123456789\"}")
    const untouched = "{\"a\":\"1234567890123456789\",\"b\":123456789012345}"
    expect(OtlpJson.quoteLongIntegers(untouched)).toBe(untouched)
  })
})
