// A process that shares a dead-letter directory with others (test/ingest/DeadLetters.test.ts):
//   append DIR N BATCH          appends N spans in segments of BATCH, then prints their span ids as JSON
//   replay DIR STORE DELAY_MS   replays DIR again and again into a store that is a file of span ids
//                               (one line per stored span, written before the call returns), each
//                               batch taking DELAY_MS, until DIR/../stop exists; then once more, and exits
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import { appendFileSync, existsSync } from "node:fs"
import * as path from "node:path"
import { newTenantId, newTraceId, type TraceSpan } from "../../src/index.js"
import * as DeadLetters from "../../src/internal/ingest/DeadLetters.js"
import * as SpanVersion from "../../src/domain/SpanVersion.js"
import { span } from "./fixtures.js"

const [mode, dir, a, b] = process.argv.slice(2)

const append = (n: number, batch: number) =>
  Effect.gen(function*() {
    const tenantId = newTenantId()
    const ids: Array<string> = []
    for (let done = 0; done < n; done += batch) {
      const traceId = newTraceId()
      const spans = Array.from({ length: Math.min(batch, n - done) }, () => span(tenantId, traceId))
      yield* DeadLetters.append(dir!, { spans, versions: SpanVersion.nextRange(spans.length) }, "engine down (test)")
      ids.push(...spans.map((s) => s.spanId))
    }
    console.log(JSON.stringify(ids))
  })

const replay = (store: string, delayMs: number) => {
  const sink = {
    storeSpans: (spans: ReadonlyArray<TraceSpan>) =>
      Effect.zipRight(Effect.sleep(delayMs), Effect.sync(() => appendFileSync(store, spans.map((s) => `${s.spanId}\n`).join("")))),
    storeTraces: () => Effect.void
  }
  const once = DeadLetters.replay(dir!, sink, { batchSize: 100 })
  const stop = path.join(path.dirname(dir!), "stop")
  return Effect.gen(function*() {
    while (!existsSync(stop)) {
      yield* once
      yield* Effect.sleep(20)
    }
    yield* once
  })
}

const program = mode === "append" ? append(Number(a), Number(b)) : replay(a!, Number(b))
Effect.runPromise(program.pipe(Effect.provide(NodeFileSystem.layer))).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
