// Replays a dead-letter file through a sink that only counts (stores nothing), then prints the
// result as JSON. Run under a capped heap by test/ingest/DeadLetters.test.ts: the replay must
// stream the file, never hold it (or a whole batch's text) as one string.
import * as Effect from "effect/Effect"
import { DeadLetters, type TraceSpan } from "../../src/index.js"

const file = process.argv[2]!
let stored = 0
const store = (spans: ReadonlyArray<TraceSpan>) => Effect.sync(() => void (stored += spans.length))
Effect.runPromise(DeadLetters.replay(file, store, { batchSize: 10_000 })).then(
  (result) => console.log(JSON.stringify({ ...result, stored, heapUsed: process.memoryUsage().heapUsed })),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
