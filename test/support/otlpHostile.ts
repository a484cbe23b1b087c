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

const rawSpan = (traceId: string, spanId: string, attributes: ReadonlyArray<Record<string, unknown>>) => ({
  traceId,
  spanId,
  name: "s",
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000100000000",
  attributes
})

const otlpBody = (spans: ReadonlyArray<Record<string, unknown>>) =>
  JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: "t" }, spans }] }] })

/**
 * The hostile corpus (test/support/hostile.ts, with one 1 MB string) through the OTLP receiver on `storage`: each
 * string as prompt, response, model (prefixed) and a tag (cut to 1000 bytes), 50 spans a request; every request must be
 * answered 200 and every span read back byte-exact. Then each lone surrogate in its own request, which must be refused
 * with 400 and leave nothing behind. The receiver runs on a free port of its own and stops before this returns.
 */
export const hostileCorpusThroughReceiver = async <E>(
  storage: Layer.Layer<TraceWriter.TraceWriter | TraceRepository.TraceRepository | MetadataRepository.MetadataRepository, E>
): Promise<HostileOutcome> => {
  const port = await freePort()
  const runtime = ManagedRuntime.make(Layer.provideMerge(OtlpReceiver.layer({ port, maxBodyBytes: 4 * 1024 * 1024 }), storage))
  try {
    const token = `otlp-hostile-${randomUUID()}`
    const tenantId = newTenantId()
    await runtime.runPromise(Effect.flatMap(MetadataRepository.MetadataRepository, (m) => m.createTenant(NewTenant.make({ id: tenantId, name: "otlp-hostile", apiToken: token, plan: "free" }))))
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } })
    /** The trace's spans once the writer has stored what the receiver accepted. */
    const spansOf = (traceId: string) =>
      runtime.runPromise(Effect.zipRight(
        Effect.flatMap(TraceWriter.TraceWriter, (w) => w.flush),
        Effect.flatMap(TraceRepository.TraceRepository, (r) => r.getTrace(tenantId, traceId as TraceId))
      )).then((t): ReadonlyArray<TraceSpan> => Option.match(t, { onNone: () => [], onSome: (trace) => trace.spans }))

    const problems: Array<string> = []
    const inputs = hostileInputs({ big: 1 })
    const batch = 50
    let stored = 0
    for (let i = 0; i < inputs.length; i += batch) {
      const strings = inputs.slice(i, i + batch)
      const traceId = randomBytes(16).toString("hex")
      const spans = strings.map((s, j) =>
        rawSpan(traceId, (j + 1).toString(16).padStart(16, "0"), [
          { key: "gen_ai.input.messages", value: { stringValue: s } },
          { key: "gen_ai.output.messages", value: { stringValue: s } },
          { key: "gen_ai.request.model", value: { stringValue: `m${s}` } },
          { key: "h", value: { stringValue: cut(s) } }
        ])
      )
      const res = await post(otlpBody(spans))
      const answer = await res.text()
      if (res.status !== 200 || answer !== "{}") problems.push(`strings ${i}..${i + strings.length - 1}: answered ${res.status} ${answer.slice(0, 200)}`)
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
    for (const s of loneSurrogates) {
      const traceId = randomBytes(16).toString("hex")
      const res = await post(otlpBody([rawSpan(traceId, randomBytes(8).toString("hex"), [{ key: "gen_ai.input.messages", value: { stringValue: s } }])]))
      await res.arrayBuffer()
      if (res.status !== 400) problems.push(`lone surrogate ${JSON.stringify(s)}: answered ${res.status}, not 400`)
      const back = await spansOf(traceId)
      if (back.length > 0) problems.push(`lone surrogate ${JSON.stringify(s)}: ${back.length} spans stored`)
    }
    return { problems, sent: inputs.length, stored }
  } finally {
    await runtime.dispose()
  }
}
