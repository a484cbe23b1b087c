import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { TraceSpan } from "../domain/Trace.js"
import { type StorageError, StorageUnavailable } from "../StorageError.js"

/**
 * A local JSON Lines file of spans that could not be stored: one span a line, each batch preceded
 * by a header line `{"deadLetter":{"reason":…,"at":…,"spans":…}}`; appended, never dropped.
 * Written and read as streams, a few hundred lines at a time: a batch of 100k spans, or a file
 * grown through a long outage, never becomes one string (V8 caps a string at 512 MiB and the heap
 * well before that). `replay` stores the spans again once the engine is back.
 */

const fileError = (operation: string, file: string) => (cause: unknown) =>
  new StorageUnavailable({
    backend: "storage",
    operation,
    message: `dead-letter file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** Lines per write: small strings, few system calls. */
const linesPerWrite = 500

const header = (reason: string, spans: number) =>
  JSON.stringify({ deadLetter: { reason, at: new Date().toISOString(), spans } })

const isHeader = (line: string) => line.startsWith("{\"deadLetter\":")

const appendLines = (file: string, lines: Stream.Stream<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(path.dirname(file), { recursive: true })
    yield* lines.pipe(
      Stream.grouped(linesPerWrite),
      Stream.map((group) => Chunk.join(group, "\n") + "\n"),
      Stream.encodeText,
      Stream.run(fs.sink(file, { flag: "a" }))
    )
  }).pipe(Effect.provide(NodeFileSystem.layer))

/**
 * Appends spans to the file (creating it and its directory), after a header line with the reason
 * they could not be stored. A Date serialises as its ISO string, which is what the TraceSpan schema decodes.
 */
export const append = (file: string, spans: ReadonlyArray<TraceSpan>, reason = "not stored"): Effect.Effect<void, StorageUnavailable> =>
  appendLines(file, Stream.make(header(reason, spans.length)).pipe(Stream.concat(Stream.fromIterable(spans).pipe(Stream.map((s) => JSON.stringify(s))))))
    .pipe(Effect.mapError(fileError("DeadLetters.append", file)))

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(TraceSpan))

const parse = (line: string): Either.Either<TraceSpan, string> => {
  const decoded = decodeLine(line)
  return Either.isRight(decoded) ? Either.right(decoded.right) : Either.left(line)
}

export interface ReplayResult {
  /** Spans stored again. */
  readonly replayed: number
  /** Lines that are not a valid span; kept in `<file>.rejected` for a human to look at. */
  readonly rejected: number
  /** Spans the engine still refused (not for being unavailable); moved aside to `<file>.failed` with the reason. */
  readonly failed: number
}

/** A span the store refused, and why. */
export interface Refused {
  readonly span: TraceSpan
  readonly reason: string
}

/** A cause in one line, for a log and a dead-letter header: the failure's tag and message, or the defect's first line. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const e = failure.value
    return e !== null && typeof e === "object" && "message" in e ? `${String((e as { _tag?: unknown })._tag ?? "Error")}: ${String(e.message)}` : String(e)
  }
  return `defect: ${Cause.pretty(cause).split("\n")[0] ?? "unknown"}`
}

/**
 * Inserts one batch failure may send to isolate refused rows ({@link storeIsolating}): enough to
 * find a few bad spans in a batch of thousands (each costs about 2·log2(n) inserts), never a storm.
 */
export const maxIsolationCalls = 64

/**
 * Stores spans through `store`. A batch refused for any reason but `StorageUnavailable` (a
 * row-specific refusal of the engine, a defect such as a throwing sink or a row that cannot be
 * converted) is split in halves, breadth first, until the refused spans are alone: those are
 * returned with their reason, every other span is stored. `StorageUnavailable` fails the whole call
 * (the caller retries or keeps the batch): a failure of the whole batch is never split. At most
 * `maxCalls` calls of `store` (default {@link maxIsolationCalls}): the parts still refused then are
 * returned unsplit, with their reason, rather than sending 2n−1 inserts. Breadth first, the parts
 * left are the smallest ones that hold refused spans: every clean half was stored on the way.
 */
export const storeIsolating = <R>(
  store: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, StorageError, R>,
  spans: ReadonlyArray<TraceSpan>,
  options: { readonly maxCalls?: number } = {}
): Effect.Effect<Array<Refused>, StorageUnavailable, R> => {
  const maxCalls = Math.max(1, options.maxCalls ?? maxIsolationCalls)
  const refused: Array<Refused> = []
  // Parts still to try, in order; each is tried once.
  const parts: Array<ReadonlyArray<TraceSpan>> = [spans]
  let calls = 0
  const next: Effect.Effect<void, StorageUnavailable, R> = Effect.suspend(() => {
    const list = parts.shift()
    if (list === undefined) return Effect.void
    if (calls >= maxCalls) {
      const left = [list, ...parts.splice(0)].flat()
      for (const span of left) refused.push({ span, reason: `not isolated within ${maxCalls} inserts (refused in a part of ${list.length})` })
      return Effect.void
    }
    calls++
    return Effect.suspend(() => store(list)).pipe(
      Effect.catchAllCause((cause): Effect.Effect<void, StorageUnavailable, R> => {
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some" && failure.value._tag === "StorageUnavailable") return Effect.fail(failure.value)
        if (list.length === 1) refused.push({ span: list[0]!, reason: describeCause(cause) })
        else {
          const half = Math.ceil(list.length / 2)
          parts.push(list.slice(0, half), list.slice(half))
        }
        return Effect.void
      }),
      Effect.zipRight(next)
    )
  })
  return Effect.as(next, refused)
}

/** One line summing up why spans were refused: each distinct reason once, with its count. */
export const summarize = (refused: ReadonlyArray<Refused>): string => {
  const counts = new Map<string, number>()
  for (const r of refused) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1)
  return [...counts].slice(0, 5).map(([reason, n]) => (counts.size === 1 ? reason : `${n}× ${reason}`)).join("; ") +
    (counts.size > 5 ? `; and ${counts.size - 5} other reasons` : "")
}

/**
 * Stores every dead-lettered span again through `store`, streamed in batches of `batchSize`, then
 * removes the file. The file is first renamed to `<file>.replay`, so spans dead-lettered meanwhile
 * go to a fresh file. A pending `<file>.replay` (a replay interrupted by an engine outage) is
 * resumed first, then the main file is replayed (re-storing a span is idempotent, so batches
 * stored before an interruption do no harm). `StorageUnavailable` stops the replay and leaves the
 * file for the next one; spans the engine refuses for any other reason are isolated
 * ({@link storeIsolating}) and moved aside to `<file>.failed` with their reason, so one bad batch
 * never blocks every start. Lines that are not a span go to `<file>.rejected`.
 */
export const replay = <R>(
  file: string,
  store: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, StorageError, R>,
  options: { readonly batchSize?: number } = {}
): Effect.Effect<ReplayResult, StorageUnavailable, R> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pending = `${file}.replay`
    const batchSize = options.batchSize ?? 5_000
    let replayed = 0
    let rejected = 0
    let failed = 0
    const replayPending = Effect.gen(function*() {
      yield* fs.stream(pending).pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filter((line) => line.trim() !== "" && !isHeader(line)),
        Stream.map(parse),
        Stream.grouped(batchSize),
        Stream.mapError(fileError("DeadLetters.replay", pending)),
        Stream.runForEach((group) =>
          Effect.gen(function*() {
            const spans: Array<TraceSpan> = []
            const bad: Array<string> = []
            for (const line of group) {
              if (Either.isRight(line)) spans.push(line.right)
              else bad.push(line.left)
            }
            if (bad.length > 0) {
              yield* appendLines(`${file}.rejected`, Stream.fromIterable(bad)).pipe(Effect.mapError(fileError("DeadLetters.replay", `${file}.rejected`)))
              yield* Effect.logWarning(`${bad.length} dead-lettered lines are not valid spans; kept in ${file}.rejected`)
              rejected += bad.length
            }
            if (spans.length === 0) return
            const refused = yield* storeIsolating(store, spans)
            replayed += spans.length - refused.length
            if (refused.length > 0) {
              const reason = summarize(refused)
              yield* append(`${file}.failed`, refused.map((r) => r.span), reason)
              yield* Effect.logError(`DeadLetters.replay: ${refused.length} spans still refused, moved aside to ${file}.failed: ${reason}`)
              failed += refused.length
            }
          })
        )
      )
      yield* fs.remove(pending, { force: true }).pipe(Effect.mapError(fileError("DeadLetters.replay", pending)))
    })
    const exists = (f: string) => fs.exists(f).pipe(Effect.mapError(fileError("DeadLetters.replay", f)))
    if (yield* exists(pending)) yield* replayPending
    if (yield* exists(file)) {
      yield* fs.rename(file, pending).pipe(Effect.mapError(fileError("DeadLetters.replay", file)))
      yield* replayPending
    }
    return { replayed, rejected, failed }
  }).pipe(Effect.provide(NodeFileSystem.layer))
