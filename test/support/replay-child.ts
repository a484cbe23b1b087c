// Replays a dead-letter directory through a sink that only counts (stores nothing), then prints the
// result as JSON. Run under a capped heap by test/ingest/DeadLetters.test.ts: the replay must
// stream each segment, never hold it (or a whole batch's text) as one string.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import type { TraceSpan } from "../../src/index.js"
import * as DeadLetters from "../../src/internal/ingest/DeadLetters.js"

const dir = process.argv[2]!
let stored = 0
const sink = { storeSpans: (spans: ReadonlyArray<TraceSpan>) => Effect.sync(() => void (stored += spans.length)), storeTraces: () => Effect.void }
Effect.runPromise(DeadLetters.replay(dir, sink, { batchSize: 10_000 }).pipe(Effect.provide(NodeFileSystem.layer))).then(
  (result) => console.log(JSON.stringify({ ...result, stored, heapUsed: process.memoryUsage().heapUsed })),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
