import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createGunzip } from "node:zlib"
import { TraceEvent, TraceSpan } from "../domain/Trace.js"
import { CommandFailed } from "./Commands.js"

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

/** Where the lines come from: a file (gzip-compressed when its name ends in `.gz`) or standard input (`-`). */
export interface Input {
  /** For messages: the path, or `standard input`. */
  readonly name: string
  /** Bytes of the input as stored (compressed for `.gz`): what progress is measured against; unknown for standard input. */
  readonly size: Option.Option<number>
  /** The input's bytes as read, before decompression. */
  readonly bytes: Stream.Stream<Uint8Array, CommandFailed>
  readonly gzip: boolean
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
    ? Effect.succeed({ name: "standard input", size: Option.none(), bytes: NodeStream.stdin, gzip: false })
    : Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const info = yield* Effect.mapError(fs.stat(input), unreadable(input))
      if (info.type === "Directory") return yield* new CommandFailed({ message: `cannot read ${input}: it is a directory` })
      // Checked now, so an unreadable file fails before anything starts rather than mid-stream.
      yield* Effect.mapError(fs.access(input, { readable: true }), unreadable(input))
      return {
        name: input,
        size: Option.some(Number(info.size)),
        bytes: fs.stream(input).pipe(Stream.mapError(unreadable(input))),
        gzip: input.endsWith(".gz")
      }
    })

/**
 * The lines of an input, streamed: decompressed when gzip, decoded as UTF-8 with a leading byte
 * order mark dropped (TextDecoder's default), split on LF or CRLF. `onBytes` sees each chunk as read.
 */
export const lines = (input: Input, onBytes: (n: number) => void): Stream.Stream<string, CommandFailed> =>
  input.bytes.pipe(
    Stream.tap((chunk) => Effect.sync(() => onBytes(chunk.length))),
    input.gzip
      ? NodeStream.pipeThroughDuplex(
        () => createGunzip(),
        (cause) => new CommandFailed({ message: `cannot read ${input.name}: not valid gzip (${cause instanceof Error ? cause.message : String(cause)})` })
      )
      : identity,
    Stream.decodeText(),
    Stream.splitLines
  )

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
  readonly span: (span: TraceSpan) => Effect.Effect<void, E, R>
  /** A trace's own record (its createdAt, or a trace with no spans); its spans go to `span`. */
  readonly trace: (trace: TraceEvent) => Effect.Effect<void, E, R>
  readonly badLine: (line: number, reason: string) => Effect.Effect<void>
  /** Whether the metadata store knows the tenant; asked once per tenant id. */
  readonly tenantKnown: (tenantId: string) => Effect.Effect<boolean, E, R>
}

/**
 * Stores every line of `input` (memory stays flat whatever its size: the sinks' back-pressure paces
 * the reading); a bad line is reported with its number and skipped. `counters` is updated as it goes,
 * so an interrupted ingest can say how far it got.
 */
export const ingest = <E0, E, R>(
  input: Stream.Stream<string, E0>,
  sinks: Sinks<E, R>,
  options: { readonly knownTenantsOnly: boolean },
  c: Counters
): Effect.Effect<void, E0 | E, R> =>
  Effect.gen(function*() {
    const known = new Map<string, boolean>()
    const isKnown = (id: string) =>
      known.has(id) ? Effect.succeed(known.get(id)!) : Effect.tap(sinks.tenantKnown(id), (k) => Effect.sync(() => known.set(id, k)))
    yield* Stream.runForEach(input, (line) =>
      Effect.gen(function*() {
        c.lines++
        if (line.trim() === "") return
        const parsed = parseLine(line)
        if (Either.isLeft(parsed)) {
          c.bad++
          return yield* sinks.badLine(c.lines, parsed.left)
        }
        const spans = parsed.right._tag === "span" ? [parsed.right.span] : parsed.right.trace.spans
        const tenants = new Map<string, number>(parsed.right._tag === "trace" ? [[parsed.right.trace.tenantId, 0]] : [])
        for (const s of spans) tenants.set(s.tenantId, (tenants.get(s.tenantId) ?? 0) + 1)
        let unknown = false
        for (const [id, n] of tenants) {
          if (yield* isKnown(id)) continue
          unknown = true
          c.unknownTenants.set(id, (c.unknownTenants.get(id) ?? 0) + n)
        }
        if (unknown && options.knownTenantsOnly) {
          c.refused++
          return
        }
        if (parsed.right._tag === "trace") {
          yield* sinks.trace(parsed.right.trace)
          c.traces++
        }
        for (const span of spans) {
          yield* sinks.span(span)
          c.spans++
        }
      }))
  })
