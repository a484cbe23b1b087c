import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { createReadStream } from "node:fs"
import { createGunzip } from "node:zlib"
import { newSpanId, type TenantId, uuid } from "../domain/Ids.js"
import { OtlpDecodeError } from "../otlp/OtlpDecodeError.js"
import * as OtlpJson from "../otlp/OtlpJson.js"
import * as OtlpSpans from "../otlp/OtlpSpans.js"
import { TraceEvent, TraceSpan } from "../domain/Trace.js"
import * as TraceSpanJson from "../domain/TraceSpanJson.js"
import * as CheckedSpans from "../ingest/CheckedSpans.js"
import * as Lines from "../ingest/Lines.js"
import { CommandFailed } from "./Commands.js"

export type Parsed =
  | { readonly _tag: "trace"; readonly trace: TraceEvent }
  | { readonly _tag: "span"; readonly span: TraceSpan }
  /** An OTLP line: its spans (of the tenant given on the command line) and why others were refused. */
  | { readonly _tag: "spans"; readonly spans: ReadonlyArray<TraceSpan>; readonly refused: ReadonlyArray<string> }

const decodeTrace = Schema.decodeUnknownEither(TraceEvent, { errors: "first" })
const decodeSpan = Schema.decodeUnknownEither(TraceSpan, { errors: "first" })

