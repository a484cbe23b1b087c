import { describe, expect, it } from "vitest"
import { isTraceSpan, newTenantId } from "../../src/index.js"
import { OtelMapping } from "../../src/otlp/index.js"
import * as OtlpJson from "../../src/internal/otlp/OtlpJson.js"

/**
 * The mapping table, one convention at a time, from literal OTLP/JSON as exporters send it (decoded by our JSON
 * decoder, then mapped): what each convention's attributes become, and the precedence when several are present.
 */
const tenantId = newTenantId()
const traceId = "5b8efff798038103d269b633813fc60c"
const spanId = "eee19b7ec3c1b174"

const str = (key: string, value: string) => ({ key, value: { stringValue: value } })
const int = (key: string, value: number | string) => ({ key, value: { intValue: value } })

const request = (attributes: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) => ({
  resourceSpans: [{
    resource: { attributes: [str("service.name", "checkout"), str("host.name", "h1")] },
    scopeSpans: [{
      scope: { name: "my-instrumentation", version: "1.0.0" },
      spans: [{
        traceId,
        spanId,
        parentSpanId: "eee19b7ec3c1b173",
        name: "chat gpt-4o",
        kind: 3,
        startTimeUnixNano: "1544712660000000000",
        endTimeUnixNano: "1544712661500000000",
        attributes,
        ...extra
      }]
    }]
  }]
})

const map = (body: unknown) => {
  const decoded = OtlpJson.decodeUnsafe(JSON.stringify(body))
  const resource = decoded.resourceSpans[0]!
  const scope = resource.scopeSpans[0]!
  return OtelMapping.toTraceSpan(
    tenantId,
    { serviceName: OtelMapping.serviceNameOf(resource.resource.attributes), scopeName: scope.scope.name },
    scope.spans[0]!
  )
}

