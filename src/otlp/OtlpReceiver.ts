import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import { gunzip } from "node:zlib"
import type * as Otlp from "../domain/OtlpModel.js"
import type { TraceSpan } from "../domain/Trace.js"
import type { TenantId } from "../domain/Ids.js"
import * as TraceWriter from "../ingest/TraceWriter.js"
import * as MetadataRepository from "../MetadataRepository.js"
import { OtlpDecodeError } from "./OtlpDecodeError.js"
import * as OtlpJson from "./OtlpJson.js"
import * as OtlpProtobuf from "./OtlpProtobuf.js"
import { toTraceSpans } from "./OtlpSpans.js"

/**
 * The OTLP/HTTP trace receiver (`POST /v1/traces`, JSON or protobuf, optionally gzip) as an @effect/platform router:
 * mount {@link router} in your own server, or run {@link layer} (what `llmtrace-storage serve` does). The tenant is the
 * one whose API token the request carries (`Authorization: Bearer …`, through the cached token lookup); nothing in
 * a span can name another. Spans go through the TraceWriter; a span the TraceSpan check refuses is reported as OTLP
 * partial success, and a request whose every span is refused is a 400.
 *
 * Memory is bounded by `maxConcurrentRequests × maxBodyBytes` (a request beyond either bound is refused, not queued)
 * plus the writer's own capacity. Admission is decided before any span of a request is written: when the writer
 * already holds `maxBufferedSpans` unsettled spans the answer is 429 with `Retry-After` (the OTLP spec's retryable
 * answer), so a 429 never follows a partial write; 503 when the writer is closing or storage is unavailable.
 */
export interface Options {
  /** Largest body, compressed and after gunzip (default 16 MiB). */
  readonly maxBodyBytes?: number
  /** Requests decoded or written at once; more are answered 429 (default 16). */
  readonly maxConcurrentRequests?: number
  /** Unsettled spans in the writer above which a request is answered 429 (default 10,000; keep it below the writer's capacity). */
  readonly maxBufferedSpans?: number
  /**
   * How long an admitted request may wait for room in the writer (default 30 seconds); past it the answer is 503 and
   * the spans already handed over stay accepted (a retry stores them again, which is idempotent).
   */
  readonly acceptTimeout?: Duration.DurationInput
  /** The `Retry-After` of a 429 or 503, in seconds (default 1). */
  readonly retryAfterSeconds?: number
}

export const defaults = { maxBodyBytes: 16 * 1024 * 1024, maxConcurrentRequests: 16, maxBufferedSpans: 10_000, acceptTimeout: "30 seconds", retryAfterSeconds: 1 } as const

type Format = "json" | "protobuf"

/** An answer other than success: its status, its message, and whether it carries Retry-After. */
class Refusal {
  constructor(readonly status: number, readonly message: string, readonly retry = false) {}
}

// ---- protobuf answers (ExportTraceServiceResponse, google.rpc.Status) ----------------------------------------------

const varint = (n: number | bigint): Array<number> => {
  let v = BigInt(n)
  const out: Array<number> = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}
const lengthDelimited = (field: number, bytes: Uint8Array | Array<number>): Array<number> => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes]
const utf8 = (s: string) => new TextEncoder().encode(s)

/** ExportTraceServiceResponse: an empty message, or partial_success { rejected_spans, error_message }. */
const protobufSuccess = (rejected: number, message: string): Uint8Array =>
  rejected === 0
    ? new Uint8Array(0)
    : new Uint8Array(lengthDelimited(1, [...varint((1 << 3) | 0), ...varint(rejected), ...lengthDelimited(2, utf8(message))]))

/** google.rpc.Status { code, message }: the body of an OTLP/HTTP error in protobuf. */
const protobufStatus = (grpcCode: number, message: string): Uint8Array =>
  new Uint8Array([...varint((1 << 3) | 0), ...varint(grpcCode), ...lengthDelimited(2, utf8(message))])

const grpcCodeOf = (status: number): number =>
  status === 400 || status === 413 || status === 415 ? 3 : status === 401 ? 16 : status === 429 ? 8 : status === 404 ? 5 : 14

const answer = (format: Format, refusal: Refusal, retryAfterSeconds: number) => {
  const headers = refusal.retry ? { "retry-after": String(retryAfterSeconds) } : {}
  return format === "protobuf"
    ? HttpServerResponse.uint8Array(protobufStatus(grpcCodeOf(refusal.status), refusal.message), { status: refusal.status, contentType: "application/x-protobuf", headers })
    : HttpServerResponse.unsafeJson({ code: grpcCodeOf(refusal.status), message: refusal.message }, { status: refusal.status, headers })
}

const success = (format: Format, rejected: number, message: string) =>
  format === "protobuf"
    ? HttpServerResponse.uint8Array(protobufSuccess(rejected, message), { contentType: "application/x-protobuf" })
    : HttpServerResponse.unsafeJson(rejected === 0 ? {} : { partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } })

// ---- request handling ---------------------------------------------------------------------------------------------

