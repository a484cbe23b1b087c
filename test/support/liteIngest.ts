import { SpanId, type TenantId, TraceId } from "../../src/index.js"
import { at, span } from "./fixtures.js"

const hex12 = (n: number) => n.toString(16).padStart(12, "0")

/** The id of span number `i` of an ingest run: deterministic, so another process can check it. */
export const spanIdAt = (i: number): SpanId => SpanId.make(`00000000-0000-4000-8000-${hex12(i)}`)

/** Span number `i`: 100 spans a trace. */
export const ingestSpan = (tenantId: TenantId, i: number) =>
  span(tenantId, TraceId.make(`11111111-0000-4000-8000-${hex12(Math.floor(i / 100))}`), {
    spanId: spanIdAt(i),
    startTime: at(i / 1000),
    prompt: `ingested span ${i}`
  })