describe("OtelMapping: GenAI semconv v1.37+", () => {
  it("maps provider, models, messages, system instructions, usage and ids; keeps the rest as tags", () => {
    const s = map(request([
      str("gen_ai.operation.name", "chat"),
      str("gen_ai.provider.name", "openai"),
      str("gen_ai.request.model", "gpt-4o"),
      str("gen_ai.response.model", "gpt-4o-2024-08-06"),
      str("gen_ai.input.messages", "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi\"}]}]"),
      str("gen_ai.output.messages", "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"Hello\"}]}]"),
      str("gen_ai.system_instructions", "[{\"type\":\"text\",\"content\":\"Be brief\"}]"),
      int("gen_ai.usage.input_tokens", 12),
      int("gen_ai.usage.output_tokens", "7"),
      int("gen_ai.usage.cache_read.input_tokens", 4),
      int("gen_ai.usage.reasoning.output_tokens", 2)
    ], { status: { code: 1 } }))
    expect(isTraceSpan(s)).toBe(true)
    expect(s).toMatchObject({
      traceId,
      spanId,
      parentSpanId: "eee19b7ec3c1b173",
      tenantId,
      operationName: "chat",
      provider: "OpenAI",
      modelName: "gpt-4o-2024-08-06",
      prompt: "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi\"}]}]",
      response: "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"Hello\"}]}]",
      promptTokens: 12,
      completionTokens: 7,
      startTime: new Date(1544712660000),
      endTime: new Date(1544712661500),
      durationMs: 1500
    })
    expect(s.tags).toEqual({
      "service.name": "checkout",
      "otel.scope.name": "my-instrumentation",
      "otel.span.name": "chat gpt-4o",
      "otel.status_code": "OK",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.system_instructions": "[{\"type\":\"text\",\"content\":\"Be brief\"}]",
      "gen_ai.usage.cache_read.input_tokens": "4",
      "gen_ai.usage.reasoning.output_tokens": "2"
    })
  })

  it("an ERROR status gives errorMessage from the status message, else the exception event, else error.type", () => {
    const withMessage = map(request([str("error.type", "RateLimitError")], { status: { code: 2, message: "429 Too Many Requests" } }))
    expect(withMessage.errorMessage).toBe("429 Too Many Requests")
    expect(withMessage.tags["error.type"]).toBe("RateLimitError")
    const typeOnly = map(request([str("error.type", "RateLimitError")], { status: { code: 2 } }))
    expect(typeOnly.errorMessage).toBe("RateLimitError")
    const exception = map(request([], {
      status: { code: 2 },
      events: [{ name: "exception", timeUnixNano: "1544712660500000000", attributes: [str("exception.message", "boom"), str("exception.type", "Error")] }]
    }))
    expect(exception.errorMessage).toBe("boom")
    expect(exception.events).toHaveLength(1)
    expect(exception.events[0]).toMatchObject({ eventType: "exception", description: "boom", data: { "exception.type": "Error" } })
    expect(map(request([str("error.type", "x")])).errorMessage).toBeUndefined()
  })
})

describe("OtelMapping: GenAI semconv v1.36", () => {
  it("takes gen_ai.system and the message events as the prompt and the choice events as the response", () => {
    const s = map(request([str("gen_ai.system", "anthropic"), str("gen_ai.request.model", "claude-3")], {
      events: [
        { name: "gen_ai.system.message", timeUnixNano: "1544712660000000001", attributes: [str("content", "Be brief")] },
        { name: "gen_ai.user.message", timeUnixNano: "1544712660000000002", attributes: [str("content", "Hi")] },
        { name: "gen_ai.choice", timeUnixNano: "1544712661000000000", attributes: [int("index", 0), str("finish_reason", "stop"), { key: "message", value: { kvlistValue: { values: [str("content", "Hello")] } } }] },
        { name: "log", timeUnixNano: "1544712661000000000", attributes: [] }
      ]
    }))
    expect(s.provider).toBe("Anthropic")
    expect(s.modelName).toBe("claude-3")
    expect(JSON.parse(s.prompt)).toEqual([{ role: "system", content: "Be brief" }, { role: "user", content: "Hi" }])
    expect(JSON.parse(s.response!)).toEqual([{ index: 0, finish_reason: "stop", message: { content: "Hello" } }])
    expect(s.events.map((e) => e.eventType)).toEqual(["log"])
  })

  it("reads the older single-event shape (gen_ai.content.prompt / gen_ai.content.completion)", () => {
    const s = map(request([str("gen_ai.system", "openai")], {
      events: [
        { name: "gen_ai.content.prompt", timeUnixNano: "1", attributes: [str("gen_ai.prompt", "[{\"role\":\"user\",\"content\":\"Hi\"}]")] },
        { name: "gen_ai.content.completion", timeUnixNano: "2", attributes: [str("gen_ai.completion", "[{\"role\":\"assistant\",\"content\":\"Yo\"}]")] }
      ]
    }))
    expect([s.prompt, s.response]).toEqual(["[{\"role\":\"user\",\"content\":\"Hi\"}]", "[{\"role\":\"assistant\",\"content\":\"Yo\"}]"])
    expect(s.events).toEqual([])
  })
})

describe("OtelMapping: Traceloop (OpenLLMetry) flattened attributes", () => {
  it("gathers gen_ai.prompt.N.* and gen_ai.completion.N.* in index order and reads its token names", () => {
    const s = map(request([
      str("gen_ai.system", "OpenAI"),
      str("gen_ai.request.model", "gpt-3.5-turbo"),
      str("gen_ai.prompt.10.role", "user"),
      str("gen_ai.prompt.10.content", "second"),
      str("gen_ai.prompt.2.role", "system"),
      str("gen_ai.prompt.2.content", "first"),
      str("gen_ai.completion.0.role", "assistant"),
      str("gen_ai.completion.0.content", "answer"),
      str("gen_ai.completion.0.finish_reason", "stop"),
      int("gen_ai.usage.prompt_tokens", 15),
      int("gen_ai.usage.completion_tokens", 3),
      int("llm.usage.total_tokens", 18),
      str("llm.request.type", "chat")
    ]))
    expect(s.provider).toBe("OpenAI")
    expect(JSON.parse(s.prompt)).toEqual([{ role: "system", content: "first" }, { role: "user", content: "second" }])
    expect(JSON.parse(s.response!)).toEqual([{ role: "assistant", content: "answer", finish_reason: "stop" }])
    expect([s.promptTokens, s.completionTokens, s.totalTokens]).toEqual([15, 3, 18])
    expect(Object.keys(s.tags).filter((k) => k.startsWith("gen_ai."))).toEqual([])
    expect(s.tags["llm.request.type"]).toBe("chat")
  })
})

describe("OtelMapping: OpenInference", () => {
  it("reads llm.* messages, model, provider and token counts; input.value when no messages", () => {
    const s = map(request([
      str("openinference.span.kind", "LLM"),
      str("llm.provider", "openai"),
      str("llm.model_name", "gpt-4o-mini"),
      str("llm.input_messages.0.message.role", "user"),
      str("llm.input_messages.0.message.content", "Hi"),
      str("llm.output_messages.0.message.role", "assistant"),
      str("llm.output_messages.0.message.content", "Hello"),
      int("llm.token_count.prompt", 9),
      int("llm.token_count.completion", 1),
      int("llm.token_count.total", 10),
      str("input.value", "{\"messages\":[]}")
    ]))
    expect(s).toMatchObject({ operationName: "LLM", provider: "OpenAI", modelName: "gpt-4o-mini", promptTokens: 9, completionTokens: 1, totalTokens: 10 })
    expect(JSON.parse(s.prompt)).toEqual([{ role: "user", content: "Hi" }])
    expect(JSON.parse(s.response!)).toEqual([{ role: "assistant", content: "Hello" }])
    expect(s.tags["input.value"]).toBe("{\"messages\":[]}")
    expect(map(request([str("input.value", "plain question"), str("output.value", "plain answer")])))
      .toMatchObject({ prompt: "plain question", response: "plain answer" })
  })
})

describe("OtelMapping: precedence and bounds", () => {
  it("v1.37 beats v1.36 beats Traceloop beats OpenInference; the losers stay as tags", () => {
    const s = map(request([
      str("llm.provider", "anthropic"),
      str("gen_ai.system", "cohere"),
      str("gen_ai.provider.name", "aws.bedrock"),
      str("llm.input_messages.0.message.content", "oi"),
      str("gen_ai.prompt.0.content", "traceloop"),
      str("gen_ai.input.messages", "v137"),
      int("llm.token_count.prompt", 1),
      int("gen_ai.usage.prompt_tokens", 2),
      int("gen_ai.usage.input_tokens", 3)
    ]))
    expect([s.provider, s.prompt, s.promptTokens]).toEqual(["Bedrock", "v137", 3])
    expect(s.tags).toMatchObject({ "gen_ai.system": "cohere", "llm.provider": "anthropic", "gen_ai.prompt.0.content": "traceloop", "gen_ai.usage.prompt_tokens": "2" })
  })

  it("a span with no GenAI attributes is kept with fallbacks (provider and model unknown, the span name as operation)", () => {
    const s = map(request([str("http.request.method", "POST"), int("http.response.status_code", 503)]))
    expect(s).toMatchObject({ provider: "unknown", modelName: "unknown", operationName: "chat gpt-4o", prompt: "", statusCode: 503 })
    expect(s.tags["http.request.method"]).toBe("POST")
    expect(isTraceSpan(s)).toBe(true)
  })

  it("keeps 64-bit integers exact, as strings or as numbers past 2^53; a count past a safe integer stays a tag", () => {
    const body = JSON.stringify(request([int("big", "18446744073709551615"), int("gen_ai.usage.input_tokens", "9007199254740993")]))
      .replace("\"1544712661500000000\"", "1544712661500000001")
    const decoded = OtlpJson.decodeUnsafe(body)
    const span = decoded.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    expect(span.endTimeUnixNano).toBe(1544712661500000001n)
    const s = OtelMapping.toTraceSpan(tenantId, {}, span)
    expect(s.promptTokens).toBeUndefined()
    expect(s.tags["gen_ai.usage.input_tokens"]).toBe("9007199254740993")
    expect(s.tags.big).toBe("18446744073709551615")
    expect(s.durationMs).toBe(1500.000001)
  })

  it("caps tags in count and size, counting what it dropped or cut, never failing", () => {
    const many = Array.from({ length: 300 }, (_, i) => str(`k${i}`, "v"))
    const s = map(request([...many, str("long", "é".repeat(10_000)), str("x".repeat(300), "long key")], { droppedAttributesCount: 5 }))
    expect(Object.keys(s.tags).length).toBeLessThanOrEqual(OtelMapping.limits.maxTags)
    expect(Number(s.tags[OtelMapping.reservedTags.dropped])).toBe(3 + 300 + 2 - (OtelMapping.limits.maxTags - 3) + 5) // 3 reserved tags; room for 3 counters
    expect(isTraceSpan(s)).toBe(true)
    const one = map(request([str("long", "é".repeat(10_000))]))
    expect(Buffer.byteLength(one.tags.long!)).toBe(OtelMapping.limits.maxValueBytes)
    expect(one.tags[OtelMapping.reservedTags.truncated]).toBe("1")
  })

  it("renders every attribute type as tag text: bool, double, bytes, arrays and maps as JSON", () => {
    const s = map(request([
      { key: "b", value: { boolValue: true } },
      { key: "d", value: { doubleValue: 0.5 } },
      { key: "bytes", value: { bytesValue: "AAEC" } },
      { key: "arr", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }] } } },
      { key: "map", value: { kvlistValue: { values: [str("k", "v")] } } }
    ]))
    expect(s.tags).toMatchObject({ b: "true", d: "0.5", bytes: "\"AAEC\"", arr: "[\"a\",1]", map: "{\"k\":\"v\"}" })
  })
})