const gunzipBounded = (body: Uint8Array, maxBytes: number) =>
  Effect.async<Uint8Array, Refusal>((resume) => {
    gunzip(body, { maxOutputLength: maxBytes }, (error, out) =>
      resume(error === null ? Effect.succeed(out) : Effect.fail(
        (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
          ? new Refusal(413, `body larger than ${maxBytes} bytes after gunzip`)
          : new Refusal(400, `gzip: ${error.message}`)
      ))
    )
  })

const formatOf = (contentType: string): Format | undefined => {
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  return type === "application/json" ? "json" : type === "application/x-protobuf" || type === "application/protobuf" ? "protobuf" : undefined
}

const decode = (format: Format, body: Uint8Array): Effect.Effect<Otlp.ExportRequest, Refusal> =>
  Effect.try({
    try: () => (format === "json" ? OtlpJson.decodeUnsafe(new TextDecoder("utf-8", { fatal: true }).decode(body)) : OtlpProtobuf.decodeUnsafe(body)),
    catch: (e) => new Refusal(400, e instanceof OtlpDecodeError ? e.message : e instanceof TypeError ? "json: body is not UTF-8" : `malformed body: ${String(e)}`)
  })

const bearer = /^Bearer[ ]+(\S+)[ ]*$/i

/**
 * The `POST /v1/traces` handler and `GET /health`, needing the TraceWriter and the MetadataRepository (use the
 * cached one, as every profile provides, so a flood of requests does not reach the database per request).
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const maxBodyBytes = options.maxBodyBytes ?? defaults.maxBodyBytes
    const acceptTimeout = Duration.decode(options.acceptTimeout ?? defaults.acceptTimeout)
    const retryAfter = options.retryAfterSeconds ?? defaults.retryAfterSeconds
    const writer = yield* TraceWriter.TraceWriter
    const metadata = yield* MetadataRepository.MetadataRepository
    const requestPermits = yield* Effect.makeSemaphore(options.maxConcurrentRequests ?? defaults.maxConcurrentRequests)

    const tenantOf = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<TenantId, Refusal> => {
      const match = bearer.exec(request.headers["authorization"] ?? "")
      if (match === null) return Effect.fail(new Refusal(401, "missing Authorization: Bearer <api token>"))
      return metadata.getTenantByToken(match[1]!).pipe(
        Effect.mapError((e) => new Refusal(503, `tenant lookup failed: ${e.message}`, true)),
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new Refusal(401, "unknown api token")), onSome: (t) => Effect.succeed(t.id) }))
      )
    }

    // The chunks are gathered and joined once: `request.arrayBuffer` (@effect/platform-node) copies the whole body
    // again for each chunk, which for a 1 MB export was a tenth of the receiver's time.
    const readBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Uint8Array, Refusal> => {
      const declared = Number(request.headers["content-length"] ?? "0")
      if (declared > maxBodyBytes) return Effect.fail(new Refusal(413, `body larger than ${maxBodyBytes} bytes`))
      return Effect.suspend(() => {
        const chunks: Array<Uint8Array> = []
        let size = 0
        return request.stream.pipe(
          Stream.mapError((e) => new Refusal(400, `body not read: ${e.description ?? e.reason}`)),
          Stream.runForEachChunk((chunk) => {
            for (const bytes of chunk) {
              size += bytes.length
              if (size > maxBodyBytes) return Effect.fail(new Refusal(413, `body larger than ${maxBodyBytes} bytes`))
              chunks.push(bytes)
            }
            return Effect.void
          }),
          Effect.map(() => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
        )
      })
    }

    const maxBuffered = options.maxBufferedSpans ?? defaults.maxBufferedSpans
    const write = (spans: ReadonlyArray<TraceSpan>): Effect.Effect<void, Refusal> =>
      Effect.flatMap(writer.stats, (stats): Effect.Effect<void, Refusal> =>
        stats.buffered + spans.length > Math.max(maxBuffered, spans.length)
          ? Effect.fail(new Refusal(429, "the store is behind: retry later", true))
          : writer.writeAll(spans).pipe(
            Effect.timeoutFail({ duration: acceptTimeout, onTimeout: () => new Refusal(503, "the writer had no room in time: retry later", true) }),
            Effect.catchTags({
              WriterClosed: () => Effect.fail(new Refusal(503, "shutting down", true)),
              InvalidInput: (e) => Effect.fail(new Refusal(400, e.message))
            })
          ))

    const exportTraces = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const format = formatOf(request.headers["content-type"] ?? "")
      const handle = Effect.gen(function*() {
        if (format === undefined) return yield* Effect.fail(new Refusal(415, "Content-Type must be application/json or application/x-protobuf"))
        const tenantId = yield* tenantOf(request)
        const raw = yield* readBody(request)
        const encoding = (request.headers["content-encoding"] ?? "identity").toLowerCase()
        const body = encoding === "gzip" ? yield* gunzipBounded(raw, maxBodyBytes) : encoding === "identity" ? raw : yield* Effect.fail(new Refusal(415, `Content-Encoding ${encoding} is not supported (gzip is)`))
        const decoded = yield* decode(format, body)
        const { refused, spans } = toTraceSpans(tenantId, decoded)
        if (spans.length === 0 && refused.length > 0) return yield* Effect.fail(new Refusal(400, `every span was refused: ${refused.slice(0, 3).join("; ")}`))
        if (spans.length > 0) yield* write(spans)
        return success(format, refused.length, refused.slice(0, 3).join("; "))
      })
      // A request beyond the concurrency bound is answered at once: queueing it would hold its body in memory.
      const run = requestPermits.withPermitsIfAvailable(1)(handle).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new Refusal(429, "too many concurrent requests: retry later", true)), onSome: Effect.succeed }))
      )
      return yield* run.pipe(Effect.catchAll((refusal) => Effect.succeed(answer(format ?? "json", refusal, retryAfter))))
    })

    return HttpRouter.empty.pipe(
      HttpRouter.post("/v1/traces", exportTraces),
      HttpRouter.get("/health", HttpServerResponse.text("ok"))
    )
  })

/** The receiver as an HTTP server on `host:port` (default 127.0.0.1:4318, OTLP/HTTP's port); it stops with its scope. */
export const layer = (options: Options & { readonly host?: string; readonly port?: number } = {}) =>
  Layer.unwrapEffect(Effect.map(make(options), (router) => HttpServer.serve(router))).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { host: options.host ?? "127.0.0.1", port: options.port ?? 4318 }))
  )
