import * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { TraceEvent, TraceSpan } from "../../domain/Trace.js"
import * as SpanVersion from "../../domain/SpanVersion.js"
import { type StorageError, StorageUnavailable } from "../../StorageError.js"
import type { TraceSinkShape } from "../../TraceSink.js"
import * as Lines from "./Lines.js"

/**
 * Dead letters: what the TraceWriter could not store, kept in a directory any number of processes
 * share (docs/DESIGN.md, "Dead letters and processes").
 *
 * - `<dir>/*.jsonl`: segments of spans (and trace records) that could not be stored because the
 *   engine was unavailable; replayed automatically (when a writer starts, or by the CLI).
 * - `<dir>/failed/*.jsonl`: spans the engine refused, each line with its reason; replayed only on
 *   purpose (`replay-dead-letters --failed`).
 * - `<dir>/rejected/*.jsonl`: lines that are not a dead letter at all, for a human.
 *
 * Every append is a new segment, written under a temporary name and renamed into place when
 * complete, so a reader never sees half a segment and appenders never share a file. A replayer
 * claims a segment by renaming it to `<segment>.claimed-<pid>-<token>`: one rename wins. It
 * removes the segment once every line is stored or moved aside, and renames it back when the
 * engine is unavailable. A claim whose process is gone (SIGKILL) is claimed again by the next
 * replay. A span keeps the version stamped when it was written: storing it twice is harmless
 * (the same copy), and an older copy never wins over a newer one.
 *
 * Segments are read and written as streams, a few hundred lines at a time, and a line longer than
 * `maxLineBytes` is refused by its number: no file, nor any line, is held whole.
 */

/** This process in the names of its segments and claims: its pid, and a token that tells it from an earlier process with the same pid. */
const owner = { pid: process.pid, token: randomBytes(4).toString("hex") }
const ownerTag = `${owner.pid}-${owner.token}`
let segmentCounter = 0

const segmentSuffix = ".jsonl"
const claimMark = ".claimed-"
const tempPrefix = ".tmp-"

export const failedDir = (dir: string) => path.join(dir, "failed")
export const rejectedDir = (dir: string) => path.join(dir, "rejected")

