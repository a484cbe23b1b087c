import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import {
  AgentAction,
  MAX_ACTION_RESULT_BYTES,
  newTenantId,
  newTraceId,
  SecurityFinding,
  TraceEvent,
  TraceQuery,
  TraceSpan,
  utf8Length
} from "../../src/index.js"

const tenantId = newTenantId()
const traceId = newTraceId()
const spanJson = {
  traceId,
  spanId: "2f1b7c1e-6a0b-4c57-9d2e-0b9f7c1d3e4a",
  tenantId,
  operationName: "chat_completion",
  startTime: "2026-01-01T00:00:00.123Z",
  provider: "OpenAI",
  modelName: "gpt-4o",
  prompt: "hello"
}

/** The path of the first issue when decoding fails. */
const failurePath = <A, I>(schema: Schema.Schema<A, I>, input: unknown) => {
  const result = Schema.decodeUnknownEither(schema)(input)
  if (Either.isRight(result)) throw new Error("expected a decode failure")
  return ParseResult.ArrayFormatter.formatErrorSync(result.left)[0]!.path
}

describe("TraceSpan", () => {
  it("decodes JSON with defaults for the collections and millisecond timestamps", () => {
    const span = Schema.decodeUnknownSync(TraceSpan)(spanJson)
    expect(span.startTime).toEqual(new Date("2026-01-01T00:00:00.123Z"))
    expect([span.securityFindings, span.tags, span.events, span.agentActions]).toEqual([[], {}, [], []])
    expect(Schema.encodeSync(TraceSpan)(span)).toMatchObject(spanJson)
  })

  it("make fills a fresh span id and start time", () => {
    const before = Date.now()
    const a = TraceSpan.make({ traceId, tenantId, operationName: "op", provider: "Ollama", modelName: "llama3", prompt: "p" })
    const b = TraceSpan.make({ traceId, tenantId, operationName: "op", provider: "Ollama", modelName: "llama3", prompt: "p" })
    expect(a.spanId).not.toBe(b.spanId)
    expect(a.startTime.getTime()).toBeGreaterThanOrEqual(before)
    expect(a.startTime.getTime()).toBeLessThanOrEqual(Date.now())
  })

  it.each([
    ["a security score of 101", { securityScore: 101 }, ["securityScore"]],
    ["a fractional security score", { securityScore: 50.5 }, ["securityScore"]],
    ["a non-UUID tenant id", { tenantId: "tenant-1" }, ["tenantId"]],
    ["an empty provider", { provider: "" }, ["provider"]],
    ["a NaN cost", { estimatedCostUsd: Number.NaN }, ["estimatedCostUsd"]],
    ["a negative token count", { promptTokens: -1 }, ["promptTokens"]],
    ["an invalid date", { startTime: "yesterday" }, ["startTime"]],
    ["a lone surrogate in the prompt", { prompt: "a\ud800b" }, ["prompt"]],
    ["a confidence of 1.5", { securityFindings: [{ id: spanJson.spanId, severity: "High", findingType: "x", description: "", detectedAt: "2026-01-01T00:00:00Z", confidenceScore: 1.5 }] }, ["securityFindings", 0, "confidenceScore"]],
    ["an unknown severity", { securityFindings: [{ id: spanJson.spanId, severity: "Severe", findingType: "x", description: "", detectedAt: "2026-01-01T00:00:00Z", confidenceScore: 0.5 }] }, ["securityFindings", 0, "severity"]]
  ])("rejects %s with the path of the field", (_, patch, path) => {
    expect(failurePath(TraceSpan, { ...spanJson, ...patch })).toEqual(path)
  })

  it("accepts a custom provider and every well-known one", () => {
    for (const provider of ["OpenAI", "Anthropic", "VLLm", "SGLang", "TGI", "Ollama", "AzureOpenAI", "Bedrock", "my-gateway"]) {
      expect(Schema.decodeUnknownSync(TraceSpan)({ ...spanJson, provider }).provider).toBe(provider)
    }
  })
})

describe("AgentAction", () => {
  const long = "é".repeat(3000) // 6000 bytes
  it("truncates a result over 4096 bytes on construction, on a character boundary", () => {
    const action = AgentAction.make({ actionType: "tool_call", name: "t", result: long })
    expect(utf8Length(action.result!)).toBe(MAX_ACTION_RESULT_BYTES)
    expect(long.startsWith(action.result!)).toBe(true)
  })

  it("truncates on decoding too, and keeps a short result as it is", () => {
    const decode = Schema.decodeUnknownSync(AgentAction)
    const base = { id: "2f1b7c1e-6a0b-4c57-9d2e-0b9f7c1d3e4a", actionType: "tool_call", name: "t", timestamp: "2026-01-01T00:00:00Z" }
    expect(utf8Length(decode({ ...base, result: "🚀".repeat(2000) }).result!)).toBe(4096)
    expect(decode({ ...base, result: "ok" }).result).toBe("ok")
  })
})

describe("SecurityFinding", () => {
  it("rejects a confidence outside 0..1 on construction", () => {
    expect(() => SecurityFinding.make({ severity: "Low", findingType: "x", description: "", confidenceScore: 1.5 })).toThrow(/confidenceScore/)
  })
})

describe("TraceEvent", () => {
  it("rejects a span of another trace or tenant", () => {
    const span = TraceSpan.make({ traceId: newTraceId(), tenantId, operationName: "op", provider: "TGI", modelName: "m", prompt: "" })
    expect(() => TraceEvent.make({ traceId, tenantId, spans: [span] })).toThrow(/every span must carry/)
  })
})

describe("TraceQuery", () => {
  it("defaults limit and offset", () => {
    expect(TraceQuery.make({ tenantId })).toMatchObject({ limit: 100, offset: 0, tags: {} })
  })

  it.each([
    ["a negative limit", { limit: -1 }, ["limit"]],
    ["a zero limit", { limit: 0 }, ["limit"]],
    ["a limit above the maximum", { limit: 10_001 }, ["limit"]],
    ["a negative offset", { offset: -5 }, ["offset"]],
    ["a score above 100", { minSecurityScore: 101 }, ["minSecurityScore"]],
    ["an inverted time range", { startTime: "2026-01-02T00:00:00Z", endTime: "2026-01-01T00:00:00Z" }, ["endTime"]],
    ["an inverted score range", { minSecurityScore: 80, maxSecurityScore: 20 }, ["maxSecurityScore"]]
  ])("rejects %s with the path of the field", (_, patch, path) => {
    expect(failurePath(TraceQuery, { tenantId, ...patch })).toEqual(path)
  })
})
