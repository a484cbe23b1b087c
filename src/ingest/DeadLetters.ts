import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { appendFile, mkdir, readFile, rename, rm, stat } from "node:fs/promises"
import * as path from "node:path"
import { TraceSpan } from "../domain/Trace.js"
import { type StorageError, StorageUnavailable } from "../StorageError.js"

/**
 * A local JSON Lines file of spans that could not be stored after every retry: one span per line,
 * appended, never dropped. `replay` stores them again once the engine is back.
 */

const fileError = (operation: string, file: string) => (cause: unknown) =>
  new StorageUnavailable({
    backend: "clickhouse",
    operation,
    message: `dead-letter file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** Appends spans to the file (creating it and its directory). One write per batch. */
export const append = (file: string, spans: ReadonlyArray<TraceSpan>): Effect.Effect<void, StorageUnavailable> =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(path.dirname(file), { recursive: true })
      // A Date serialises as its ISO string, which is what the TraceSpan schema decodes.
      await appendFile(file, spans.map((s) => JSON.stringify(s)).join("\n") + "\n", "utf8")
    },
    catch: fileError("DeadLetters.append", file)
  })

const exists = (file: string) =>
  Effect.promise(() => stat(file).then(() => true, () => false))

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(TraceSpan))

export interface ReplayResult {
  /** Spans stored again. */
  readonly replayed: number
  /** Lines that are not a valid span; kept in `<file>.rejected` for a human to look at. */
  readonly rejected: number
}

/**
 * Stores every dead-lettered span again through `store`, in batches, then removes the file.
 * The file is first renamed to `<file>.replay`, so spans dead-lettered meanwhile go to a fresh
 * file; a replay that fails leaves `<file>.replay` behind and the next replay resumes it
 * (re-storing a span is idempotent, so batches stored before the failure do no harm).
 */
export const replay = <E extends StorageError, R>(
  file: string,
  store: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, E, R>,
  options: { readonly batchSize?: number } = {}
): Effect.Effect<ReplayResult, E | StorageUnavailable, R> =>
  Effect.gen(function*() {
    const pending = `${file}.replay`
    const batchSize = options.batchSize ?? 10_000
    if (!(yield* exists(pending))) {
      if (!(yield* exists(file))) return { replayed: 0, rejected: 0 }
      yield* Effect.tryPromise({ try: () => rename(file, pending), catch: fileError("DeadLetters.replay", file) })
    }
    const text = yield* Effect.tryPromise({ try: () => readFile(pending, "utf8"), catch: fileError("DeadLetters.replay", pending) })
    const spans: Array<TraceSpan> = []
    const rejected: Array<string> = []
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue
      const decoded = decodeLine(line)
      if (Either.isRight(decoded)) spans.push(decoded.right)
      else rejected.push(line)
    }
    for (let i = 0; i < spans.length; i += batchSize) yield* store(spans.slice(i, i + batchSize))
    if (rejected.length > 0) {
      yield* Effect.tryPromise({
        try: () => appendFile(`${file}.rejected`, rejected.join("\n") + "\n", "utf8"),
        catch: fileError("DeadLetters.replay", `${file}.rejected`)
      })
      yield* Effect.logWarning(`${rejected.length} dead-lettered lines are not valid spans; kept in ${file}.rejected`)
    }
    yield* Effect.tryPromise({ try: () => rm(pending, { force: true }), catch: fileError("DeadLetters.replay", pending) })
    return { replayed: spans.length, rejected: rejected.length }
  })