const reason = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return issue === undefined ? "invalid" : `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/** Each default under a field the line left out (a field given as null or a wrong type stays, for decoding to refuse). */
const filled = (value: unknown, defaults: Record<string, () => unknown>): unknown => {
  if (!isObject(value)) return value
  const missing = Object.keys(defaults).filter((key) => !(key in value))
  return missing.length === 0 ? value : { ...value, ...Object.fromEntries(missing.map((key) => [key, defaults[key]!()])) }
}

const now = () => new Date().toISOString()

const each = (value: unknown, f: (item: unknown) => unknown) => (Array.isArray(value) ? value.map(f) : value)

/**
 * What `TraceSpan.make` fills, filled the same way for a line that leaves it out: a fresh span id,
 * the start time (now), and the ids and times of findings, events and agent actions. Collections
 * default to empty in the schema itself.
 */
const fillSpan = (value: unknown): unknown => {
  const span = filled(value, { spanId: newSpanId, startTime: now })
  if (!isObject(span)) return span
  const stamped = { id: uuid, timestamp: now }
  return {
    ...span,
    ...("securityFindings" in span ? { securityFindings: each(span.securityFindings, (f) => filled(f, { id: uuid, detectedAt: now })) } : {}),
    ...("events" in span ? { events: each(span.events, (e) => filled(e, stamped)) } : {}),
    ...("agentActions" in span ? { agentActions: each(span.agentActions, (a) => filled(a, stamped)) } : {})
  }
}

/** What `TraceEvent.make` fills (createdAt: now), and each span as {@link fillSpan}. */
const fillTrace = (value: Json): unknown => {
  const trace = filled(value, { createdAt: now }) as Json
  return { ...trace, spans: each(trace.spans, fillSpan) }
}

/**
 * Decodes one line: a whole trace when it has `spans`, else a single span, with what a line may
 * leave out filled as the constructors fill it. The reason of a bad line names the field
 * (`spans.0.securityScore: …`).
 */
export const parseLine = (line: string): Either.Either<Parsed, string> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (error) {
    return Either.left(`not JSON: ${(error as Error).message}`)
  }
  if (!isObject(json)) return Either.left("not a JSON object")
  if ("spans" in json) return Either.map(Either.mapLeft(decodeTrace(fillTrace(json)), reason), (trace): Parsed => ({ _tag: "trace", trace }))
  // The schema only for what the fast path refuses: it decides, and says why.
  const span = TraceSpanJson.fromJson(json)
  return span !== undefined
    ? Either.right({ _tag: "span", span })
    : Either.map(Either.mapLeft(decodeSpan(fillSpan(json)), reason), (span): Parsed => ({ _tag: "span", span }))
}

/**
 * Decodes one line of the OpenTelemetry Collector's file exporter (an ExportTraceServiceRequest in OTLP/JSON) into
 * spans of `tenantId`, through the same mapping as the OTLP receiver. A line whose every span is refused is bad.
 */
export const parseOtlpLine = (tenantId: TenantId) => (line: string): Either.Either<Parsed, string> => {
  try {
    const { refused, spans } = OtlpSpans.toTraceSpans(tenantId, OtlpJson.decodeUnsafe(line))
    return spans.length === 0 && refused.length > 0 ? Either.left(refused.join("; ")) : Either.right({ _tag: "spans", spans, refused })
  } catch (error) {
    return Either.left(error instanceof OtlpDecodeError ? error.message : String(error))
  }
}

/** Where the lines come from: a file or standard input (`-`), either one gzip-compressed or not. */
export interface Input {
  /** For messages: the path, or `standard input`. */
  readonly name: string
  /** Bytes of the input as stored (compressed for gzip): what progress is measured against; unknown for standard input. */
  readonly size: Option.Option<number>
  /** The input's bytes as read, before decompression. */
  readonly bytes: Stream.Stream<Uint8Array, CommandFailed>
}

const reasons: Partial<Record<string, string>> = {
  NotFound: "no such file",
  PermissionDenied: "permission denied",
  BadResource: "not a readable file"
}

/** A file that cannot be read is one line: what the file is and why, never a stack. */
const unreadable = (name: string) => (error: PlatformError): CommandFailed =>
  new CommandFailed({ message: `cannot read ${name}: ${(error._tag === "SystemError" ? reasons[error.reason] : undefined) ?? error.message}` })

/** Opens `-` (standard input) or a file, refusing a missing file, a directory or an unreadable file with one line. */
export const open = (input: string): Effect.Effect<Input, CommandFailed, FileSystem.FileSystem> =>
  input === "-"
    ? Effect.succeed({ name: "standard input", size: Option.none(), bytes: NodeStream.stdin })
    : Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const info = yield* Effect.mapError(fs.stat(input), unreadable(input))
      if (info.type === "Directory") return yield* new CommandFailed({ message: `cannot read ${input}: it is a directory` })
      // Checked now, so an unreadable file fails before anything starts rather than mid-stream.
      yield* Effect.mapError(fs.access(input, { readable: true }), unreadable(input))
      return {
        name: input,
        size: info.type === "File" ? Option.some(Number(info.size)) : Option.none(),
        // A named pipe or a device (`/dev/stdin`) cannot be read at offsets, as FileSystem.stream reads.
        bytes: info.type === "File"
          ? fs.stream(input).pipe(Stream.mapError(unreadable(input)))
          : NodeStream.fromReadable(() => createReadStream(input), (cause) => new CommandFailed({ message: `cannot read ${input}: ${String(cause)}` }), {
            // A pipe whose writer stays open never finishes closing: the process exits without waiting for it.
            closeOnDone: false
          })
      }
    })

/**
 * Standard input copied whole to a temporary file, removed with the scope, read from there. The
 * embedded ClickHouse engine appends a non-terminal standard input to the data of every INSERT it
 * runs (clickhouse-local's behaviour): it must find standard input at its end before it starts.
 */
export const spooled = (input: Input): Effect.Effect<Input, CommandFailed, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (error: PlatformError) => new CommandFailed({ message: `cannot copy ${input.name} to a temporary file: ${error.message}` })
    const file = yield* Effect.mapError(fs.makeTempFileScoped({ prefix: "llmtrace-ingest-" }), fail)
    yield* Stream.run(input.bytes, Sink.mapError(fs.sink(file), fail))
    const size = yield* Effect.mapError(fs.stat(file), fail)
    return { ...input, size: Option.some(Number(size.size)), bytes: fs.stream(file).pipe(Stream.mapError(unreadable(input.name))) }
  })

/** The default of `--max-line-bytes` (`maxLineBytes`): the same bound the writer's dead-letter replay uses. */
export const defaultMaxLineBytes = Lines.defaultMaxLineBytes

/** A line of the input (numbered from 1), or the length of one longer than the limit, which was never held whole. */
export type Line = Lines.Line

const isGzip = (head: Uint8Array) => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b

/**
 * The lines of an input, streamed: gunzipped when it starts with gzip's magic bytes (a file of any
 * name, or standard input), decoded as UTF-8 with a leading byte order mark dropped, split on LF or
 * CRLF, no line held beyond `maxLineBytes`. `onBytes(n)` is told how many bytes of the input as
 * stored (compressed, for gzip) have been consumed so far: the measure of progress.
 */
export const lines = (input: Input, onBytes: (consumed: number) => void, maxLineBytes = defaultMaxLineBytes): Stream.Stream<Line, CommandFailed> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    // The first bytes decide: gather chunks until there are two.
    const [head, rest] = yield* Stream.peel(
      input.bytes,
      Sink.fold<Array<Uint8Array>, Uint8Array>([], (got) => got.reduce((n, c) => n + c.length, 0) < 2, (got, chunk) => [...got, chunk])
    )
    const bytes = Stream.concat(Stream.fromIterable(head), rest)
    if (!isGzip(Buffer.concat(head))) {
      let read = 0
      return bytes.pipe(Stream.tap((chunk) => Effect.sync(() => onBytes(read += chunk.length))), (lines) => Lines.split(lines, maxLineBytes))
    }
    // zlib's own count of compressed bytes it has processed: what it read ahead is not progress.
    const gunzip = createGunzip()
    return bytes.pipe(
      NodeStream.pipeThroughDuplex(
        () => gunzip,
        (cause) => new CommandFailed({ message: `cannot read ${input.name}: not valid gzip (${cause instanceof Error ? cause.message : String(cause)})` })
      ),
      Stream.tap(() => Effect.sync(() => onBytes(gunzip.bytesWritten))),
      (lines) => Lines.split(lines, maxLineBytes)
    )
  }))

/** What an ingest has done so far; read by the progress reporter and the summary while it runs. */
export interface Counters {
  bytes: number
  lines: number
  spans: number
  traces: number
  bad: number
  /** Lines refused because they name a tenant the metadata store does not know (`--known-tenants-only`). */
  refused: number
  /** Spans per tenant id the metadata store does not know (stored, or refused with `--known-tenants-only`). */
  readonly unknownTenants: Map<string, number>
}

export const counters = (): Counters => ({ bytes: 0, lines: 0, spans: 0, traces: 0, bad: 0, refused: 0, unknownTenants: new Map() })

export interface Sinks<E, R> {
  /** Spans of consecutive lines, in line order (a batch the writer takes whole). */
  readonly spans: (spans: ReadonlyArray<TraceSpan>) => Effect.Effect<void, E, R>
  /** A trace's own record (its createdAt, or a trace with no spans); its spans go to `spans` after it. */
  readonly trace: (trace: TraceEvent) => Effect.Effect<void, E, R>
  readonly badLine: (line: number, reason: string) => Effect.Effect<void>
  /** Whether the metadata store knows the tenant; asked once per tenant id. */
  readonly tenantKnown: (tenantId: string) => Effect.Effect<boolean, E, R>
}

/** What a chunk of lines asks of the sinks, in line order. */
type Step =
  | { readonly _tag: "bad"; readonly line: number; readonly reason: string }
  | { readonly _tag: "spans"; readonly spans: Array<TraceSpan> }
  | { readonly _tag: "trace"; readonly trace: TraceEvent }

/** A line read and decoded: nothing to do (blank), or why it is bad, or what it holds. */
type Decoded = { readonly number: number; readonly result: Either.Either<Parsed, string> | undefined }

const spansOf = (parsed: Parsed): ReadonlyArray<TraceSpan> =>
  parsed._tag === "span" ? [parsed.span] : parsed._tag === "spans" ? parsed.spans : parsed.trace.spans

/** The tenant ids a line names, with how many spans each (a trace's own tenant counts even with no spans). */
const tenantsOf = (parsed: Parsed): Map<string, number> => {
  const tenants = new Map<string, number>(parsed._tag === "trace" ? [[parsed.trace.tenantId, 0]] : [])
  for (const s of spansOf(parsed)) tenants.set(s.tenantId, (tenants.get(s.tenantId) ?? 0) + 1)
  return tenants
}

/**
 * Stores every line of `input` (memory stays flat whatever its size: the sinks' back-pressure paces
 * the reading); a bad line is reported with its number and skipped. A chunk of lines is decoded at
 * once and its spans handed over together. `counters` is updated as it goes, so an interrupted
 * ingest can say how far it got (`spans` counts whole batches taken: the caller that owns the writer
 * knows exactly how many of an interrupted batch it took).
 */
export const ingest = <E0, E, R>(
  input: Stream.Stream<Line, E0>,
  sinks: Sinks<E, R>,
  options: { readonly knownTenantsOnly: boolean; readonly maxLineBytes: number; readonly parse?: (line: string) => Either.Either<Parsed, string> },
  c: Counters
): Effect.Effect<void, E0 | E, R> =>
  Effect.suspend(() => {
    const parse = options.parse ?? parseLine
    const known = new Map<string, boolean>()

    const decode = (read: Line): Decoded => {
      if (read._tag === "TooLong") {
        return { number: read.number, result: Either.left(`longer than the limit of ${options.maxLineBytes} bytes (${read.bytes} bytes; --max-line-bytes)`) }
      }
      return { number: read.number, result: read.text.trim() === "" ? undefined : parse(read.text) }
    }

    /** Tenant ids of these lines not asked about yet. */
    const unasked = (lines: ReadonlyArray<Decoded>): Set<string> => {
      const ids = new Set<string>()
      for (const { result } of lines) {
        if (result === undefined || Either.isLeft(result)) continue
        if (result.right._tag === "span") {
          if (!known.has(result.right.span.tenantId)) ids.add(result.right.span.tenantId)
        } else for (const id of tenantsOf(result.right).keys()) if (!known.has(id)) ids.add(id)
      }
      return ids
    }

    /** The steps of these lines, every tenant they name being known by now; counts bad and refused lines. */
    const plan = (lines: ReadonlyArray<Decoded>): Array<Step> => {
      const steps: Array<Step> = []
      let batch: Array<TraceSpan> | undefined
      const add = (spans: ReadonlyArray<TraceSpan>) => {
        if (spans.length === 0) return
        if (batch === undefined) steps.push({ _tag: "spans", spans: batch = [] })
        for (const s of spans) batch.push(s)
      }
      const fail = (line: number, reason: string) => {
        c.bad++
        steps.push({ _tag: "bad", line, reason })
      }
      for (const { number, result } of lines) {
        if (result === undefined) continue
        if (Either.isLeft(result)) {
          fail(number, result.left)
          continue
        }
        const parsed = result.right
        if (parsed._tag === "spans" && parsed.refused.length > 0) fail(number, `${parsed.refused.length} of its spans refused: ${parsed.refused.join("; ")}`)
        let unknown = false
        for (const [id, n] of parsed._tag === "span" ? [[parsed.span.tenantId, 1] as const] : tenantsOf(parsed)) {
          if (known.get(id) === true) continue
          unknown = true
          c.unknownTenants.set(id, (c.unknownTenants.get(id) ?? 0) + n)
        }
        if (unknown && options.knownTenantsOnly) {
          c.refused++
          continue
        }
        if (parsed._tag === "trace") {
          steps.push({ _tag: "trace", trace: parsed.trace })
          batch = undefined
        }
        add(spansOf(parsed))
      }
      return steps
    }

    const run = (step: Step): Effect.Effect<void, E, R> => {
      switch (step._tag) {
        case "bad":
          return sinks.badLine(step.line, step.reason)
        case "trace":
          return Effect.zipRight(sinks.trace(step.trace), Effect.sync(() => c.traces++))
        case "spans":
          // Every span of a line was checked where it was decoded (the guard or the schema): not again in the writer.
          return Effect.zipRight(sinks.spans(CheckedSpans.sealed(step.spans)), Effect.sync(() => (c.spans += step.spans.length)))
      }
    }

    return Stream.runForEachChunk(input, (chunk) =>
      Effect.suspend(() => {
        const lines: Array<Decoded> = []
        for (const read of chunk) lines.push(decode(read))
        c.lines = lines.length > 0 ? lines[lines.length - 1]!.number : c.lines
        const ask = unasked(lines)
        const asked = ask.size === 0
          ? Effect.void
          : Effect.forEach(ask, (id) => Effect.map(sinks.tenantKnown(id), (k) => void known.set(id, k)), { discard: true })
        return Effect.zipRight(asked, Effect.suspend(() => Effect.forEach(plan(lines), run, { discard: true })))
      }))
  })
