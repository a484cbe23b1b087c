import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { createReadStream, statSync } from "node:fs"
import { createInterface } from "node:readline"
import { TraceEvent, TraceSpan } from "../domain/Trace.js"
import type { StorageError } from "../StorageError.js"

export type Parsed = { readonly _tag: "trace"; readonly trace: TraceEvent } | { readonly _tag: "span"; readonly span: TraceSpan }

const decodeTrace = Schema.decodeUnknownEither(TraceEvent, { errors: "first" })
const decodeSpan = Schema.decodeUnknownEither(TraceSpan, { errors: "first" })

const reason = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return issue === undefined ? "invalid" : `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`
}

/**
 * Decodes one line: a whole trace when it has `spans`, else a single span. The reason of a bad
 * line names the field (`spans.0.securityScore: …`).
 */
export const parseLine = (line: string): Either.Either<Parsed, string> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (error) {
    return Either.left(`not JSON: ${(error as Error).message}`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return Either.left("not a JSON object")
  return "spans" in json
    ? Either.map(Either.mapLeft(decodeTrace(json), reason), (trace): Parsed => ({ _tag: "trace", trace }))
    : Either.map(Either.mapLeft(decodeSpan(json), reason), (span): Parsed => ({ _tag: "span", span }))
}

export interface Summary {
  readonly lines: number
  readonly spans: number
  readonly traces: number
  readonly bad: number
}

export interface Sinks<E, R> {
  readonly span: (span: TraceSpan) => Effect.Effect<void, E, R>
  /** A trace's own record (its createdAt, or a trace with no spans); its spans go to `span`. */
  readonly trace: (trace: TraceEvent) => Effect.Effect<void, E, R>
  readonly badLine: (line: number, reason: string) => Effect.Effect<void>
  readonly progress: (bytes: number, totalBytes: number, lines: number) => Effect.Effect<void>
}

/**
 * Streams a JSONL file line by line (memory stays flat whatever its size; the sinks' back-pressure
 * paces the reading), decoding each line; a bad line is reported with its number and skipped.
 */
export const ingestFile = <E, R>(file: string, sinks: Sinks<E, R>): Effect.Effect<Summary, E | StorageError | Error, R> =>
  Effect.acquireUseRelease(
    Effect.try({ try: () => ({ size: statSync(file).size, stream: createReadStream(file) }), catch: (e) => new Error(`cannot read ${file}: ${(e as Error).message}`) }),
    ({ size, stream }) =>
      Effect.gen(function*() {
        const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]()
        let n = 0, spans = 0, traces = 0, bad = 0, bytes = 0
        while (true) {
          const next = yield* Effect.promise(() => lines.next())
          if (next.done === true) break
          n++
          bytes += Buffer.byteLength(next.value) + 1
          if (next.value.trim() === "") continue
          const parsed = parseLine(next.value)
          if (Either.isLeft(parsed)) {
            bad++
            yield* sinks.badLine(n, parsed.left)
          } else if (parsed.right._tag === "span") {
            spans++
            yield* sinks.span(parsed.right.span)
          } else {
            traces++
            yield* sinks.trace(parsed.right.trace)
            for (const span of parsed.right.trace.spans) {
              spans++
              yield* sinks.span(span)
            }
          }
          if (n % 1000 === 0) yield* sinks.progress(bytes, size, n)
        }
        yield* sinks.progress(size, size, n)
        return { lines: n, spans, traces, bad }
      }),
    ({ stream }) => Effect.sync(() => stream.destroy())
  )