const fileError = (operation: string, file: string) => (cause: unknown) =>
  new StorageUnavailable({
    backend: "storage",
    operation,
    message: `dead letters ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** Lines per write: small strings, few system calls. */
const linesPerWrite = 500

/** What a batch holds: spans with their versions (`versions[i]` of `spans[i]`), and traces' own records. */
export interface Letters {
  readonly spans: ReadonlyArray<TraceSpan>
  readonly versions: ReadonlyArray<SpanVersion.SpanVersion>
  readonly records?: ReadonlyArray<TraceEvent>
}

/** A span the engine refused, its version, and why. */
export interface Refused {
  readonly span: TraceSpan
  readonly version: SpanVersion.SpanVersion
  readonly reason: string
}

/** A trace record the engine refused, and why. */
export interface RefusedRecord {
  readonly record: TraceEvent
  readonly reason: string
}

const recordLine = (r: TraceEvent) =>
  JSON.stringify({ trace: { traceId: r.traceId, tenantId: r.tenantId, createdAt: r.createdAt } })

/**
 * Writes lines as a new segment of `dir`: under a temporary name, synced, then renamed into place
 * (a reader sees the whole segment or none of it).
 */
const writeSegment = (dir: string, lines: Stream.Stream<string>): Effect.Effect<string, StorageUnavailable, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const n = segmentCounter++
    const temp = path.join(dir, `${tempPrefix}${ownerTag}-${n}`)
    // Named by time first: a replay takes the oldest first (versions, not order, decide last write).
    const final = path.join(dir, `${String(Date.now()).padStart(15, "0")}-${ownerTag}-${n}${segmentSuffix}`)
    const write = Effect.gen(function*() {
      yield* fs.makeDirectory(dir, { recursive: true })
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "wx" })
        const encoder = new TextEncoder()
        yield* lines.pipe(
          Stream.grouped(linesPerWrite),
          Stream.runForEach((group) => file.writeAll(encoder.encode(Chunk.join(group, "\n") + "\n")))
        )
        yield* file.sync
      }))
      yield* fs.rename(temp, final)
    })
    yield* write.pipe(
      Effect.tapError(() => fs.remove(temp, { force: true }).pipe(Effect.ignore)),
      Effect.mapError(fileError("DeadLetters.append", dir))
    )
    return final
  })

const header = (reason: string, spans: number, traces: number) =>
  JSON.stringify({ deadLetter: { reason, at: new Date().toISOString(), spans, traces } })

/**
 * Appends spans and trace records that could not be stored because the engine was unavailable
 * (replayed automatically later), as one new segment with a header line giving the reason.
 */
export const append = (dir: string, letters: Letters, reason: string): Effect.Effect<void, StorageUnavailable, FileSystem.FileSystem> => {
  const records = letters.records ?? []
  const lines = Stream.make(header(reason, letters.spans.length, records.length)).pipe(
    Stream.concat(Stream.fromIterable(letters.spans).pipe(
      Stream.zipWithIndex,
      Stream.map(([s, i]) => JSON.stringify({ version: letters.versions[i], span: s }))
    )),
    Stream.concat(Stream.fromIterable(records).pipe(Stream.map(recordLine)))
  )
  return Effect.asVoid(writeSegment(dir, lines))
}

/** Appends spans and records the engine refused to `<dir>/failed`, each line with its reason (replayed only on purpose). */
export const appendFailed = (
  dir: string,
  refused: ReadonlyArray<Refused>,
  refusedRecords: ReadonlyArray<RefusedRecord> = []
): Effect.Effect<void, StorageUnavailable, FileSystem.FileSystem> => {
  const lines = Stream.make(header(`refused: ${summarize(refused)}`, refused.length, refusedRecords.length)).pipe(
    Stream.concat(Stream.fromIterable(refused).pipe(Stream.map((r) => JSON.stringify({ version: r.version, reason: r.reason, span: r.span })))),
    Stream.concat(Stream.fromIterable(refusedRecords).pipe(Stream.map((r) => JSON.stringify({ reason: r.reason, trace: { traceId: r.record.traceId, tenantId: r.record.tenantId, createdAt: r.record.createdAt } }))))
  )
  return Effect.asVoid(writeSegment(failedDir(dir), lines))
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
  store: (spans: ReadonlyArray<TraceSpan>, versions: ReadonlyArray<SpanVersion.SpanVersion>) => Effect.Effect<void, StorageError, R>,
  spans: ReadonlyArray<TraceSpan>,
  versions: ReadonlyArray<SpanVersion.SpanVersion>,
  options: { readonly maxCalls?: number } = {}
): Effect.Effect<Array<Refused>, StorageUnavailable, R> =>
  // The state is made per run: the writer retries this very effect after StorageUnavailable.
  Effect.suspend(() => {
    const maxCalls = Math.max(1, options.maxCalls ?? maxIsolationCalls)
    const refused: Array<Refused> = []
    // Parts still to try, as [from, to) ranges, in order; each is tried once.
    const parts: Array<readonly [number, number]> = [[0, spans.length]]
    let calls = 0
    const next: Effect.Effect<void, StorageUnavailable, R> = Effect.suspend(() => {
      const part = parts.shift()
      if (part === undefined) return Effect.void
      const [from, to] = part
      if (calls >= maxCalls) {
        for (const [a, b] of [part, ...parts.splice(0)]) {
          for (let i = a; i < b; i++) {
            refused.push({ span: spans[i]!, version: versions[i]!, reason: `not isolated within ${maxCalls} inserts (refused in a part of ${to - from})` })
          }
        }
        return Effect.void
      }
      calls++
      return Effect.suspend(() => from === 0 && to === spans.length ? store(spans, versions) : store(spans.slice(from, to), versions.slice(from, to))).pipe(
        Effect.catchAllCause((cause): Effect.Effect<void, StorageUnavailable, R> => {
          if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
          const failure = Cause.failureOption(cause)
          if (failure._tag === "Some" && failure.value._tag === "StorageUnavailable") return Effect.fail(failure.value)
          if (to - from === 1) refused.push({ span: spans[from]!, version: versions[from]!, reason: describeCause(cause) })
          else {
            const half = from + Math.ceil((to - from) / 2)
            parts.push([from, half], [half, to])
          }
          return Effect.void
        }),
        Effect.zipRight(next)
      )
    })
    return Effect.as(next, refused)
  })


/**
 * Stores trace records: all at once, and when that is refused (not unavailable), each alone, so
 * that one the engine refuses does not take the others. Returns those refused, with their reason.
 */
export const storeRecordsIsolating = <R>(
  store: (records: ReadonlyArray<TraceEvent>) => Effect.Effect<void, StorageError, R>,
  records: ReadonlyArray<TraceEvent>
): Effect.Effect<Array<RefusedRecord>, StorageUnavailable, R> => {
  const alone = (r: TraceEvent) =>
    store([r]).pipe(
      Effect.as(Array.of<RefusedRecord>()),
      Effect.catchAllCause((cause) => refusal(cause, (reason) => [{ record: r, reason }]))
    )
  const refusal = <A>(cause: Cause.Cause<StorageError>, refused: (reason: string) => A): Effect.Effect<A, StorageUnavailable> => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some" && failure.value._tag === "StorageUnavailable") return Effect.fail(failure.value)
    return Effect.succeed(refused(describeCause(cause)))
  }
  return records.length === 0 ? Effect.succeed([]) : store(records).pipe(
    Effect.as(Array.of<RefusedRecord>()),
    Effect.catchAllCause((cause) =>
      Effect.flatMap(refusal(cause, () => true), () =>
        Effect.map(Effect.forEach(records, alone), (lists) => lists.flat()))
    )
  )
}

/** One line summing up why spans were refused: each distinct reason once, with its count. */
export const summarize = (refused: ReadonlyArray<{ readonly reason: string }>): string => {
  const counts = new Map<string, number>()
  for (const r of refused) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1)
  return [...counts].slice(0, 5).map(([reason, n]) => (counts.size === 1 ? reason : `${n}× ${reason}`)).join("; ") +
    (counts.size > 5 ? `; and ${counts.size - 5} other reasons` : "")
}

export interface ReplayResult {
  /** Spans stored again. */
  readonly replayed: number
  /** Trace records stored again. */
  readonly tracesReplayed: number
  /** Lines that are not a dead letter (or longer than `maxLineBytes`); kept in `<dir>/rejected` with their line number. */
  readonly rejected: number
  /** Spans and trace records the engine refused (not for being unavailable); moved to `<dir>/failed` with their reason. */
  readonly failed: number
}

export interface ReplayOptions {
  /** Spans per insert. Default 5,000. */
  readonly batchSize?: number
  /** The longest line read; a longer one is refused by its number and the replay goes on. Default 8 MiB. */
  readonly maxLineBytes?: number
  /** Replay `<dir>/failed` (spans the engine refused before, on purpose, once the cause is fixed) instead of `<dir>`. */
  readonly failed?: boolean
}

/** A parsed line: a header (skipped), a span with its version, a trace record, or not a dead letter. */
type Parsed =
  | { readonly _tag: "Header" }
  | { readonly _tag: "Span"; readonly span: TraceSpan; readonly version: SpanVersion.SpanVersion }
  | { readonly _tag: "Record"; readonly record: TraceEvent }
  | { readonly _tag: "Bad"; readonly reason: string }

const decodeSpan = Schema.decodeUnknownEither(TraceSpan)
const decodeRecord = Schema.decodeUnknownEither(TraceEvent)

const parse = (text: string): Parsed => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { _tag: "Bad", reason: "not JSON" }
  }
  if (value === null || typeof value !== "object") return { _tag: "Bad", reason: "not an object" }
  const o = value as Record<string, unknown>
  if ("deadLetter" in o) return { _tag: "Header" }
  if ("trace" in o) {
    const decoded = decodeRecord({ ...(o.trace as object), spans: [] })
    return Either.isRight(decoded) ? { _tag: "Record", record: decoded.right } : { _tag: "Bad", reason: "not a trace record" }
  }
  // `{"version":…,"span":…}`, or a bare span (a file from before versions were carried: stamped now).
  const versioned = "span" in o && "version" in o
  if (versioned && !(Number.isSafeInteger(o.version) && (o.version as number) >= 0)) return { _tag: "Bad", reason: "not a valid version" }
  const decoded = decodeSpan(versioned ? o.span : o)
  return Either.isRight(decoded)
    ? { _tag: "Span", span: decoded.right, version: versioned ? (o.version as number) : SpanVersion.next() }
    : { _tag: "Bad", reason: "not a valid span" }
}

/** Whether the process that made a claim is gone: another pid that no longer runs, or this pid under another token (an earlier process). */
const claimIsStale = (claim: string): boolean => {
  const match = /^(\d+)-([0-9a-f]+)$/.exec(claim)
  if (match === null) return true
  const pid = Number(match[1])
  if (match[2] === owner.token && pid === owner.pid) return false
  if (pid === owner.pid) return true
  try {
    process.kill(pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"
  }
}

/** The segments of `dir` that may be claimed now: unclaimed ones, and those whose claimer is gone. */
const claimable = (fs: FileSystem.FileSystem, dir: string) =>
  Effect.map(
    fs.readDirectory(dir).pipe(Effect.catchTag("SystemError", (e) => e.reason === "NotFound" ? Effect.succeed([]) : Effect.fail(e))),
    (names) =>
      names.flatMap((name) => {
        if (name.startsWith(tempPrefix)) return []
        const at = name.indexOf(claimMark)
        if (at === -1) return name.endsWith(segmentSuffix) ? [{ name, segment: name }] : []
        return claimIsStale(name.slice(at + claimMark.length)) ? [{ name, segment: name.slice(0, at) }] : []
      }).sort((a, b) => (a.segment < b.segment ? -1 : 1))
  )

/**
 * A file of the old layout (one `dead-letters.jsonl`, and its `.replay` left by an interrupted
 * replay) beside the directory: moved in as a segment, so no dead letter of an earlier version is left behind.
 */
const adoptLegacy = (fs: FileSystem.FileSystem, dir: string) =>
  Effect.forEach([`${dir}${segmentSuffix}`, `${dir}${segmentSuffix}.replay`], (file) =>
    Effect.flatMap(fs.stat(file).pipe(Effect.option), (info) =>
      info._tag === "Some" && info.value.type === "File"
        ? Effect.zipRight(
          fs.makeDirectory(dir, { recursive: true }),
          fs.rename(file, path.join(dir, `000000000000000-legacy-${path.basename(file)}-${ownerTag}${segmentSuffix}`)).pipe(Effect.ignore)
        )
        : Effect.void), { discard: true })

/**
 * Stores the dead letters of `dir` again through the sink (or those of `<dir>/failed` with
 * `failed: true`), each segment claimed first, streamed in batches of `batchSize`, then removed.
 * Spans the engine still refuses (not for being unavailable) are isolated ({@link storeIsolating})
 * and moved to `<dir>/failed` with their reason, so one bad span never blocks every start; lines
 * that are not dead letters go to `<dir>/rejected` with their number. `StorageUnavailable` stops
 * the replay and gives the segment back for the next one. Other processes may append and replay
 * at the same time.
 */
export const replay = (
  dir: string,
  sink: TraceSinkShape,
  options: ReplayOptions = {}
): Effect.Effect<ReplayResult, StorageUnavailable, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const batchSize = options.batchSize ?? 5_000
    const maxLineBytes = options.maxLineBytes ?? Lines.defaultMaxLineBytes
    const source = options.failed === true ? failedDir(dir) : dir
    const totals = { replayed: 0, tracesReplayed: 0, rejected: 0, failed: 0 }
    if (options.failed !== true) yield* adoptLegacy(fs, dir).pipe(Effect.mapError(fileError("DeadLetters.replay", dir)))

    const replaySegment = (claimed: string, segment: string) =>
      Effect.gen(function*() {
        const label = path.basename(segment)
        const bad: Array<string> = []
        const spans: Array<TraceSpan> = []
        const versions: Array<SpanVersion.SpanVersion> = []
        const records: Array<TraceEvent> = []
        const flushBad = Effect.suspend(() => {
          if (bad.length === 0) return Effect.void
          const lines = bad.splice(0)
          totals.rejected += lines.length
          return Effect.zipRight(
            writeSegment(rejectedDir(dir), Stream.fromIterable(lines)),
            Effect.logWarning(`DeadLetters.replay: ${lines.length} lines of ${label} are not dead letters; kept in ${rejectedDir(dir)}`)
          )
        })
        const store = Effect.suspend(() => {
          const batch = spans.splice(0)
          const batchVersions = versions.splice(0)
          const batchRecords = records.splice(0)
          return Effect.gen(function*() {
            const refused = batch.length === 0 ? [] : yield* storeIsolating(sink.storeSpans, batch, batchVersions)
            const refusedRecords = yield* storeRecordsIsolating(sink.storeTraces, batchRecords)
            totals.replayed += batch.length - refused.length
            totals.tracesReplayed += batchRecords.length - refusedRecords.length
            if (refused.length + refusedRecords.length > 0) {
              yield* appendFailed(dir, refused, refusedRecords)
              yield* Effect.logError(`DeadLetters.replay: ${refused.length + refusedRecords.length} dead letters still refused, moved to ${failedDir(dir)}: ${summarize([...refused, ...refusedRecords])}`)
              totals.failed += refused.length + refusedRecords.length
            }
          })
        })
        yield* fs.stream(claimed).pipe(
          (bytes) => Lines.split(bytes, maxLineBytes),
          Stream.mapError(fileError("DeadLetters.replay", claimed)),
          Stream.runForEach((line) => {
            if (line._tag === "TooLong") {
              bad.push(JSON.stringify({ segment: label, line: line.number, reason: `line ${line.number} is ${line.bytes} bytes, over maxLineBytes (${maxLineBytes})` }))
              return bad.length >= linesPerWrite ? flushBad : Effect.void
            }
            if (line.text.trim() === "") return Effect.void
            const parsed = parse(line.text)
            switch (parsed._tag) {
              case "Header":
                return Effect.void
              case "Bad":
                bad.push(JSON.stringify({ segment: label, line: line.number, reason: parsed.reason, text: line.text }))
                return bad.length >= linesPerWrite ? flushBad : Effect.void
              case "Record":
                records.push(parsed.record)
                return records.length >= batchSize ? store : Effect.void
              case "Span":
                spans.push(parsed.span)
                versions.push(parsed.version)
                return spans.length >= batchSize ? store : Effect.void
            }
          })
        )
        yield* store
        yield* flushBad
        yield* fs.remove(claimed).pipe(Effect.mapError(fileError("DeadLetters.replay", claimed)))
      })

    const claimAndReplay = (name: string, segment: string) =>
      Effect.gen(function*() {
        const claimed = path.join(source, `${segment}${claimMark}${ownerTag}`)
        // One rename wins: a segment another replayer claimed first is gone under this name.
        const won = yield* fs.rename(path.join(source, name), claimed).pipe(
          Effect.as(true),
          Effect.catchTag("SystemError", (e) => e.reason === "NotFound" ? Effect.succeed(false) : Effect.fail(e)),
          Effect.mapError(fileError("DeadLetters.replay", name))
        )
        if (!won) return
        yield* replaySegment(claimed, segment).pipe(
          // Unavailable: the segment goes back, whole, for the next replay (what was stored is stored again, harmlessly).
          Effect.tapError(() => fs.rename(claimed, path.join(source, segment)).pipe(Effect.ignore))
        )
      })

    // Segments appended while this replay runs are replayed too, for a few rounds (a replay that
    // races endless appends still ends; what is left waits for the next one).
    for (let round = 0; round < 3; round++) {
      const found = yield* claimable(fs, source).pipe(Effect.mapError(fileError("DeadLetters.replay", source)))
      if (found.length === 0) return totals
      const before = totals.replayed + totals.tracesReplayed + totals.rejected + totals.failed
      for (const { name, segment } of found) yield* claimAndReplay(name, segment)
      // Every one claimed by another replayer: that one finishes them.
      if (totals.replayed + totals.tracesReplayed + totals.rejected + totals.failed === before) return totals
    }
    return totals
  })

/** What is in a dead-letter directory now: segments waiting for replay and refused ones, as counts of files. */
export const pending = (dir: string): Effect.Effect<{ readonly segments: number; readonly failed: number }, StorageUnavailable, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const count = (d: string) =>
      fs.readDirectory(d).pipe(
        Effect.map((names) => names.filter((n) => n.endsWith(segmentSuffix) || n.includes(claimMark)).length),
        Effect.catchTag("SystemError", (e) => e.reason === "NotFound" ? Effect.succeed(0) : Effect.fail(e)),
        Effect.mapError(fileError("DeadLetters.pending", d))
      )
    const legacy = yield* fs.exists(`${dir}${segmentSuffix}`).pipe(Effect.orElseSucceed(() => false))
    return { segments: (yield* count(dir)) + (legacy ? 1 : 0), failed: yield* count(failedDir(dir)) }
  })
